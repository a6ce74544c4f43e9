nn::network! { struct Net { dense(2 -> 3), out: } }

fn main() {}
