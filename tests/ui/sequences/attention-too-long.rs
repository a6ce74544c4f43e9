// Each size fits; the attention weights of one sample, steps × steps, do not.
nn::network! { struct Net { input(100000, 4), self_attention(heads = 1), mean_over_steps, dense(1) } }

fn main() {}
