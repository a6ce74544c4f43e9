nn::network! { struct Net { dense(2 -> 3, relu), dropout(-0.1), dense(1) } }

fn main() {}
