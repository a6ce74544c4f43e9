nn::network! { struct Net { dense(2 -> 3, relu), layer0: dense(3 -> 1) } }

fn main() {}
