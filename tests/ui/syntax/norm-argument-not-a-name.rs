nn::network! { struct Net { input(4), dense(6), batch_norm(6, 0.5), dense(2) } }

fn main() {}
