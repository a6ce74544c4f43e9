// Two weights files for one network.
nn::network! {
    #[weights = "../../../../tests/weights/mlp_f32.safetensors"]
    #[weights = "../../../../tests/weights/mlp_f64.safetensors"]
    struct Net { hidden: dense(4 -> 8, tanh), norm: batch_norm, out: dense(3) }
}

fn main() {}
