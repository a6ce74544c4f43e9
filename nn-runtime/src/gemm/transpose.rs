//! The transpose that packs a `B` stored the other way round (the weights, or the inputs
//! of a transposed forward pass) into the packed product's panels:
//! `packed[t·width + j] = source[j·stride + t]`.
//!
//! It goes in `8 × 8` blocks: eight rows of the source are read as eight runs of eight
//! values and written as eight runs of eight steps. For `f32` on x86-64 with AVX a block is
//! sixteen half-vector loads, sixteen shuffles and eight vector stores
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
    transpose_in_blocks(packed, width, source, stride, shape, |packed, source, (t, j)| {
        let (target, source) = (&mut packed[t * width + j..], &source[j * stride + t..]);
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

/// The loops of every transpose: `block(packed, source, (t, j))` transposes the `8 × 8`
/// block of steps `t..t + 8` and rows `j..j + 8` for every whole block, then what is left
/// goes one value at a time: the rows past the last whole block (and the zeros up to
/// `width`) at every step, when there are any, then every row at the steps past the last
/// whole block.
#[inline(always)]
fn transpose_in_blocks<T: Real>(
    packed: &mut [T],
    width: usize,
    source: &[T],
    stride: usize,
    (rows, depth): (usize, usize),
    mut block: impl FnMut(&mut [T], &[T], (usize, usize)),
) {
    let (whole_rows, whole_depth) = (rows / BLOCK * BLOCK, depth / BLOCK * BLOCK);
    for t in (0..whole_depth).step_by(BLOCK) {
        for j in (0..whole_rows).step_by(BLOCK) {
            block(packed, source, (t, j));
        }
    }
    let mut rest = |steps: core::ops::Range<usize>, first: usize| {
        for d in steps {
            for (r, value) in packed[d * width..][..width].iter_mut().enumerate().skip(first) {
                *value = if r < rows { source[r * stride + d] } else { T::zero() };
            }
        }
    };
    if whole_rows < width {
        rest(0..whole_depth, whole_rows);
    }
    rest(whole_depth..depth, 0);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m256, _mm_loadu_ps, _mm256_castps128_ps256, _mm256_insertf128_ps, _mm256_shuffle_ps,
        _mm256_storeu_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };

    use super::{BLOCK, transpose_in_blocks};

    /// [`super::transpose`] with each block in eight AVX registers, read and written
    /// through pointers checked once against the whole shape. (Measured on this Intel Xeon
    /// on the transpose of W3's 64 inputs of 784 values, as the packed product takes it, in
    /// blocks of 128 steps: 7.7–8.9 µs before; 6.7–7.3 with [`block`]'s loads; 6.5–6.7 with
    /// the blocks' bounds checked once; 5.1–5.4 with the edges skipping the rows when there
    /// are none left over, rather than visiting each of the 784 steps to do nothing.)
    #[target_feature(enable = "avx")]
    pub(super) fn transpose_avx(
        packed: &mut [f32],
        width: usize,
        source: &[f32],
        stride: usize,
        (rows, depth): (usize, usize),
    ) {
        let (whole_rows, whole_depth) = (rows / BLOCK * BLOCK, depth / BLOCK * BLOCK);
        assert!(
            whole_rows == 0
                || whole_depth == 0
                || (source.len() >= (whole_rows - 1) * stride + whole_depth
                    && packed.len() >= (whole_depth - 1) * width + whole_rows)
        );
        transpose_in_blocks(packed, width, source, stride, (rows, depth), |packed, source, (t, j)| {
            // SAFETY: the block's rows `j..j + 8 ≤ whole_rows` and steps `t..t + 8 ≤
            // whole_depth` lie within both buffers (asserted).
            unsafe {
                block(
                    packed.as_mut_ptr().add(t * width + j),
                    width,
                    source.as_ptr().add(j * stride + t),
                    stride,
                );
            }
        });
    }

    /// `target[d·width + r] = source[r·stride + d]` for `r, d < 8`, in two groups of four
    /// steps. Each register is loaded as two halves of four values from rows `r` and `r + 4`
    /// (the second half inserted straight from memory, on the load ports), so four of them
    /// hold both halves of the rows and the steps come out of [`steps_of_four`] whole: sixteen
    /// shuffles a block where joining the halves afterwards took twenty-four.
    ///
    /// # Safety
    ///
    /// `source[r·stride + d]` and `target[d·width + r]` must be in bounds for `r, d < 8`.
    #[target_feature(enable = "avx")]
    #[inline]
    unsafe fn block(target: *mut f32, width: usize, source: *const f32, stride: usize) {
        // Values `d..d + 4` of rows `r` and `r + 4`, as the low and high halves of a register.
        let halves = |r: usize, d: usize| {
            // SAFETY: `r + 4 < 8` and `d + 4 ≤ 8`: within the block (the caller's contract).
            unsafe {
                let low = _mm_loadu_ps(source.add(r * stride + d));
                let high = _mm_loadu_ps(source.add((r + BLOCK / 2) * stride + d));
                _mm256_insertf128_ps::<1>(_mm256_castps128_ps256(low), high)
            }
        };
        for d in [0, BLOCK / 2] {
            let steps = steps_of_four([halves(0, d), halves(1, d), halves(2, d), halves(3, d)]);
            for (s, step) in steps.into_iter().enumerate() {
                // SAFETY: step `d + s < 8`, eight values: within the block (the caller's contract).
                unsafe { _mm256_storeu_ps(target.add((d + s) * width), step) };
            }
        }
    }

    /// Rows `a, b, c, d` as steps of four, both 128-bit halves at once: two-row interleaves
    /// (`a0 b0 a1 b1 | a4 b4 a5 b5`, …), then four-row shuffles, giving
    /// `[a0 b0 c0 d0 | a4 b4 c4 d4]`, `[a1 … | a5 …]`, `[a2 … | a6 …]`, `[a3 … | a7 …]`.
    /// ([`block`] loads rows `e`–`h` into the high halves, so there the high half of each
    /// step is `e0 f0 g0 h0`.)
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
        for (rows, depth, width, stride) in [
            (8, 8, 8, 8),
            (64, 784, 64, 784),
            (13, 21, 16, 23),
            (7, 9, 32, 9),
            (16, 3, 16, 5),
            (8, 13, 8, 13),
            (24, 20, 24, 21),
        ] {
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
