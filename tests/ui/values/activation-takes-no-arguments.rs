nn::network! { struct Net { dense(2 -> 3), relu(0.5) } }

fn main() {}
