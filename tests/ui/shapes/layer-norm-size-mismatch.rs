nn::network! { struct Net { input(4), dense(6), layer_norm(4, gelu), dense(2) } }

fn main() {}
