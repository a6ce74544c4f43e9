// A weights file that does not exist.
nn::network! {
    #[weights = "models/no_such_model.safetensors"]
    struct Net { dense(4 -> 3) }
}

fn main() {}
