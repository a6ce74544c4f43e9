// The GRU says 4 features per step, but the sequence has 3.
nn::network! { struct Net { input(5, 3), gru(4 -> 8), dense(1) } }

fn main() {}
