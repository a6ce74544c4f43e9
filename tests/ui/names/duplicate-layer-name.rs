nn::network! {
    struct Net {
        hidden: dense(2 -> 3, relu),
        hidden: dense(3 -> 1),
    }
}

fn main() {}
