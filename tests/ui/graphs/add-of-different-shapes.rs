nn::network! { struct Net { input(4), a: dense(6), b: dense(5) <- input, add(a, b) } }

fn main() {}
