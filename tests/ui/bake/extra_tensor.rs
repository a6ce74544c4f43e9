// The file holds a layer the declaration lacks: the file of another architecture.
nn::network! {
    #[weights = "../../../../tests/weights/mlp_f32.safetensors"]
    struct Net { hidden: dense(4 -> 8, tanh), out: dense(3) }
}

fn main() {}
