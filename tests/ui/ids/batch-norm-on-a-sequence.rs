nn::network! { struct Net { input(5), embedding(12 -> 3), batch_norm, flatten, dense(2) } }

fn main() {}
