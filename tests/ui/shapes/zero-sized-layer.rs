nn::network! { struct Net { dense(2 -> 0, relu) } }

fn main() {}
