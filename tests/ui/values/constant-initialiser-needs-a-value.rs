nn::network! { struct Net { dense(2 -> 3, relu, init = constant) } }

fn main() {}
