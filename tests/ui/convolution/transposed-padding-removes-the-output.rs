nn::network! { struct Net { input(1, 1, 1), conv_transpose2d(1 -> 1, kernel = 1, padding = 1) } }

fn main() {}
