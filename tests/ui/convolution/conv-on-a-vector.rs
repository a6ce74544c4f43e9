nn::network! { struct Net { input(10), conv2d(4, kernel = 3) } }

fn main() {}
