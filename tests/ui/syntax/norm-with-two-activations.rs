nn::network! { struct Net { input(4), dense(6), layer_norm(6, relu, tanh), dense(2) } }

fn main() {}
