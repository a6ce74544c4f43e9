nn::network! { struct Net { input(5), embedding(12 -> 3), flatten(1), dense(2) } }

fn main() {}
