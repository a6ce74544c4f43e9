// A tensor stored as BF16, which nn does not bake.
nn::network! {
    #[weights = "../../../../tests/weights/bf16.safetensors"]
    struct Net { dense(2 -> 1) }
}

fn main() {}
