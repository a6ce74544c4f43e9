nn::network! { struct Net { dense(4 -> 3), e: embedding(10 -> 3) <- input, dense(2) } }

fn main() {}
