nn::network! { struct Net { input(4), dense(4), residual, dense(2) } }

fn main() {}
