//! Flattening: a sequence `[L, D]` or an image `[C, H, W]` read as one vector, row-major
//! (`t·D + d`, `c·H·W + h·W + w`), as `torch.flatten(x, 1)`. The values do not move, so the
//! passes copy.
//!
//! ```text
//! forward:   a = x
//! backward:  ∂L/∂x = ∂L/∂a
//! ```

use crate::Real;

/// `a = x`.
#[inline]
pub fn forward<T: Real>(input: &[T], output: &mut [T]) {
    output.copy_from_slice(input);
}

/// `∂L/∂x = ∂L/∂a`.
#[inline]
pub fn backward<T: Real>(grad_output: &[T], grad_input: &mut [T]) {
    grad_input.copy_from_slice(grad_output);
}
