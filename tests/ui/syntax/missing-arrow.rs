nn::network! { struct Net { dense(2 3, relu) } }

fn main() {}
