nn::network! { struct Net { dense(4 -> 3, relu, norm = spectrl), dense(2) } }

fn main() {}
