// The attention says 8 features, but the sequence has 6.
nn::network! { struct Net { input(4, 6), self_attention(8, heads = 2) } }

fn main() {}
