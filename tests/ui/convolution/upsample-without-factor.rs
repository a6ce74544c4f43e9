nn::network! { struct Net { input(1, 4, 4), upsample } }

fn main() {}
