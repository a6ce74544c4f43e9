nn::network! { struct Net { input(4.5), dense(3) } }

fn main() {}
