nn::network! { struct Net<T> { dense(2 -> 1) } }

fn main() {}
