nn::network! { struct Net { embedding, dense(2) } }

fn main() {}
