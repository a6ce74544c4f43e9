nn::network! { struct Net { pixels: input(4), dense(2) } }

fn main() {}
