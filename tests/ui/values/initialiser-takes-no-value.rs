nn::network! { struct Net { dense(2 -> 3, relu, init = zeros(1)) } }

fn main() {}
