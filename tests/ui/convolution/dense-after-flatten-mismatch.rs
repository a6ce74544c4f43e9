nn::network! {
    struct Net { input(1, 28, 28), conv2d(1 -> 8, kernel = 3, relu), max_pool2d(2), flatten, dense(1350 -> 10) }
}

fn main() {}
