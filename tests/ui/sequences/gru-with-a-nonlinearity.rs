// Only rnn takes tanh or relu: a GRU's gates have their own.
nn::network! { struct Net { input(5, 3), gru(3 -> 4, relu) } }

fn main() {}
