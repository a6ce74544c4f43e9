nn::network! { struct Net { dense(2 -> 3, sigmod) } }

fn main() {}
