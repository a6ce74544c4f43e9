nn::network! { struct Net { input(1, 8, 8), conv2d(1 -> 0, kernel = 3) } }

fn main() {}
