nn::network! { struct Net { input(1, 8, 8), conv1d(1 -> 2, kernel = 3) } }

fn main() {}
