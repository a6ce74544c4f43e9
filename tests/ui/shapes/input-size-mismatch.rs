nn::network! {
    pub struct Net {
        hidden: dense(2 -> 3, relu),
        dense(4 -> 1),
    }
}

fn main() {}
