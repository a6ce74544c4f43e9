nn::network! { struct Net { dense(2 -> 1) } extra }

fn main() {}
