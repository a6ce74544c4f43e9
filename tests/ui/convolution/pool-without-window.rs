nn::network! { struct Net { input(2, 8, 8), max_pool2d } }

fn main() {}
