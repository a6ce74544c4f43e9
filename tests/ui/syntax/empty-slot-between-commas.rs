nn::network! { struct Net { dense(2 -> 3, relu),, dense(3 -> 1) } }

fn main() {}
