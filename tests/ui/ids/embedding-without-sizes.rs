nn::network! { struct Net { embedding(10), dense(2) } }

fn main() {}
