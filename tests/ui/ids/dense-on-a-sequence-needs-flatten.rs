// Five ids give a sequence [5, 3]; `dense` reads a vector, so `flatten` must come first.
nn::network! { struct Net { input(5), embedding(12 -> 3), dense(2) } }

fn main() {}
