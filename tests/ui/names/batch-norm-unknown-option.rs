nn::network! { struct Net { input(4), dense(6), batch_norm(momentun = 0.01), dense(2) } }

fn main() {}
