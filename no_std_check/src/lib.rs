//! nn in a `#![no_std]` library with no allocator: what firmware would write.
//!
//! Built alone (`cargo build -p nn-no-std-check`), nn is compiled without its `std`
//! feature, so nothing here can reach a heap or a file: the weights are baked in at compile
//! time from the test suite's files, and the budgets below are checked by the compiler.
//! `cargo build -p nn-no-std-check --target thumbv7em-none-eabihf` builds it for a
//! Cortex-M4F, whose target has no `std` at all.

#![no_std]
#![forbid(unsafe_code)]

use nn::SVector;

nn::network! {
    #[weights = "../tests/weights/mlp_f32.safetensors"]
    /// Dense layers with batch normalisation, baked.
    pub struct Mlp { hidden: dense(4 -> 8, tanh), norm: batch_norm, out: dense(3) }
}

nn::network! {
    #[weights = "../tests/weights/gru_f32.safetensors"]
    /// A GRU over 5 steps of 3 features, baked: whole sequences and streaming.
    pub struct Gru { input(5, 3), gru(3 -> 6), dense(2) }
}

// Budgets a firmware build would set: weights and compute per sample.
const _: () = assert!(Mlp::<f32>::PARAMETER_BYTES + Mlp::<f32>::BUFFER_BYTES <= 1024);
const _: () = assert!(Gru::<f32>::FLOPS <= 10_000);

/// The class the baked network gives `x`.
#[must_use]
pub fn classify(x: [f32; 4]) -> usize {
    Mlp::BAKED.forward(&SVector::from(x)).imax()
}

/// The baked GRU on a whole sequence of 5 steps (its transposed recurrent weights on the
/// stack).
#[must_use]
pub fn sequence(x: [f32; 15]) -> [f32; 10] {
    Gru::BAKED.forward(&SVector::from(x)).into()
}

/// One streamed step of the baked GRU.
pub fn step(state: &mut GruState, x: [f32; 3]) -> [f32; 2] {
    Gru::BAKED.step(state, &SVector::from(x)).into()
}

/// An owned network held inline (no heap without `std`), from the baked weights.
#[must_use]
pub fn owned() -> Mlp {
    Mlp::from_view(Mlp::BAKED)
}
