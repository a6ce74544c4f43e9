// Four independent mistakes: each is reported, in one compilation.
nn::network! {
    struct Net {
        dense(2 -> 3, sigmod),
        dropout(1.5),
        dense(4 -> 2),
        out: dense(2 -> 1, relu, init = he),
    }
}

fn main() {}
