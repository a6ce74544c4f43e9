// A file mixing F32 and F64 tensors cannot say which float type to bake in.
nn::network! {
    #[weights = "../../../../tests/weights/mixed.safetensors"]
    struct Net { dense(2 -> 1) }
}

fn main() {}
