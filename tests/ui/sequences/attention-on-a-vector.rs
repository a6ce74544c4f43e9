// Attention reads a sequence [T, E].
nn::network! { struct Net { input(6), self_attention(heads = 2) } }

fn main() {}
