nn::network! { struct Net { input(3, 8, 8), conv2d(1 -> 4, kernel = 3) } }

fn main() {}
