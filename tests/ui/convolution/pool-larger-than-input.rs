nn::network! { struct Net { input(2, 3, 3), max_pool2d(4) } }

fn main() {}
