nn::network! { pub struct Empty {} }

fn main() {}
