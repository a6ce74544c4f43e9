// A learned table of 5 positions on a sequence of 4 steps.
nn::network! { struct Net { input(4, 6), positional(5) } }

fn main() {}
