nn::network! { struct Net { input(1, 8, 8), conv2d(kernel = 3) } }

fn main() {}
