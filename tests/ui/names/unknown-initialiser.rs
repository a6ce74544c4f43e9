nn::network! { struct Net { dense(2 -> 3, relu, init = xavier) } }

fn main() {}
