nn::network! { struct Net { input(4), residual(dense(4)) } }

fn main() {}
