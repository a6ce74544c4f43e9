nn::network! { struct Net { dense(2 -> 99999999999999999999999) } }

fn main() {}
