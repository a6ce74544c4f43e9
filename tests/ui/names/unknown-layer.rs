nn::network! { struct Net { dens(2 -> 3, relu) } }

fn main() {}
