//! Layer kernels: the forward and backward pass of each layer kind, side by side.
//!
//! The code `network!` writes calls these with the layer's sizes as const generics, so each
//! call is monomorphised for its exact shape: small layers become unrolled, vectorised
//! loops, large ones go to a real GEMM. Batches are column-major, one sample per column.

pub mod add;
#[cfg(feature = "std")]
pub mod attention;
pub mod batch_norm;
pub mod concat;
#[cfg(feature = "std")]
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod flatten;
pub mod layer_norm;
pub mod pool;
pub mod position;
pub mod recurrent;
pub mod spectral_norm;
pub mod steps;
pub mod upsample;

use crate::Real;
#[cfg(feature = "std")]
use crate::gemm::{self, Strided};

/// `total += part`: where a value feeds several layers, the gradients they send back are
/// summed (`∂L/∂x = Σ_consumers ∂L/∂x|consumer`, as micrograd's `self.grad += out.grad`).
#[inline]
pub fn accumulate<T: Real>(total: &mut [T], part: &[T]) {
    for (t, &p) in total.iter_mut().zip(part) {
        *t += p;
    }
}

/// `out[r] = W·rows[r] + b` for `count` rows of `inputs` values into rows of `outputs`: a
/// linear map of every step of a batch of sequences at once (`W` row-major `[outputs,
/// inputs]`, PyTorch's layout).
#[cfg(feature = "std")]
pub(crate) fn project<T: Real>(
    out: &mut [T],
    rows: &[T],
    (weight, bias): (&[T], &[T]),
    (count, outputs, inputs): (usize, usize, usize),
) {
    let weight = Strided::transposed(weight, inputs);
    gemm::multiply(out, outputs, Strided::rows(rows, inputs), weight, (count, outputs, inputs), false);
    for row in out.chunks_exact_mut(outputs).take(count) {
        for (o, &b) in row.iter_mut().zip(bias) {
            *o += b;
        }
    }
}

/// `sums[j] = Σ_r rows[r][j]` over rows of `sums.len()` values: a bias gradient.
#[cfg(feature = "std")]
pub(crate) fn column_sums<T: Real>(sums: &mut [T], rows: &[T]) {
    sums.fill(T::zero());
    for row in rows.chunks_exact(sums.len()) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
}
