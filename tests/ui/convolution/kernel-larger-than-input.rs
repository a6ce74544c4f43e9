nn::network! { struct Net { input(1, 4, 4), conv2d(1 -> 2, kernel = 5), flatten, dense(2) } }

fn main() {}
