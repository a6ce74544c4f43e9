nn::network! { struct Net { dense(2 -> 3, 7) } }

fn main() {}
