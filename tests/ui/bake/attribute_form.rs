// The weights attribute takes a path string.
nn::network! {
    #[weights(model)]
    struct Net { dense(4 -> 3) }
}

fn main() {}
