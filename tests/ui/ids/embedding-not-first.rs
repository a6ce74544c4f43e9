nn::network! { struct Net { input(4), dense(3), embedding(10 -> 3), dense(2) } }

fn main() {}
