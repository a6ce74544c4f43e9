// mean_over_steps reduces a sequence [T, F], not an image.
nn::network! { struct Net { input(1, 4, 4), mean_over_steps } }

fn main() {}
