// A recurrent layer reads a sequence [T, F]; a vector has no steps.
nn::network! { struct Net { input(4), gru(8) } }

fn main() {}
