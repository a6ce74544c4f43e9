//! Values joined along an axis, as `torch.cat`: per sample, each of `outer` blocks holds
//! every input's chunk in turn (`outer` = 1 for vectors and for images joined along their
//! channels; `T` for sequences joined along their features).
//!
//! ```text
//! forward:   a[n][b] = [x₁[n][b], x₂[n][b], …]      (b < outer)
//! backward:  ∂L/∂xᵢ[n][b] = ∂L/∂a[n][b][offsetᵢ .. offsetᵢ + chunkᵢ]
//! ```

use nalgebra::SVector;

use crate::Real;

/// Joins a batch: each input is `(values, chunk)`, `chunk` values per block.
#[inline]
pub fn forward<T: Real>(inputs: &[(&[T], usize)], outer: usize, output: &mut [T]) {
    let width: usize = inputs.iter().map(|&(_, chunk)| chunk).sum();
    let mut offset = 0;
    for &(input, chunk) in inputs {
        let sources = input.chunks_exact(chunk);
        let targets = output.chunks_exact_mut(width);
        for (target, source) in targets.zip(sources) {
            target[offset..offset + chunk].copy_from_slice(source);
        }
        offset += chunk;
    }
    debug_assert!(outer == 0 || output.len().is_multiple_of(outer));
}

/// Joins one sample on the stack.
#[inline]
#[must_use]
pub fn forward_one<T: Real, const N: usize>(inputs: &[(&[T], usize)], outer: usize) -> SVector<T, N> {
    let mut output = SVector::<T, N>::zeros();
    forward(inputs, outer, output.as_mut_slice());
    output
}

/// `∂L/∂xᵢ`: input `i`'s chunks of the output gradient, `(offset, chunk, width)` within
/// each block of `width` values.
#[inline]
pub fn backward<T: Real>(
    grad_output: &[T],
    (offset, chunk, width): (usize, usize, usize),
    outer: usize,
    grad_input: &mut [T],
) {
    let sources = grad_output.chunks_exact(width);
    for (target, source) in grad_input.chunks_exact_mut(chunk).zip(sources) {
        target.copy_from_slice(&source[offset..offset + chunk]);
    }
    debug_assert!(outer == 0 || grad_output.len().is_multiple_of(outer));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // sums of small integers and copies are exact: equality is the claim
    fn joins_blocks_and_splits_the_gradient_back() {
        // Two samples of [2, 1] and [2, 2] sequences joined along features: [2, 3].
        let a = [1.0, 2.0, 10.0, 20.0];
        let b = [3.0, 4.0, 5.0, 6.0, 30.0, 40.0, 50.0, 60.0];
        let mut output = [0.0; 12];
        forward::<f64>(&[(&a, 1), (&b, 2)], 2, &mut output);
        assert_eq!(output, [1.0, 3.0, 4.0, 2.0, 5.0, 6.0, 10.0, 30.0, 40.0, 20.0, 50.0, 60.0]);
        let (mut grad_a, mut grad_b) = ([0.0; 4], [0.0; 8]);
        backward(&output, (0, 1, 3), 2, &mut grad_a);
        backward(&output, (1, 2, 3), 2, &mut grad_b);
        assert_eq!((grad_a, grad_b), (a, b));
    }
}
