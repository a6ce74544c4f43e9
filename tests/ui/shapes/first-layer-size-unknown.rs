nn::network! { struct Net { dense(3, relu), dense(1) } }

fn main() {}
