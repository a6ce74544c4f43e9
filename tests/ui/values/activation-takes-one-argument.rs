nn::network! { struct Net { dense(2 -> 3, elu(1.0, 2.0)), dense(1) } }

fn main() {}
