//! Layer kernels: the forward and backward pass of each layer kind, side by side.
//!
//! The code `network!` writes calls these with the layer's sizes as const generics, so each
//! call is monomorphised for its exact shape: small layers become unrolled, vectorised
//! loops, large ones go to a real GEMM. Batches are column-major, one sample per column.

pub mod add;
pub mod batch_norm;
pub mod concat;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod flatten;
pub mod layer_norm;
pub mod pool;
pub mod spectral_norm;
pub mod upsample;

use crate::Real;

/// `total += part`: where a value feeds several layers, the gradients they send back are
/// summed (`∂L/∂x = Σ_consumers ∂L/∂x|consumer`, as micrograd's `self.grad += out.grad`).
#[inline]
pub fn accumulate<T: Real>(total: &mut [T], part: &[T]) {
    for (t, &p) in total.iter_mut().zip(part) {
        *t += p;
    }
}
