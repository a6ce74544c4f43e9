nn::network! { struct Net { input(3), words: embedding(50 -> 8), flatten, dense(4), skip: dense(4) <- input } }

fn main() {}
