nn::network! { struct Net { input(1, 1000, 1000), conv2d(1 -> 100000, kernel = 3) } }

fn main() {}
