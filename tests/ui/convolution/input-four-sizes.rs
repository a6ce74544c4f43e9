nn::network! { struct Net { input(1, 2, 3, 4), flatten } }

fn main() {}
