nn::network! { struct Net { input(1, 10), conv1d(1 -> 2, kernel = (3, 3)) } }

fn main() {}
