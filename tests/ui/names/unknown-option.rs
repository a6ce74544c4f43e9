nn::network! { struct Net { dense(2 -> 3, relu, int = he_uniform) } }

fn main() {}
