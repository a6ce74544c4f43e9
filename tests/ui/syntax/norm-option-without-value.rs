nn::network! { struct Net { input(4), dense(6), layer_norm(eps = ), dense(2) } }

fn main() {}
