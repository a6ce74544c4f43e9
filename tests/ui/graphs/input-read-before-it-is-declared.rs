nn::network! { struct Net { a: dense(3) <- input, dense(2) } }

fn main() {}
