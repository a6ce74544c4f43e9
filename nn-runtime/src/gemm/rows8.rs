//! `y = W·x + b` for one `f32` sample, eight rows of `W` per pass, with AVX2 and FMA.
//!
//! A one-sample dense layer keeps PyTorch's row-major `[out, in]` weights, so each output
//! is a dot product whose lanes must be summed at the end. Summing each row's lanes on its
//! own costs as much as the products at the widths of small networks (a 64 → 64 layer: 234
//! ns in the generic kernel). Here eight rows advance together, eight columns at a time,
//! into eight accumulators, and the eight lane sums are folded into one vector by a tree of
//! horizontal adds (six `vhaddps`, two `vperm2f128`, one add): 97 ns for the same layer, at
//! the bound of the weights' loads. A layer of four to seven rows or columns takes the same
//! in blocks of four rows on four lanes ([`matvec_four_inline`]), where nn inlines it. The
//! rows past the last block of eight, and where nn inlines it a layer of fewer than four
//! rows from eight columns on, are summed one row at a time in eight lanes ([`row_dot`]).

use core::arch::x86_64::{
    __m256, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_fmadd_ps, _mm_hadd_ps, _mm_loadu_ps, _mm_movehdup_ps,
    _mm_movehl_ps, _mm_setzero_ps, _mm_storeu_ps, _mm256_add_ps, _mm256_castps256_ps128,
    _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_hadd_ps, _mm256_loadu_ps, _mm256_permute2f128_ps,
    _mm256_setzero_ps, _mm256_storeu_ps,
};

/// Rows per pass: one AVX2 vector of outputs.
const ROWS: usize = 8;

/// Rows per pass of [`matvec_four_inline`]: one SSE vector of outputs.
const HALF: usize = 4;

/// `y = W·x + b` for a row-major `W` of `y.len()` rows and `x.len()` columns. Rows past the
/// last whole block of eight, and columns past the last whole vector, are summed as plain
/// dot products.
///
/// # Panics
///
/// When `weight` or `bias` is too short.
#[target_feature(enable = "avx2,fma")]
pub(super) fn matvec_avx2(weight: &[f32], x: &[f32], bias: &[f32], y: &mut [f32]) {
    matvec_avx2_inline(weight, x, bias, y);
}

/// [`matvec_avx2`], inlined into a caller compiled with AVX2 and FMA: for small layers,
/// whose sizes the caller knows, in a pass `nn::isa::run_best` compiled for them or in a
/// build with them built in. Elsewhere it stays a call, as it must.
///
/// LLVM inlines it only while its cost stays under the threshold an `#[inline]` function
/// gets: with its tails' bounds checks and a formatted panic message it cost 450 against
/// 438, and stayed a call with run-time sizes inside the default build's dispatched passes.
/// Without them, one sample through 1 → 8 → 8 → 1 tanh (default build) went 32.6 → 26.0 ns,
/// 1 → 16 → 16 → 1 49 → 37.1, 1 → 32 → 32 → 1 77 → 67, 1 → 64 → 64 → 1 181 → 170.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) fn matvec_avx2_inline(weight: &[f32], x: &[f32], bias: &[f32], y: &mut [f32]) {
    let (m, k) = (y.len(), x.len());
    assert!(weight.len() >= m * k && bias.len() >= m, "too few weights or biases for the product");
    let whole = k / ROWS * ROWS;
    for block in 0..m / ROWS {
        let first = block * ROWS;
        let mut acc = [_mm256_setzero_ps(); ROWS];
        for c in (0..whole).step_by(ROWS) {
            // SAFETY: `c + 8 ≤ whole ≤ k = x.len()`.
            let xv = unsafe { _mm256_loadu_ps(x.as_ptr().add(c)) };
            for (q, a) in acc.iter_mut().enumerate() {
                // SAFETY: row `first + q < m` starts at `(first + q)·k`, and `c + 8 ≤ k`, so the
                // eight values end within `m·k ≤ weight.len()` (asserted above).
                let w = unsafe { _mm256_loadu_ps(weight.as_ptr().add((first + q) * k + c)) };
                *a = _mm256_fmadd_ps(w, xv, *a);
            }
        }
        let mut sums = [0.0; ROWS];
        // SAFETY: `sums` is eight `f32`, the store's width; `storeu` needs no alignment.
        unsafe { _mm256_storeu_ps(sums.as_mut_ptr(), fold(acc)) };
        if whole < k {
            for (q, sum) in sums.iter_mut().enumerate() {
                let row = (first + q) * k;
                // SAFETY: row `first + q < m` ends at `row + k ≤ m·k ≤ weight.len()` (asserted
                // above), and `whole < k = x.len()`.
                *sum += unsafe { dot(weight.get_unchecked(row + whole..row + k), x.get_unchecked(whole..)) };
            }
        }
        for (q, sum) in sums.into_iter().enumerate() {
            // SAFETY: `first + q < m = y.len() ≤ bias.len()` (asserted above).
            unsafe { *y.get_unchecked_mut(first + q) = *bias.get_unchecked(first + q) + sum };
        }
    }
    for o in m / ROWS * ROWS..m {
        // SAFETY: `o < m = y.len() ≤ bias.len()`, and row `o` ends at `(o + 1)·k ≤ m·k ≤
        // weight.len()` (asserted above).
        unsafe {
            *y.get_unchecked_mut(o) =
                *bias.get_unchecked(o) + row_dot(weight.get_unchecked(o * k..(o + 1) * k), x);
        }
    }
}

/// [`matvec_avx2_inline`] for a small layer of fewer than eight rows or columns (from four of
/// each): blocks of four rows, then the rest as dot products. Kept apart from it so that
/// each stays small enough to be inlined.
///
/// # Panics
///
/// When `weight` or `bias` is too short.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) fn matvec_four_inline(weight: &[f32], x: &[f32], bias: &[f32], y: &mut [f32]) {
    let (m, k) = (y.len(), x.len());
    assert!(weight.len() >= m * k && bias.len() >= m, "a {m} × {k} product needs more weights or biases");
    let mut first = 0;
    while k >= HALF && first + HALF <= m {
        four_rows(weight, x, bias, first, y);
        first += HALF;
    }
    for o in first..m {
        y[o] = bias[o] + row_dot(&weight[o * k..][..k], x);
    }
}

/// Rows `first..first + 4` of `y = W·x + b`, as a block of eight is summed but in four
/// lanes, for a layer of fewer than eight rows or columns. Left to LLVM, a 4 × 4
/// layer unrolled as dot products was gathered across the outputs with 512-bit permutes
/// where the target has AVX-512 (one sample through 1 → 4 → 4 → 1 tanh 19.8 ns, against
/// 13.2 with AVX-512 turned off).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn four_rows(weight: &[f32], x: &[f32], bias: &[f32], first: usize, y: &mut [f32]) {
    let k = x.len();
    let whole = k / HALF * HALF;
    let mut acc = [_mm_setzero_ps(); HALF];
    for c in (0..whole).step_by(HALF) {
        // SAFETY: `c + 4 ≤ whole ≤ k = x.len()`.
        let xv = unsafe { _mm_loadu_ps(x.as_ptr().add(c)) };
        for (q, a) in acc.iter_mut().enumerate() {
            // SAFETY: row `first + q < m` starts at `(first + q)·k` and `c + 4 ≤ k`, so the
            // four values end within `m·k ≤ weight.len()` (asserted by the caller).
            let w = unsafe { _mm_loadu_ps(weight.as_ptr().add((first + q) * k + c)) };
            *a = _mm_fmadd_ps(w, xv, *a);
        }
    }
    // `hadd(a, b) = [a₀+a₁, a₂+a₃, b₀+b₁, b₂+b₃]`, so two levels of it give `[Σa₀, …, Σa₃]`.
    let sums = _mm_hadd_ps(_mm_hadd_ps(acc[0], acc[1]), _mm_hadd_ps(acc[2], acc[3]));
    let mut lanes = [0.0; HALF];
    // SAFETY: `lanes` is four `f32`, the store's width.
    unsafe { _mm_storeu_ps(lanes.as_mut_ptr(), sums) };
    for (q, sum) in lanes.into_iter().enumerate() {
        let o = first + q;
        y[o] = bias[o] + (sum + dot(&weight[o * k..][whole..k], &x[whole..]));
    }
}

/// `Σ aᵢ·bᵢ` for a row past the last block: one vector of sums, so the products do not wait
/// on one another as a plain sum's do.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn row_dot(a: &[f32], b: &[f32]) -> f32 {
    let (a_vectors, a_rest) = a.as_chunks::<ROWS>();
    let (b_vectors, b_rest) = b.as_chunks::<ROWS>();
    let mut acc = _mm256_setzero_ps();
    for (a, b) in a_vectors.iter().zip(b_vectors) {
        // SAFETY: `a` and `b` are eight readable `f32` each, the loads' width; `loadu` needs no
        // alignment.
        let (a, b) = unsafe { (_mm256_loadu_ps(a.as_ptr()), _mm256_loadu_ps(b.as_ptr())) };
        acc = _mm256_fmadd_ps(a, b, acc);
    }
    // Lanes i and i + 4, then pairs 0 + 2 and 1 + 3, then the two: in registers, where a
    // store and four scalar sums kept a 64 → 1 layer's result waiting on store forwarding.
    let pairs = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
    let halves = _mm_add_ps(pairs, _mm_movehl_ps(pairs, pairs));
    _mm_cvtss_f32(_mm_add_ss(halves, _mm_movehdup_ps(halves))) + dot(a_rest, b_rest)
}

/// Lane `q` of the result is the sum of the lanes of `acc[q]`:
///
/// ```text
/// hadd(a₀, a₁) = [a₀₀+a₀₁, a₀₂+a₀₃, a₁₀+a₁₁, a₁₂+a₁₃ | the same of lanes 4–7]
/// hadd of two such = [Σa₀, Σa₁, Σa₂, Σa₃ over lanes 0–3 | over lanes 4–7]
/// ```
///
/// and the low and high halves of two of those, added, give all eight.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn fold(acc: [__m256; ROWS]) -> __m256 {
    let pairs = [
        _mm256_hadd_ps(acc[0], acc[1]),
        _mm256_hadd_ps(acc[2], acc[3]),
        _mm256_hadd_ps(acc[4], acc[5]),
        _mm256_hadd_ps(acc[6], acc[7]),
    ];
    let (first, second) = (_mm256_hadd_ps(pairs[0], pairs[1]), _mm256_hadd_ps(pairs[2], pairs[3]));
    let low = _mm256_permute2f128_ps::<0x20>(first, second);
    let high = _mm256_permute2f128_ps::<0x31>(first, second);
    _mm256_add_ps(low, high)
}

/// `Σ aᵢ·bᵢ`, plainly: the short tails.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

#[cfg(test)]
mod tests {
    /// Both kernels against the definition in `f64`, over every shape around the block and
    /// vector sizes.
    #[test]
    fn matches_the_definition_at_every_edge() {
        if !super::super::has_avx2_fma() {
            return;
        }
        for m in [1, 4, 5, 7, 8, 9, 12, 16, 31, 64] {
            for k in [1, 3, 4, 5, 7, 8, 9, 16, 33, 64] {
                let weight: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
                let x: Vec<f32> = (0..k).map(|i| (i as f32).sin()).collect();
                let bias: Vec<f32> = (0..m).map(|o| o as f32 / 10.0).collect();
                let mut y = vec![0.0; m];
                // SAFETY: the CPU supports AVX2 and FMA (checked above).
                unsafe { super::matvec_avx2(&weight, &x, &bias, &mut y) };
                let mut four = vec![0.0; m];
                // SAFETY: as above.
                unsafe { super::matvec_four_inline(&weight, &x, &bias, &mut four) };
                for (o, (&got, &by_four)) in y.iter().zip(&four).enumerate() {
                    let exact: f64 = f64::from(bias[o])
                        + (0..k).map(|i| f64::from(weight[o * k + i]) * f64::from(x[i])).sum::<f64>();
                    for (kernel, got) in [("eight rows", got), ("four rows", by_four)] {
                        assert!(
                            (f64::from(got) - exact).abs() <= 1e-5 * (k as f64),
                            "{m}×{k}, row {o}, {kernel}: {got} vs {exact}"
                        );
                    }
                }
            }
        }
    }
}
