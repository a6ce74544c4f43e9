nn::network! { struct Net { dense(4 -> 3, relu, norm = spectral(0)), dense(2) } }

fn main() {}
