nn::network! { struct Net { input(4), dense(6, relu), residual { dense(6, tanh), dense(4) }, dense(2) } }

fn main() {}
