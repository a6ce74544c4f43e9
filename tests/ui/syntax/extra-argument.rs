nn::network! { struct Net { dense(2 -> 3), dropout(0.5, 0.2) } }

fn main() {}
