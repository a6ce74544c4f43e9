//! The transpose that packs a `B` stored the other way round (the weights, or the inputs
//! of a transposed forward pass) into the packed product's panels:
//! `packed[t·width + j] = source[j·stride + t]`.
//!
//! It goes in `8 × 8` blocks: eight rows of the source are read as eight runs of eight
//! values and written as eight runs of eight steps. For `f32` on x86-64 with AVX a block is
//! eight vector loads, twenty-four shuffles and eight vector stores
//! ([`transpose_f32`]); elsewhere it goes through a local array. (Left to LLVM in the
//! AVX-512 product, the array was moved one value at a time through the stack, and the
//! transpose of W3's 64 inputs took 16% of its training forward.)

use crate::Real;

/// Rows and steps per block.
const BLOCK: usize = 8;

/// `packed[t·width + j] = source[j·stride + t]` for `j < rows`, `t < depth`, and zero for
/// `rows ≤ j < width`, for any type.
#[inline(always)]
pub(crate) fn transpose<T: Real>(
    packed: &mut [T],
    width: usize,
    source: &[T],
    stride: usize,
    shape: (usize, usize),
) {
    transpose_in_blocks(packed, width, source, stride, shape, |target, source| {
        let mut block = [[T::zero(); BLOCK]; BLOCK];
        for (r, row) in block.iter_mut().enumerate() {
            row.copy_from_slice(&source[r * stride..][..BLOCK]);
        }
        for d in 0..BLOCK {
            let target = &mut target[d * width..][..BLOCK];
            for r in 0..BLOCK {
                target[r] = block[r][d];
            }
        }
    });
}

/// [`transpose`] for `f32`: with AVX, each block in registers.
pub(crate) fn transpose_f32(
    packed: &mut [f32],
    width: usize,
    source: &[f32],
    stride: usize,
    shape: (usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 (detected above), which includes AVX, the only
            // requirement.
            return unsafe { x86::transpose_avx(packed, width, source, stride, shape) };
        }
    }
    transpose(packed, width, source, stride, shape);
}

/// The loops of [`transpose`] around `block(target, source)`, which transposes the `8 × 8`
/// block whose first row starts at `source[0]` (rows `stride` apart) into `target` (steps
/// `width` apart). The rows past the last whole block, and the steps past the last whole
/// block, go one value at a time.
#[inline(always)]
fn transpose_in_blocks<T: Real>(
    packed: &mut [T],
    width: usize,
    source: &[T],
    stride: usize,
    (rows, depth): (usize, usize),
    mut block: impl FnMut(&mut [T], &[T]),
) {
    let mut t = 0;
    while t + BLOCK <= depth {
        let mut j = 0;
        while j + BLOCK <= rows {
            block(&mut packed[t * width + j..], &source[j * stride + t..]);
            j += BLOCK;
        }
        for d in t..t + BLOCK {
            let step = &mut packed[d * width..][..width];
            for (r, value) in step.iter_mut().enumerate().skip(j) {
                *value = if r < rows { source[r * stride + d] } else { T::zero() };
            }
        }
        t += BLOCK;
    }
    for d in t..depth {
        let step = &mut packed[d * width..][..width];
        for (r, value) in step.iter_mut().enumerate() {
            *value = if r < rows { source[r * stride + d] } else { T::zero() };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m256, _mm256_loadu_ps, _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_storeu_ps,
        _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };

    use super::{BLOCK, transpose_in_blocks};

    /// [`super::transpose`] with each block in eight AVX registers.
    #[target_feature(enable = "avx")]
    pub(super) fn transpose_avx(
        packed: &mut [f32],
        width: usize,
        source: &[f32],
        stride: usize,
        shape: (usize, usize),
    ) {
        transpose_in_blocks(packed, width, source, stride, shape, |target, source| {
            block(target, width, source, stride);
        });
    }

    /// `target[d·width + r] = source[r·stride + d]` for `r, d < 8`: each half of the rows
    /// gathered into steps of four ([`steps_of_four`]), then each step's two halves joined
    /// across the two groups of rows (`a0 … h0`).
    #[target_feature(enable = "avx")]
    #[inline]
    fn block(target: &mut [f32], width: usize, source: &[f32], stride: usize) {
        assert!(source.len() >= (BLOCK - 1) * stride + BLOCK && target.len() >= (BLOCK - 1) * width + BLOCK);
        // SAFETY: row `r < 8` reads `source[r·stride..][..8]`, within `source` (asserted).
        let row = |r: usize| unsafe { _mm256_loadu_ps(source.as_ptr().add(r * stride)) };
        let top = steps_of_four([row(0), row(1), row(2), row(3)]);
        let bottom = steps_of_four([row(4), row(5), row(6), row(7)]);
        for d in 0..BLOCK / 2 {
            let (low, high) = (
                _mm256_permute2f128_ps::<0x20>(top[d], bottom[d]),
                _mm256_permute2f128_ps::<0x31>(top[d], bottom[d]),
            );
            // SAFETY: steps `d` and `d + 4` (below 8) write `target[step·width..][..8]`, within
            // `target` (asserted).
            unsafe {
                _mm256_storeu_ps(target.as_mut_ptr().add(d * width), low);
                _mm256_storeu_ps(target.as_mut_ptr().add((d + BLOCK / 2) * width), high);
            }
        }
    }

    /// Rows `a, b, c, d` as steps of four, both 128-bit halves at once: two-row interleaves
    /// (`a0 b0 a1 b1 | a4 b4 a5 b5`, …), then four-row shuffles, giving
    /// `[a0 b0 c0 d0 | a4 b4 c4 d4]`, `[a1 … | a5 …]`, `[a2 … | a6 …]`, `[a3 … | a7 …]`.
    #[target_feature(enable = "avx")]
    #[inline]
    fn steps_of_four([a, b, c, d]: [__m256; 4]) -> [__m256; 4] {
        let (ab_low, ab_high) = (_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
        let (cd_low, cd_high) = (_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
        [
            _mm256_shuffle_ps::<0x44>(ab_low, cd_low),
            _mm256_shuffle_ps::<0xEE>(ab_low, cd_low),
            _mm256_shuffle_ps::<0x44>(ab_high, cd_high),
            _mm256_shuffle_ps::<0xEE>(ab_high, cd_high),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::{transpose, transpose_f32};

    /// Every value where the definition puts it, zeros past the rows, for shapes with and
    /// without whole blocks, in both types (`f32` through its vector blocks).
    #[test]
    fn matches_the_definition_at_every_edge() {
        for (rows, depth, width, stride) in
            [(8, 8, 8, 8), (64, 784, 64, 784), (13, 21, 16, 23), (7, 9, 32, 9), (16, 3, 16, 5)]
        {
            let source: Vec<f32> = (0..rows * stride).map(|i| i as f32 + 0.5).collect();
            let expected: Vec<f32> = (0..depth * width)
                .map(|i| {
                    let (t, j) = (i / width, i % width);
                    if j < rows { source[j * stride + t] } else { 0.0 }
                })
                .collect();
            let mut packed = vec![f32::NAN; depth * width];
            transpose_f32(&mut packed, width, &source, stride, (rows, depth));
            assert_eq!(packed, expected, "f32, {rows} rows × {depth} steps");
            let source: Vec<f64> = source.iter().map(|&v| f64::from(v)).collect();
            let mut packed = vec![f64::NAN; depth * width];
            transpose(&mut packed, width, &source, stride, (rows, depth));
            let expected: Vec<f64> = expected.iter().map(|&v| f64::from(v)).collect();
            assert_eq!(packed, expected, "f64, {rows} rows × {depth} steps");
        }
    }
}
