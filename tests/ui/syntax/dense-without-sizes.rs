nn::network! { struct Net { dense, dense(3 -> 1) } }

fn main() {}
