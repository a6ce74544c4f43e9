nn::network! { struct Net { input(4), hidden: dense(3), out: dense(2) <- hiden } }

fn main() {}
