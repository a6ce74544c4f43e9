nn::network! { struct Net { input(3, 8, 8), conv2d(3 -> 4, kernel = 3, groups = 2) } }

fn main() {}
