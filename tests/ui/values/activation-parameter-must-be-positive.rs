nn::network! { struct Net { dense(2 -> 3, softplus(0)), dense(1) } }

fn main() {}
