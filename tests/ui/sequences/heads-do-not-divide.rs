// 4 heads cannot split 6 features; the message lists the divisors.
nn::network! { struct Net { input(4, 6), self_attention(heads = 4) } }

fn main() {}
