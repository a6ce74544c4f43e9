// The sinusoids follow from the sequence's shape: no arguments.
nn::network! { struct Net { input(4, 6), sinusoidal(4) } }

fn main() {}
