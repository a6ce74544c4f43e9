nn::network! { struct Net { input(100000000000, 100000000000, 1000), flatten } }

fn main() {}
