nn::network! { struct Net { dense(2 -> ), dense(3 -> 1) dropout(0.5) } }

fn main() {}
