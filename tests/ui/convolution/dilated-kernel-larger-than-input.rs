nn::network! { struct Net { input(1, 12), conv1d(1 -> 2, kernel = 3, dilation = 6) } }

fn main() {}
