// A file that is not safetensors.
nn::network! {
    #[weights = "../../../../tests/bake.rs"]
    struct Net { dense(4 -> 3) }
}

fn main() {}
