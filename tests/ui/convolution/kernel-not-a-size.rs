nn::network! { struct Net { input(1, 8, 8), conv2d(1 -> 2, kernel = big) } }

fn main() {}
