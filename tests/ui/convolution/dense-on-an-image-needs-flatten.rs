// An image [2, 4, 4] is no vector or sequence: `dense` needs `flatten` before it.
nn::network! { struct Net { input(2, 4, 4), conv2d(2 -> 3, kernel = 3), dense(5) } }

fn main() {}
