nn::network! { struct Net { input(4), a: dense(3), add(a) } }

fn main() {}
