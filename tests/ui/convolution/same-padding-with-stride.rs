nn::network! { struct Net { input(1, 8, 8), conv2d(1 -> 4, kernel = 3, stride = 2, padding = same) } }

fn main() {}
