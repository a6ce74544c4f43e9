nn::network! { struct Net { dense(2 -> 3), input(3), dense(1) } }

fn main() {}
