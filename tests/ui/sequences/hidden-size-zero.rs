// A recurrent layer needs at least one unit.
nn::network! { struct Net { input(5, 3), lstm(3 -> 0) } }

fn main() {}
