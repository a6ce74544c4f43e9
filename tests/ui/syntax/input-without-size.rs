nn::network! { struct Net { input, dense(3) } }

fn main() {}
