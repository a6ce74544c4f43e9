nn::network! { struct Net { relu, dense(2 -> 1) } }

fn main() {}
