nn::network! { struct Net { dense(2 -> 3), dropout } }

fn main() {}
