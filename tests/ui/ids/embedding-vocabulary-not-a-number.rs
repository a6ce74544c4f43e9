nn::network! { struct Net { embedding(vocabulary -> 3), dense(2) } }

fn main() {}
