nn::network! { struct Net { input(4), dense(3) { relu } } }

fn main() {}
