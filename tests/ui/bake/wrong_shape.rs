// A layer wider than the file's: the error names the tensor and both shapes.
nn::network! {
    #[weights = "../../../../tests/weights/mlp_f32.safetensors"]
    struct Net { hidden: dense(4 -> 9, tanh), norm: batch_norm, out: dense(3) }
}

fn main() {}
