nn::network! { struct Net { dense(100000 -> 100000), dense(100000 -> 100000) } }

fn main() {}
