nn::network! { struct Net { input(4), dense(6), batch_norm(eps = 1e-3, eps = 1e-4), dense(2) } }

fn main() {}
