nn::network! { struct Net { input(1, 4, 4), upsample(2, mode = 1) } }

fn main() {}
