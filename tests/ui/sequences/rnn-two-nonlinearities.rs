// An RNN takes one nonlinearity.
nn::network! { struct Net { input(5, 3), rnn(3 -> 4, tanh, relu) } }

fn main() {}
