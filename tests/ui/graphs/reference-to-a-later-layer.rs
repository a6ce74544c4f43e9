nn::network! { struct Net { input(4), a: dense(3) <- b, b: dense(3) <- input, add(a, b) } }

fn main() {}
