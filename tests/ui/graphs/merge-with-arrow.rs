nn::network! { struct Net { input(4), a: dense(3), b: dense(3), add(a, b) <- input } }

fn main() {}
