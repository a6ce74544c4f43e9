nn::network! { struct Net { dense(2 -> 3), 5 } }

fn main() {}
