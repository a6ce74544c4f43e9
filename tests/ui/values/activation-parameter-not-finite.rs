nn::network! { struct Net { dense(2 -> 3), leaky_relu(1e400), dense(1) } }

fn main() {}
