// Keras's convention (0.99 keeps 99% of the old statistic) is PyTorch's 0.01.
nn::network! { struct Net { input(4), dense(6), batch_norm(6, relu, momentum = 1.5), dense(2) } }

fn main() {}
