// Attention needs its number of heads.
nn::network! { struct Net { input(4, 6), self_attention } }

fn main() {}
