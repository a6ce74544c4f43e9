nn::network! { struct Net { input(4), dense(6), layer_norm(epsilon = 1e-6), dense(2) } }

fn main() {}
