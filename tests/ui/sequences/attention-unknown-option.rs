// A misspelt option is named, with the nearest one.
nn::network! { struct Net { input(4, 6), self_attention(heads = 2, casual) } }

fn main() {}
