nn::network! { struct Net { dense(2 -> 3, relu), dropout(1.0), dense(1) } }

fn main() {}
