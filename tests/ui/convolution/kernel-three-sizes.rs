nn::network! { struct Net { input(1, 10, 10), conv2d(1 -> 2, kernel = (3, 3, 3)) } }

fn main() {}
