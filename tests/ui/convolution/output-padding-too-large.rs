nn::network! { struct Net { input(1, 4, 4), conv_transpose2d(1 -> 1, kernel = 3, stride = 2, output_padding = 2) } }

fn main() {}
