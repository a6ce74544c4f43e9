//! Nearest-neighbour upsampling, PyTorch's `nn.Upsample(scale_factor = s, mode =
//! "nearest")`: each pixel of a sample `[C][H][W]` becomes an `s × s` block (`s` wide in 1-D,
//! height 1).
//!
//! ```text
//! forward:   a[c][i][j] = x[c][i div s_h][j div s_w]
//! backward:  ∂L/∂x[c][h][w] = Σ_{p<s_h, q<s_w} δ[c][h·s_h + p][w·s_w + q]
//! ```

use crate::Real;

/// Upsampling over a batch of `planes` (channels × samples) `[H][W]` planes by `scale`.
#[inline]
pub fn forward<T: Real>(input: [usize; 2], scale: [usize; 2], x: &[T], output: &mut [T]) {
    let [height, width] = input;
    let wide = width * scale[1];
    let planes = x.chunks_exact(height * width);
    for (plane, out) in planes.zip(output.chunks_exact_mut(height * width * scale[0] * scale[1])) {
        for (h, rows) in out.chunks_exact_mut(wide * scale[0]).enumerate() {
            let (first, rest) = rows.split_at_mut(wide);
            for (w, block) in first.chunks_exact_mut(scale[1]).enumerate() {
                block.fill(plane[h * width + w]);
            }
            for row in rest.chunks_exact_mut(wide) {
                row.copy_from_slice(first);
            }
        }
    }
}

/// Upsampling's backward: `∂L/∂x` (overwritten) sums each block.
#[inline]
pub fn backward<T: Real>(input: [usize; 2], scale: [usize; 2], delta: &[T], grad_input: &mut [T]) {
    let [height, width] = input;
    let wide = width * scale[1];
    let planes = grad_input.chunks_exact_mut(height * width);
    for (gx, d) in planes.zip(delta.chunks_exact(height * width * scale[0] * scale[1])) {
        gx.fill(T::zero());
        for (h, rows) in d.chunks_exact(wide * scale[0]).enumerate() {
            for row in rows.chunks_exact(wide) {
                for (w, block) in row.chunks_exact(scale[1]).enumerate() {
                    gx[h * width + w] += block.iter().fold(T::zero(), |sum, &v| sum + v);
                }
            }
        }
    }
}
