// A misspelt option is named, with the nearest one.
nn::network! { struct Net { input(5, 3), gru(3 -> 4, bidirectonal) } }

fn main() {}
