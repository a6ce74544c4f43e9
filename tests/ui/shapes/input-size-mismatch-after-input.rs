nn::network! { struct Net { input(4), dense(3 -> 2, tanh) } }

fn main() {}
