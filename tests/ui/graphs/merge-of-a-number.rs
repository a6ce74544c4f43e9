nn::network! { struct Net { input(4), a: dense(3), concat(a, 3) } }

fn main() {}
