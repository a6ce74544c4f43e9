nn::network! { struct Net { input(2, 8, 8), avg_pool2d(2, padding = 2) } }

fn main() {}
