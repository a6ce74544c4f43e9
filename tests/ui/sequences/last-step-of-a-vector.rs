// last_step reduces a sequence; a vector has no steps.
nn::network! { struct Net { input(4), dense(3), last_step } }

fn main() {}
