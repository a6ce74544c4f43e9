nn::network! { struct Net { input(2, 8, 8), max_pool2d(2, kernel = 2) } }

fn main() {}
