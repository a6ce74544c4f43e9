// A layer the file has no weights for.
nn::network! {
    #[weights = "../../../../tests/weights/mlp_f32.safetensors"]
    struct Net { hidden: dense(4 -> 8, tanh), norm: batch_norm, out: dense(3), extra: dense(2) }
}

fn main() {}
