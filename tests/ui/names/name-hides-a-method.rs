nn::network! { struct Net { forward: dense(2 -> 1) } }

fn main() {}
