//! Matrix products for the layer kernels. Layers call one entry point, [`multiply`], with
//! operands in any strides; it owns the choice of kernel by layout and size, so every layer
//! kind gets the same measured policy. The kernels:
//!
//! - [`product`]: the packed, BLIS-style GEMM for large products (packing buffers are per
//!   thread, allocated once);
//!
//! - [`dot_rows`]: `C[r][j] (+)= Σ_t A[r][t]·B[j][t]`, rows of `A` and `B` contiguous in `t`.
//!   The forward pass: `z[n][o] = Σ_i x[n][i]·W[o][i]`.
//! - [`outer`]: `C[r][j] (+)= Σ_t A(r, t)·Q[t][j]`, rows of `Q` contiguous in `j`, `A`
//!   read through strides. The backward pass: `∂W[o][i] = Σ_n δ[n][o]·x[n][i]` and
//!   `∂x[n][i] = Σ_o δ[n][o]·W[o][i]`.
//!
//! Each kernel is one generic body compiled three times, for the baseline target, for
//! AVX2 with FMA and for AVX-512, and chosen at run time by CPU feature detection, so the
//! speed does not depend on `-C target-cpu=native`.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::Real;
use lanes::multiply_add_lanes;

#[cfg(feature = "std")]
mod ends;
#[cfg(feature = "std")]
mod helper;
mod lanes;
mod output;
mod packed;
#[cfg(feature = "std")]
mod prepacked;
#[cfg(target_arch = "x86_64")]
mod rows8;
mod transpose;

pub use packed::Strided;
#[cfg(feature = "std")]
pub use packed::product;
#[cfg(feature = "std")]
pub use prepacked::{Prepacked, Weights};
pub(crate) use transpose::{transpose, transpose_f32};

/// Whether the CPU has AVX2 and FMA: detected at run time with `std`; without it, whether
/// the target was compiled with them.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(feature = "std")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
}

/// Whether the CPU has AVX-512F, as [`has_avx2_fma`].
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx512() -> bool {
    #[cfg(feature = "std")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "avx512f")
    }
}

/// Whether the CPU has `PREFETCHW` (CPUID `8000_0001h`, ECX bit 8: "PRFCHW"), read once:
/// the standard library's detection does not name it. Without `std`, never (the packed
/// product, its one user, needs `std`).
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_prefetchw() -> bool {
    #[cfg(feature = "std")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| {
            use core::arch::x86_64::__cpuid;
            __cpuid(0x8000_0000).eax >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & (1 << 8) != 0
        })
    }
    #[cfg(not(feature = "std"))]
    {
        false
    }
}

/// Batch rows (`m`) from which a product with a depth-contiguous `B` (a forward pass,
/// `z[n][o] = Σ_i x[n][i]·W[o][i]`) and at least [`WIDE_OUTPUT`] columns runs packed
/// whatever its depth; below, a depth of [`SHORT_DEPTH`] or more runs on [`dot_rows`], which
/// reads `B` in place. Measured on this project's Intel Xeon (f32, µs, packed against
/// `dot_rows`): 32×256×128 23.2 against 52.7, 48×128×128 14.0 against 38.4, 32×512×256 95.5
/// against 151.8, but 16×1024×512 303 against 256 and 8×2048×512 681 against 308. (An AMD
/// EPYC, where `dot_rows` reaches more of the machine, had it faster up to 64 rows.)
///
/// The same on two threads, even where each thread then packs the whole of `B` (a split by
/// rows: see `packed::SPLIT_COLUMNS_FROM`): with `dot_rows`
/// split in two below 128 rows, 64×64×128 took 14.2 µs against 8.5 on one thread, and 6.6
/// packed on two (64×256×128: 54.7, 34.5 and 23.6).
pub const PACKED_BATCH: usize = 32;

/// Depths below which a product with a depth-contiguous `B` and at least [`WIDE_OUTPUT`]
/// columns runs packed at any batch: there both kernels that read `B` in place lose to it,
/// [`dot_rows`] on its horizontal sums and [`outer`] on copying `B` row-major first
/// (measured, f32, µs, packed against that copy and `outer`: 4×128×64 3.0 against 5.9,
/// 32×64×64 2.5 against 6.0, 32×128×64 6.0 against 10.9, one sample 1×192×64 4.7 against
/// 8.1). W2's training step went 8.55 → 7.04 µs, the digits example's epoch 3.18 → 2.83
/// ms, and GRU and LSTM training 11–14% faster.
pub const SHORT_DEPTH: usize = 128;

/// Columns from which [`outer`] fills whole register tiles, and depths from which a
/// product with a row-major `B` packs (measured: a 32→10 forward at 256 samples, 22 µs on
/// `outer` against 3 on [`dot_rows`]; a 10→512 input gradient at 64 samples, 164 GFLOP/s on
/// `outer` against 112 packed).
pub const WIDE_OUTPUT: usize = 32;

/// Multiply-adds from which a product with a row-major `B` (a backward pass) runs packed:
/// smaller ones (the 64→32 and 64→128 layers of W2 and of the digits network, at their
/// batch sizes) are faster on the kernels that pack nothing.
pub const PACKED_MULTIPLY_ADDS: usize = 1 << 20;

/// Multiply-adds from which a product with a row-major `B` runs packed, at any depth, where
/// the packed product's kernel is AVX2's ([`PACKED_MULTIPLY_ADDS`] was measured with
/// AVX-512). There [`outer`], which adds each rank-one update to the rows of `C` in memory,
/// is bound by its stores, and the packed product, which keeps its tile in registers,
/// measured 1.1–1.8× faster from 20k multiply-adds (the Zen 3 EPYC of `BENCHMARKS.md`, f32,
/// µs: W2's 32×64×32 weight gradient 3.19 → 2.37, the digits network's 128×64×32 12.8 → 8.0
/// and 32×128×64 input gradient 13.4 → 7.5, W4's 10×512×64 19.9 → 14.1 and 64×512×10
/// 19.9 → 15.2); at 8k–10k, 0.72–1.18×.
pub const PACKED_MULTIPLY_ADDS_AVX2: usize = 1 << 14;

/// `C[r·ldc + j] (+)= Σ_{t<k} A(r, t)·B(t, j)` for `r < m`, `j < n`, with `A` and `B` in any
/// strides; adds to `C` when `accumulate`, else overwrites it. The kernel is chosen by the
/// operands' layout and the product's size:
///
/// - `B` contiguous in depth (`B(t, j) = b[j·col + t]`, a weight read as `Wᵀ`): packed with
///   [`WIDE_OUTPUT`] columns or more and either [`PACKED_BATCH`] rows or a depth under
///   [`SHORT_DEPTH`], or where the packed kernel is AVX2's from two rows and a panel of
///   columns; else [`dot_rows`] when `A`'s rows are contiguous.
/// - `B` row-major (`B(t, j) = b[t·row + j]`): packed from [`PACKED_MULTIPLY_ADDS`] with a
///   depth of at least [`WIDE_OUTPUT`], or from [`PACKED_MULTIPLY_ADDS_AVX2`] where the
///   packed kernel is AVX2's; else [`outer`].
/// - any other layout: packed.
///
/// # Panics
///
/// When a buffer is too short for its shape (an internal invariant of the layer kernels).
#[cfg(feature = "std")]
#[inline]
pub fn multiply<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    shape: (usize, usize, usize),
    accumulate: bool,
) {
    T::multiply(c, ldc, a, b, shape, accumulate);
}

/// [`multiply`]'s body, instantiated for `f32` and `f64` in this crate only (by
/// `Real::multiply`), so a crate declaring networks does not compile the kernels again
/// (measured: a release crate training W4 rebuilt in 0.70 s rather than 2.88 s).
#[cfg(feature = "std")]
pub(crate) fn multiply_compiled<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    let shape = (m, n, k);
    if b.row == 1 && !packs_weights::<T>(a.col, shape) {
        return dot_rows(c, ldc, a.data, a.row, b.data, b.col, shape, accumulate);
    }
    if b.col == 1 && b.row != 1 && !packs_row_major::<T>(shape) {
        return outer(c, ldc, a.data, (a.row, a.col), b.data, b.row, shape, accumulate);
    }
    product(c, ldc, a, b, shape, accumulate);
}

/// `C[r·ldc + j] (+)= Σ_{t<k} A(r, t)·W[j·k + t]`: [`multiply`] by a weight matrix read as
/// `B = Wᵀ` (a forward pass), whose panels, where the product packs them, are kept in
/// `weights.prepacked` and packed again only when `weights.revision` changes: batched
/// inference ([`Prepacked`]).
///
/// # Panics
///
/// When a buffer is too short for its shape (an internal invariant of the layer kernels).
#[cfg(feature = "std")]
#[inline]
pub fn multiply_by_weights<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: Strided<'_, T>,
    weights: Weights<'_, T>,
    shape: (usize, usize, usize),
    accumulate: bool,
) {
    T::multiply_by_weights(c, ldc, a, weights, shape, accumulate);
}

/// [`multiply_by_weights`]'s body, compiled in this crate only, as [`multiply_compiled`].
#[cfg(feature = "std")]
pub(crate) fn multiply_by_weights_compiled<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: Strided<'_, T>,
    mut weights: Weights<'_, T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    let b = Strided::transposed(weights.values, k);
    if m == 0 || n == 0 || k == 0 || !packs_weights::<T>(a.col, (m, n, k)) {
        return multiply_compiled(c, ldc, a, b, (m, n, k), accumulate);
    }
    assert!(weights.values.len() >= n * k);
    packed::product_packed(c, ldc, a, weights.panels((n, k)), (m, n, k), accumulate);
}

/// Whether [`multiply_compiled`] runs a product whose `B` is row-major on the packed
/// product rather than on [`outer`].
#[cfg(feature = "std")]
fn packs_row_major<T: Real>((m, n, k): (usize, usize, usize)) -> bool {
    if packed::Kernel::for_shape::<T>(n, k) == packed::Kernel::Avx2 {
        return m * n * k >= PACKED_MULTIPLY_ADDS_AVX2;
    }
    m * n * k >= PACKED_MULTIPLY_ADDS && k >= WIDE_OUTPUT
}

/// Whether [`multiply_compiled`] runs a product whose `B` is contiguous in depth (`Wᵀ`)
/// on the packed product: with `A`'s rows not contiguous in depth (`a_col` apart); where
/// the packed kernel is AVX2's, from two rows and a whole panel of columns
/// ([`packs_weights_avx2`]); elsewhere wide enough, and long or shallow enough.
#[cfg(feature = "std")]
fn packs_weights<T: Real>(a_col: usize, (m, n, k): (usize, usize, usize)) -> bool {
    if a_col != 1 {
        return true;
    }
    if packed::Kernel::for_shape::<T>(n, k) == packed::Kernel::Avx2 {
        return packs_weights_avx2::<T>(m, n);
    }
    n >= WIDE_OUTPUT && (m >= PACKED_BATCH || k < SHORT_DEPTH)
}

/// Whether [`multiply`] runs a product by a depth-contiguous `B` (`xᵀ` in a training
/// forward's `zᵀ = W·xᵀ`) with `A`'s rows contiguous in depth on the packed product.
#[cfg(feature = "std")]
pub(crate) fn packs_depth_contiguous<T: Real>(shape: (usize, usize, usize)) -> bool {
    packs_weights::<T>(1, shape)
}

/// [`packs_weights`] where the packed kernel is AVX2's: from two rows and a whole panel of
/// columns (16 `f32`), at any depth. [`PACKED_BATCH`], [`WIDE_OUTPUT`] and [`SHORT_DEPTH`]
/// were measured with AVX-512; on the Zen 3 EPYC of `BENCHMARKS.md` (AVX2), `dot_rows` lost
/// to the packed product wherever a row of `C` fills a panel (f32, µs, `dot_rows` against
/// packed): a wide layer's training forward at 16 samples, `zᵀ = W·xᵀ`, 128×16×784 115.5
/// against 46.4 and 512×16×512 326.8 against 125.2; its plain form at 16 samples 16×512×512
/// 318.8 against 170.1, at 6 samples 6×64×256 9.9 against 3.6, at 2 samples 2×512×512 72.3
/// against 69.6; 64×16×8 4.40 against 0.50. With half a panel it did not (8×8×256 1.22
/// against 2.60), nor with one row (1×512×784 118 against 142).
#[cfg(feature = "std")]
fn packs_weights_avx2<T: Real>(m: usize, n: usize) -> bool {
    m >= 2 && n >= packed::Kernel::Avx2.panel_width::<T>()
}

/// Where each row of a row-major operand of [`dot_rows`] or [`outer`] begins: every
/// `stride` values ([`Stride`]), or at listed offsets (`&[usize]`). Listed offsets let a
/// convolution read its input's shifted rows in place, an implicit GEMM with no copy
/// ([`outer_at`], [`dot_rows_batched`]). Each kernel is compiled once per kind.
pub trait RowStarts: Copy + Sync {
    /// Where row `row` begins.
    fn start(self, row: usize) -> usize;

    /// One past the last value `rows` rows of `len` values reach.
    fn extent(self, rows: usize, len: usize) -> usize;
}

/// Rows `stride` values apart.
#[derive(Clone, Copy, Debug)]
pub struct Stride(pub usize);

impl RowStarts for Stride {
    #[inline(always)]
    fn start(self, row: usize) -> usize {
        row * self.0
    }

    fn extent(self, rows: usize, len: usize) -> usize {
        if rows == 0 { 0 } else { (rows - 1) * self.0 + len }
    }
}

impl RowStarts for &[usize] {
    #[inline(always)]
    fn start(self, row: usize) -> usize {
        self[row]
    }

    fn extent(self, rows: usize, len: usize) -> usize {
        self[..rows].iter().max().map_or(0, |&start| start + len)
    }
}

/// Threads a large product is split across (1: the calling thread only).
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Multiply-adds from which a product is split across threads: where two threads measured
/// at least 1.5× one, products back to back. On the Zen 3 EPYC of `BENCHMARKS.md` (f32, the
/// median of 300 alternated pairs): 262k (64×64×64, 32×128×64, 64×128×32, 256×32×32,
/// 128×64×32) 1.53–1.66×, W4's last layer's 327k weight and input gradients 1.65×, 393k
/// 1.50×; training steps on two threads against the split from 524k, alternated: W4's at 64
/// samples 1.035× faster, W3's 1.007×, the digits network's at 32 1.061× (where the split
/// from 524k left it level with one thread). (On the project's first Xeon: 64×128×64 = 0.5M
/// 1.59×, 64×64×64 1.34×, 1M 1.42–1.51×.) The helper thread ([`helper`]) makes small
/// products pay: through `rayon::join`, whose worker sleeps between products, 6.4M products
/// ran at 0.96–1.17×.
const PARALLEL_THRESHOLD: usize = 1 << 18;

/// Sets how many threads large matrix products use (default 1).
///
/// Each thread computes whole rows, or whole columns, of the result with the same code, so
/// results are bit-identical whatever the count. Two threads split a product with one helper
/// thread, which stays awake between products so that the second CPU is never asleep when a
/// product starts (on a virtual machine, waking it took 100–200 µs); more go through
/// rayon's pool (at most its size: the number of CPUs unless `RAYON_NUM_THREADS` says
/// otherwise). Neither allocates, so a warm training step stays allocation-free on the
/// calling thread. The optimizers' update of a large network is split the same way.
pub fn set_threads(threads: usize) {
    THREADS.store(threads.max(1), Ordering::Relaxed);
}

/// Held by every test that sets the thread count or joins on the helper itself: the count
/// is global, and `cargo test` runs a binary's tests on parallel threads. Without it, one
/// test's `set_threads(1)` could land inside another's two-thread run, which would then
/// compare one thread with one and pass without splitting anything; and a product split by
/// one test could hold the helper while another tests how the helper takes jobs. Sets one
/// thread again when dropped, also when the test panics.
#[cfg(test)]
pub(crate) struct ThreadsForTest {
    _held: std::sync::MutexGuard<'static, ()>,
}

#[cfg(test)]
impl ThreadsForTest {
    /// Waits until no other test holds the thread count.
    pub(crate) fn hold() -> Self {
        static HELD: std::sync::Mutex<()> = std::sync::Mutex::new(());
        Self { _held: HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner) }
    }
}

#[cfg(test)]
impl Drop for ThreadsForTest {
    fn drop(&mut self) {
        set_threads(1);
    }
}

/// The number set by [`set_threads`].
#[must_use]
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Whether a product of `multiply_adds` is split across threads (more than one set, and
/// at least [`PARALLEL_THRESHOLD`]).
#[cfg(feature = "std")]
pub(crate) fn splits(multiply_adds: usize) -> bool {
    multiply_adds >= PARALLEL_THRESHOLD && threads() > 1
}

/// Runs `a` and `b` at once, the two halves of work split `parts` ways: on the helper
/// thread for two parts, through rayon's pool for more. (A product's rows, an optimizer's
/// update.)
#[cfg(feature = "std")]
pub(crate) fn join<A: FnOnce() + Send, B: FnOnce() + Send>(parts: usize, a: A, b: B) {
    if parts == 2 {
        helper::join(a, b);
    } else {
        rayon::join(a, b);
    }
}

/// Rows [`by_rows`] gives a thread at a time, at least, on two threads.
#[cfg(feature = "std")]
const LEAST_ROWS_BY_ROWS: usize = 16;

/// Runs `work(rows, c)` on the `m` rows of `C` (`ldc` values each): split across the
/// threads set when a product of `multiply_adds` would be split ([`splits`]), whole
/// otherwise. For a layer's own loops over samples, which split as the GEMM splits its
/// rows: on two threads in pieces taken from both ends ([`ends`]), each of at least
/// [`LEAST_ROWS_BY_ROWS`]; on more, in bands. The pieces start on a 64-byte line of `f32`
/// (rows of 10 values: a multiple of 8 rows).
#[cfg(feature = "std")]
#[inline(always)]
pub(crate) fn by_rows<T: Send>(
    c: &mut [T],
    ldc: usize,
    m: usize,
    multiply_adds: usize,
    work: &(impl Fn(core::ops::Range<usize>, &mut [T]) + Sync),
) {
    if !splits(multiply_adds) {
        return work(0..m, c);
    }
    let line = 16 / gcd(ldc.max(1), 16);
    match threads() {
        2 => ends::rows_from_both_ends(c, ldc, m, (line, LEAST_ROWS_BY_ROWS), work),
        parts => split_rows(c, ldc, 0..m, parts, line, work),
    }
}

/// The greatest common divisor of `a` and `b`.
#[cfg(feature = "std")]
const fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Runs `work(rows, c)` on `parts` contiguous bands of the `m` rows of `C` (each band's
/// rows start at a multiple of `align`), in parallel: on the helper thread for two parts,
/// with `rayon::join` for more.
fn split_rows<T: Send>(
    c: &mut [T],
    ldc: usize,
    rows: core::ops::Range<usize>,
    parts: usize,
    align: usize,
    work: &(impl Fn(core::ops::Range<usize>, &mut [T]) + Sync),
) {
    let m = rows.len();
    if parts <= 1 || m < 2 * align {
        work(rows, c);
        return;
    }
    let half = (m / 2).next_multiple_of(align).min(m);
    let (top, bottom) = c.split_at_mut(half * ldc);
    let middle = rows.start + half;
    let (left, right) = (parts / 2, parts - parts / 2);
    #[cfg(feature = "std")]
    {
        let top = || split_rows(top, ldc, rows.start..middle, left.max(1), align, work);
        let bottom = || split_rows(bottom, ldc, middle..rows.end, right.max(1), align, work);
        join(parts, top, bottom);
    }
    // Without `std` there is one thread.
    #[cfg(not(feature = "std"))]
    {
        split_rows(top, ldc, rows.start..middle, left.max(1), align, work);
        split_rows(bottom, ldc, middle..rows.end, right.max(1), align, work);
    }
}

/// Rows of `A` per register tile of [`dot_rows`].
const DOT_ROWS: usize = 4;
/// Rows of `B` per register tile of [`dot_rows`].
const DOT_COLS: usize = 4;
/// Values of `Q` one depth block of [`outer`] reads per tile column: 8192 `f32` (32 KiB) fit
/// in a 48 KiB L1 with room for `A` and `C`.
const OUTER_PANEL: usize = 8192;

/// `C[r·ldc + j] (+)= Σ_{t<k} A[r·lda + t]·B[j·ldb + t]` for `r < m`, `j < n`; adds to `C`
/// when `accumulate`, else overwrites it.
///
/// # Panics
///
/// When a buffer is too short for its shape (an internal invariant of the layer kernels).
#[inline]
pub fn dot_rows<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: usize,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    dot_rows_batched(c, ldc, (a, lda, 0), (b, Stride(ldb), 0), (m, n, k), 1, accumulate);
}

/// [`dot_rows`] summed over `samples` pairs of operands, with the rows of `B` where `rows`
/// says: `C[r][j] (+)= Σ_s Σ_{t<k} a[s·a_step + r·lda + t]·b[s·b_step + rows.start(j) + t]`.
/// The sums stay in registers across the samples, so a convolution's weight gradient over a
/// batch is one call with long sums, not a short one per sample.
///
/// # Panics
///
/// When a buffer is too short for its shape (an internal invariant of the layer kernels).
#[inline]
pub fn dot_rows_batched<T: Real, R: RowStarts>(
    c: &mut [T],
    ldc: usize,
    (a, lda, a_step): (&[T], usize, usize),
    (b, rows, b_step): (&[T], R, usize),
    (m, n, k): (usize, usize, usize),
    samples: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = samples.saturating_sub(1);
    assert!(c.len() >= (m - 1) * ldc + n && a.len() >= last * a_step + (m - 1) * lda + k);
    assert!(b.len() >= last * b_step + rows.extent(n, k));
    let batch = (samples, a_step, b_step);
    let parts = threads();
    if parts > 1 && m * n * k * samples >= PARALLEL_THRESHOLD {
        let work = |band: core::ops::Range<usize>, c: &mut [T]| {
            let a = &a[band.start * lda..];
            dot_rows_one_thread(c, ldc, a, lda, b, rows, (band.len(), n, k), batch, accumulate);
        };
        return split_rows(c, ldc, 0..m, parts, DOT_ROWS, &work);
    }
    dot_rows_one_thread(c, ldc, a, lda, b, rows, (m, n, k), batch, accumulate);
}

fn dot_rows_one_thread<T: Real, R: RowStarts>(
    c: &mut [T],
    ldc: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: R,
    (m, n, k): (usize, usize, usize),
    batch: (usize, usize, usize),
    accumulate: bool,
) {
    if m == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU supports AVX-512F (detected above), the only requirement.
            return unsafe { x86::dot_rows_avx512(c, ldc, a, lda, b, ldb, (m, n, k), batch, accumulate) };
        }
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (detected above), the only requirement.
            return unsafe { x86::dot_rows_avx2(c, ldc, a, lda, b, ldb, (m, n, k), batch, accumulate) };
        }
    }
    dot_rows_body::<T, _, false, 8>(c, ldc, a, lda, b, ldb, (m, n, k), batch, accumulate);
}

/// `y[o] = b[o] + Σ_i W[o·k + i]·x[i]` for a row-major `W` of `y.len()` rows and
/// `x.len()` columns: one sample through a dense layer, with vector dot products.
///
/// # Panics
///
/// When `weight` or `bias` is too short.
#[inline]
pub fn matvec<T: Real>(weight: &[T], x: &[T], bias: &[T], y: &mut [T]) {
    let k = x.len();
    assert!(weight.len() >= y.len() * k && bias.len() >= y.len());
    T::matvec(weight, x, bias, y);
}

/// [`matvec`] for `f32`: with AVX2 and FMA, eight rows per pass ([`rows8`]) once there are
/// eight rows and eight columns; otherwise as for any type.
pub(crate) fn matvec_f32(weight: &[f32], x: &[f32], bias: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if y.len() >= 8 && x.len() >= 8 && has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (detected above), the only requirement.
            return unsafe { rows8::matvec_avx2(weight, x, bias, y) };
        }
    }
    matvec_any(weight, x, bias, y);
}

/// [`matvec_f32`] for a small layer, inlined with the kernel, whose loops are then unrolled
/// with the layer's sizes: where the target has AVX2 and FMA built in (the feature check
/// folds away; one sample through 1 → 8 → 8 → 1 tanh 24.1 → 20.4 ns, 1 → 32 → 32 → 1
/// 64 → 55, 1 → 64 → 64 → 1 173 → 138), and in a pass `nn::isa::run_best` compiled for them
/// (see [`rows8::matvec_avx2_inline`]; as an `#[inline]` hint, this function stayed a call
/// there). A layer of fewer than four rows takes one row's vector dot product each (the
/// `W → 1` layer of those networks: 1 → 64 → 64 → 1 136.5 → 128.3 ns, 1 → 16 → 16 → 1
/// 34.9 → 31.9). Elsewhere as [`matvec_f32`], the kernels called.
#[inline(always)]
pub(crate) fn small_matvec_f32(weight: &[f32], x: &[f32], bias: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if (y.len() >= 4 && x.len() >= 4 || x.len() >= 8) && has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (detected above), the kernels' only
            // requirement.
            return unsafe {
                if x.len() >= 8 && (y.len() >= 8 || y.len() < 4) {
                    rows8::matvec_avx2_inline(weight, x, bias, y);
                } else {
                    rows8::matvec_four_inline(weight, x, bias, y);
                }
            };
        }
    }
    matvec_any(weight, x, bias, y);
}

/// [`matvec`] for any type: four rows per pass, compiled for the widest instructions the CPU
/// has.
pub(crate) fn matvec_any<T: Real>(weight: &[T], x: &[T], bias: &[T], y: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU supports AVX-512F (detected above), the only requirement.
            return unsafe { x86::matvec_avx512(weight, x, bias, y) };
        }
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (detected above), the only requirement.
            return unsafe { x86::matvec_avx2(weight, x, bias, y) };
        }
    }
    matvec_body::<T, false, 8>(weight, x, bias, y);
}

/// Out of line and with run-time sizes on purpose: with every size known, LLVM rearranges
/// the loops of a large layer into code 2.5 times slower. Four rows at a time share each
/// load of `x`, and their lanes are summed as a tree.
#[inline(always)]
fn matvec_body<T: Real, const FMA: bool, const L: usize>(weight: &[T], x: &[T], bias: &[T], y: &mut [T]) {
    const ROWS: usize = 4;
    let k = x.len();
    let (x_chunks, x_rest) = x.as_chunks::<L>();
    let mut o = 0;
    while o + ROWS <= y.len() {
        let rows: [&[T]; ROWS] = core::array::from_fn(|q| &weight[(o + q) * k..][..k]);
        let ((c0, _), (c1, _), (c2, _), (c3, _)) = (
            rows[0].as_chunks::<L>(),
            rows[1].as_chunks::<L>(),
            rows[2].as_chunks::<L>(),
            rows[3].as_chunks::<L>(),
        );
        let (mut a0, mut a1, mut a2, mut a3) =
            ([T::zero(); L], [T::zero(); L], [T::zero(); L], [T::zero(); L]);
        let steps = x_chunks.iter().zip(c0).zip(c1).zip(c2).zip(c3);
        for ((((xs, w0), w1), w2), w3) in steps {
            multiply_add_lanes::<T, FMA, L>(&mut a0, w0, xs);
            multiply_add_lanes::<T, FMA, L>(&mut a1, w1, xs);
            multiply_add_lanes::<T, FMA, L>(&mut a2, w2, xs);
            multiply_add_lanes::<T, FMA, L>(&mut a3, w3, xs);
        }
        let acc = [a0, a1, a2, a3];
        for (q, acc) in acc.iter().enumerate() {
            let tail = &rows[q][x_chunks.len() * L..];
            let sum =
                tail.iter().zip(x_rest).fold(sum_lanes(*acc), |s, (&w, &v)| multiply_add::<T, FMA>(w, v, s));
            y[o + q] = bias[o + q] + sum;
        }
        o += ROWS;
    }
    for o in o..y.len() {
        y[o] = bias[o] + dot::<T, FMA, L>(&weight[o * k..][..k], x);
    }
}

/// `Σ_l lanes[l]`, as a tree: halves added together, so it compiles to a few vector
/// additions and shuffles rather than `L` scalar additions in a chain.
#[inline(always)]
pub(crate) fn sum_lanes<T: Real, const L: usize>(mut lanes: [T; L]) -> T {
    let mut width = L;
    while width > 1 {
        width /= 2;
        let mut l = 0;
        while l < width {
            lanes[l] += lanes[l + width];
            l += 1;
        }
    }
    lanes[0]
}

/// `C[r·ldc + j] (+)= Σ_{t<k} A[r·a_row + t·a_depth]·Q[t·ldq + j]` for `r < m`, `j < n`;
/// adds to `C` when `accumulate`, else overwrites it.
///
/// # Panics
///
/// When a buffer is too short for its shape (an internal invariant of the layer kernels).
#[inline]
pub fn outer<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: &[T],
    (a_row, a_depth): (usize, usize),
    q: &[T],
    ldq: usize,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    outer_at(c, ldc, a, (a_row, a_depth), q, Stride(ldq), (m, n, k), accumulate);
}

/// [`outer`] with the rows of `Q` where `rows` says: `Q[t][j] = q[rows.start(t) + j]`.
///
/// # Panics
///
/// When a buffer is too short for its shape (an internal invariant of the layer kernels).
#[inline]
pub fn outer_at<T: Real, R: RowStarts>(
    c: &mut [T],
    ldc: usize,
    a: &[T],
    (a_row, a_depth): (usize, usize),
    q: &[T],
    rows: R,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= (m - 1) * ldc + n && q.len() >= rows.extent(k, n));
    assert!(k == 0 || a.len() > (m - 1) * a_row + (k - 1) * a_depth);
    let parts = threads();
    if parts > 1 && m * n * k >= PARALLEL_THRESHOLD {
        let work = |band: core::ops::Range<usize>, c: &mut [T]| {
            let shape = (band.len(), n, k);
            outer_one_thread(c, ldc, &a[band.start * a_row..], (a_row, a_depth), q, rows, shape, accumulate);
        };
        return split_rows(c, ldc, 0..m, parts, 8, &work);
    }
    outer_one_thread(c, ldc, a, (a_row, a_depth), q, rows, (m, n, k), accumulate);
}

fn outer_one_thread<T: Real, R: RowStarts>(
    c: &mut [T],
    ldc: usize,
    a: &[T],
    (a_row, a_depth): (usize, usize),
    q: &[T],
    ldq: R,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    if m == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU supports AVX-512F (detected above), the only requirement.
            return unsafe { x86::outer_avx512(c, ldc, a, (a_row, a_depth), q, ldq, (m, n, k), accumulate) };
        }
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (detected above), the only requirement.
            return unsafe { x86::outer_avx2(c, ldc, a, (a_row, a_depth), q, ldq, (m, n, k), accumulate) };
        }
    }
    outer_body::<T, _, false, 8, 4, 2>(c, ldc, a, (a_row, a_depth), q, ldq, (m, n, k), accumulate);
}

/// The same generic bodies, compiled with wider vectors and fused multiply-add.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Real, RowStarts, dot_rows_body, outer_body};

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_rows_avx2<T: Real, R: RowStarts>(
        c: &mut [T],
        ldc: usize,
        a: &[T],
        lda: usize,
        b: &[T],
        ldb: R,
        shape: (usize, usize, usize),
        batch: (usize, usize, usize),
        accumulate: bool,
    ) {
        dot_rows_body::<T, _, true, 8>(c, ldc, a, lda, b, ldb, shape, batch, accumulate);
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn dot_rows_avx512<T: Real, R: RowStarts>(
        c: &mut [T],
        ldc: usize,
        a: &[T],
        lda: usize,
        b: &[T],
        ldb: R,
        shape: (usize, usize, usize),
        batch: (usize, usize, usize),
        accumulate: bool,
    ) {
        dot_rows_body::<T, _, true, 16>(c, ldc, a, lda, b, ldb, shape, batch, accumulate);
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn matvec_avx2<T: Real>(weight: &[T], x: &[T], bias: &[T], y: &mut [T]) {
        super::matvec_body::<T, true, 8>(weight, x, bias, y);
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn matvec_avx512<T: Real>(weight: &[T], x: &[T], bias: &[T], y: &mut [T]) {
        super::matvec_body::<T, true, 16>(weight, x, bias, y);
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn outer_avx2<T: Real, R: RowStarts>(
        c: &mut [T],
        ldc: usize,
        a: &[T],
        a_strides: (usize, usize),
        q: &[T],
        ldq: R,
        shape: (usize, usize, usize),
        accumulate: bool,
    ) {
        outer_body::<T, _, true, 8, 4, 2>(c, ldc, a, a_strides, q, ldq, shape, accumulate);
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn outer_avx512<T: Real, R: RowStarts>(
        c: &mut [T],
        ldc: usize,
        a: &[T],
        a_strides: (usize, usize),
        q: &[T],
        ldq: R,
        shape: (usize, usize, usize),
        accumulate: bool,
    ) {
        // Four vectors (64 columns) per tile where C is that wide; two otherwise, so narrow
        // outputs still fill whole tiles (measured: 121–143 GFLOP/s on every shape of the
        // benchmark networks with 4×4 from 64 columns and 4×2 below).
        if shape.1 >= 64 {
            outer_body::<T, _, true, 16, 4, 4>(c, ldc, a, a_strides, q, ldq, shape, accumulate);
        } else {
            outer_body::<T, _, true, 16, 4, 2>(c, ldc, a, a_strides, q, ldq, shape, accumulate);
        }
    }
}

/// `x·y + acc`, fused where the target has FMA.
#[inline(always)]
fn multiply_add<T: Real, const FMA: bool>(x: T, y: T, acc: T) -> T {
    if FMA { x.fused_multiply_add(y, acc) } else { x * y + acc }
}

#[inline(always)]
fn store<T: Real>(target: &mut T, value: T, accumulate: bool) {
    *target = if accumulate { *target + value } else { value };
}

#[inline(always)]
fn dot_rows_body<T: Real, R: RowStarts, const FMA: bool, const L: usize>(
    c: &mut [T],
    ldc: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: R,
    (m, n, k): (usize, usize, usize),
    batch: (usize, usize, usize),
    accumulate: bool,
) {
    let mut j = 0;
    while j + DOT_COLS <= n {
        let mut r = 0;
        while r < m {
            // The last rows, fewer than four, go through a whole tile too, with the last row
            // repeated; only the rows not done yet are stored.
            let rows = core::array::from_fn(|p| (r + p).min(m - 1));
            let sums = if batch.0 == 1 {
                dot_tile_once::<T, R, FMA, L>((a, lda, rows), (b, ldb, j), k)
            } else {
                dot_tile::<T, R, FMA, L>((a, lda, rows), (b, ldb, j), k, batch)
            };
            for (index, &sum) in sums.iter().enumerate().take((m - r).min(DOT_ROWS) * DOT_COLS) {
                store(&mut c[(r + index / DOT_COLS) * ldc + j + index % DOT_COLS], sum, accumulate);
            }
            r += DOT_ROWS;
        }
        j += DOT_COLS;
    }
    let (samples, a_step, b_step) = batch;
    for j in j..n {
        for r in 0..m {
            let sum = (0..samples).fold(T::zero(), |sum, sample| {
                let (a, b) =
                    (&a[sample * a_step + r * lda..][..k], &b[sample * b_step + ldb.start(j)..][..k]);
                sum + dot::<T, FMA, L>(a, b)
            });
            store(&mut c[r * ldc + j], sum, accumulate);
        }
    }
}

/// [`dot_tile`] for one pair of operands: kept apart because LLVM compiles this shape 15%
/// faster (measured on a 64×128×784 forward pass) than the same loop inside the loop over
/// samples. A `4 × 4` tile of dot products of length `k`, in sixteen `L`-lane accumulators.
///
/// The accumulators are one flat array and the rows are bound once, outside the loop, so
/// LLVM keeps every accumulator in a vector register (a nested `[[[T; L]; 4]; 4]` indexed
/// through arrays of slices stays in memory and runs 30 times slower).
#[inline(always)]
fn dot_tile_once<T: Real, R: RowStarts, const FMA: bool, const L: usize>(
    (a, lda, rows): (&[T], usize, [usize; DOT_ROWS]),
    (b, ldb, j): (&[T], R, usize),
    k: usize,
) -> [T; DOT_ROWS * DOT_COLS] {
    // Every row sliced here to exactly `k` values, so LLVM sees eight equal lengths and
    // drops the bounds checks from the loop.
    let a: [&[T]; DOT_ROWS] = [
        &a[rows[0] * lda..][..k],
        &a[rows[1] * lda..][..k],
        &a[rows[2] * lda..][..k],
        &a[rows[3] * lda..][..k],
    ];
    let b: [&[T]; DOT_COLS] = [
        &b[ldb.start(j)..][..k],
        &b[ldb.start(j + 1)..][..k],
        &b[ldb.start(j + 2)..][..k],
        &b[ldb.start(j + 3)..][..k],
    ];
    let ((a0, _), (a1, _), (a2, _), (a3, _)) =
        (a[0].as_chunks::<L>(), a[1].as_chunks::<L>(), a[2].as_chunks::<L>(), a[3].as_chunks::<L>());
    let ((b0, _), (b1, _), (b2, _), (b3, _)) =
        (b[0].as_chunks::<L>(), b[1].as_chunks::<L>(), b[2].as_chunks::<L>(), b[3].as_chunks::<L>());
    let chunks = a0.len();
    let mut acc = [[T::zero(); L]; DOT_ROWS * DOT_COLS];
    for t in 0..chunks {
        let xs = [&a0[t], &a1[t], &a2[t], &a3[t]];
        let ys = [&b0[t], &b1[t], &b2[t], &b3[t]];
        // `while` over one flat index: LLVM unrolls it completely (nested `for` loops over
        // `iter_mut()` it does not, and the tile then runs three times slower).
        let mut index = 0;
        while index < DOT_ROWS * DOT_COLS {
            let (x, y) = (xs[index / DOT_COLS], ys[index % DOT_COLS]);
            multiply_add_lanes::<T, FMA, L>(&mut acc[index], x, y);
            index += 1;
        }
    }
    let mut sums = [T::zero(); DOT_ROWS * DOT_COLS];
    for (index, sum) in sums.iter_mut().enumerate() {
        let (x, y) = (a[index / DOT_COLS], b[index % DOT_COLS]);
        *sum = sum_lanes(acc[index]);
        for t in chunks * L..k {
            *sum = multiply_add::<T, FMA>(x[t], y[t], *sum);
        }
    }
    sums
}

/// A `4 × 4` tile of dot products of length `k`, in sixteen `L`-lane accumulators: rows
/// `rows` of `A` (repeated when fewer than four are left) against rows `j..j + 4` of `B`.
///
/// The accumulators are one flat array and the rows are bound once, outside the loop, so
/// LLVM keeps every accumulator in a vector register (a nested `[[[T; L]; 4]; 4]` indexed
/// through arrays of slices stays in memory and runs 30 times slower).
#[inline(always)]
fn dot_tile<T: Real, R: RowStarts, const FMA: bool, const L: usize>(
    (a, lda, rows): (&[T], usize, [usize; DOT_ROWS]),
    (b, ldb, j): (&[T], R, usize),
    k: usize,
    (samples, a_step, b_step): (usize, usize, usize),
) -> [T; DOT_ROWS * DOT_COLS] {
    let mut acc = [[T::zero(); L]; DOT_ROWS * DOT_COLS];
    let mut tails = [T::zero(); DOT_ROWS * DOT_COLS];
    for sample in 0..samples {
        let (a, b) = (&a[sample * a_step..], &b[sample * b_step..]);
        // Every row sliced here to exactly `k` values, so LLVM sees eight equal lengths and
        // drops the bounds checks from the loop.
        let a: [&[T]; DOT_ROWS] = [
            &a[rows[0] * lda..][..k],
            &a[rows[1] * lda..][..k],
            &a[rows[2] * lda..][..k],
            &a[rows[3] * lda..][..k],
        ];
        let b: [&[T]; DOT_COLS] = [
            &b[ldb.start(j)..][..k],
            &b[ldb.start(j + 1)..][..k],
            &b[ldb.start(j + 2)..][..k],
            &b[ldb.start(j + 3)..][..k],
        ];
        accumulate_tile::<T, FMA, L>(&mut acc, &mut tails, a, b);
    }
    let mut sums = tails;
    for (sum, lanes) in sums.iter_mut().zip(acc) {
        *sum += sum_lanes(lanes);
    }
    sums
}

/// Adds one pair of row sets' products to a tile's accumulators: `acc` by whole vectors,
/// `tails` for the last `k mod L` steps.
#[inline(always)]
fn accumulate_tile<T: Real, const FMA: bool, const L: usize>(
    acc: &mut [[T; L]; DOT_ROWS * DOT_COLS],
    tails: &mut [T; DOT_ROWS * DOT_COLS],
    a: [&[T]; DOT_ROWS],
    b: [&[T]; DOT_COLS],
) {
    let ((a0, _), (a1, _), (a2, _), (a3, _)) =
        (a[0].as_chunks::<L>(), a[1].as_chunks::<L>(), a[2].as_chunks::<L>(), a[3].as_chunks::<L>());
    let ((b0, _), (b1, _), (b2, _), (b3, _)) =
        (b[0].as_chunks::<L>(), b[1].as_chunks::<L>(), b[2].as_chunks::<L>(), b[3].as_chunks::<L>());
    let chunks = a0.len();
    for t in 0..chunks {
        let xs = [&a0[t], &a1[t], &a2[t], &a3[t]];
        let ys = [&b0[t], &b1[t], &b2[t], &b3[t]];
        // `while` over one flat index: LLVM unrolls it completely (nested `for` loops over
        // `iter_mut()` it does not, and the tile then runs three times slower).
        let mut index = 0;
        while index < DOT_ROWS * DOT_COLS {
            let (x, y) = (xs[index / DOT_COLS], ys[index % DOT_COLS]);
            multiply_add_lanes::<T, FMA, L>(&mut acc[index], x, y);
            index += 1;
        }
    }
    let (k, rest) = (a[0].len(), a[0].len() - chunks * L);
    if rest > 0 && k >= L {
        // The last `rest` steps as one more vector step over the last `L` values, with the
        // lanes already counted zeroed in `A`, so the sums stay in vector registers.
        let mut keep = [T::one(); L];
        keep[..L - rest].fill(T::zero());
        let mut xs = [[T::zero(); L]; DOT_ROWS];
        for (x, row) in xs.iter_mut().zip(a) {
            let last = &row[k - L..].as_chunks::<L>().0[0];
            let mut l = 0;
            while l < L {
                x[l] = last[l] * keep[l];
                l += 1;
            }
        }
        let ys: [&[T; L]; DOT_COLS] = [
            &b[0][k - L..].as_chunks::<L>().0[0],
            &b[1][k - L..].as_chunks::<L>().0[0],
            &b[2][k - L..].as_chunks::<L>().0[0],
            &b[3][k - L..].as_chunks::<L>().0[0],
        ];
        let mut index = 0;
        while index < DOT_ROWS * DOT_COLS {
            let (x, y) = (&xs[index / DOT_COLS], ys[index % DOT_COLS]);
            multiply_add_lanes::<T, FMA, L>(&mut acc[index], x, y);
            index += 1;
        }
        return;
    }
    for (index, tail) in tails.iter_mut().enumerate() {
        let (x, y) = (a[index / DOT_COLS], b[index % DOT_COLS]);
        for t in chunks * L..k {
            *tail = multiply_add::<T, FMA>(x[t], y[t], *tail);
        }
    }
}

/// One dot product with `L` independent lanes.
#[inline(always)]
fn dot<T: Real, const FMA: bool, const L: usize>(a: &[T], b: &[T]) -> T {
    let ((a_chunks, a_rest), (b_chunks, b_rest)) = (a.as_chunks::<L>(), b.as_chunks::<L>());
    let mut acc = [T::zero(); L];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        multiply_add_lanes::<T, FMA, L>(&mut acc, x, y);
    }
    let sum = sum_lanes(acc);
    a_rest.iter().zip(b_rest).fold(sum, |s, (&x, &y)| multiply_add::<T, FMA>(x, y, s))
}

#[inline(always)]
fn outer_body<T: Real, R: RowStarts, const FMA: bool, const L: usize, const MR: usize, const NV: usize>(
    c: &mut [T],
    ldc: usize,
    a: &[T],
    (a_row, a_depth): (usize, usize),
    q: &[T],
    ldq: R,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..][..n].fill(T::zero());
            }
        }
        return;
    }
    // A block of Q (`depth_block` rows of a tile's `NV·L` columns) stays within half of L1.
    let depth_block = (OUTER_PANEL / (NV * L)).max(16);
    let mut depth = 0;
    while depth < k {
        let block = depth_block.min(k - depth);
        let add = accumulate || depth > 0;
        let job = OuterJob {
            a,
            a_strides: (a_row, a_depth),
            q,
            rows: ldq,
            shape: (m, n),
            depth: (depth, block),
            add,
        };
        // Tiles as wide as fit, then narrower ones for the columns left over, so every
        // column but the last three is computed in registers.
        let mut j = outer_columns::<T, R, FMA, L, MR, NV>(c, ldc, &job, 0);
        j = outer_columns::<T, R, FMA, L, MR, 1>(c, ldc, &job, j);
        if L > 8 {
            j = outer_columns::<T, R, FMA, 8, MR, 1>(c, ldc, &job, j);
        }
        j = outer_columns::<T, R, FMA, 4, MR, 1>(c, ldc, &job, j);
        if j < n {
            // The columns that do not fill a tile: one row of C at a time, streaming the
            // rows of Q, so the short inner loop stays contiguous and vectorises.
            let width = n - j;
            for r in 0..m {
                let row = &mut c[r * ldc + j..][..width];
                if !add {
                    row.fill(T::zero());
                }
                for t in depth..depth + block {
                    let s = a[r * a_row + t * a_depth];
                    for (target, &value) in row.iter_mut().zip(&q[ldq.start(t) + j..][..width]) {
                        *target = multiply_add::<T, FMA>(s, value, *target);
                    }
                }
            }
        }
        depth += block;
    }
}

/// The operands and extent of one depth block of an [`outer`] product.
struct OuterJob<'a, T, R> {
    a: &'a [T],
    a_strides: (usize, usize),
    q: &'a [T],
    rows: R,
    /// Rows and columns of `C`.
    shape: (usize, usize),
    /// The block's first step of depth and its length.
    depth: (usize, usize),
    /// Whether to add to `C` rather than overwrite it.
    add: bool,
}

/// Columns `j..` of `C` in tiles `NV·W` wide, while whole tiles fit: `MR` rows at a time,
/// the rows left over in tiles of 2 and 1. Returns the first column not done.
#[inline(always)]
fn outer_columns<T: Real, R: RowStarts, const FMA: bool, const W: usize, const MR: usize, const NV: usize>(
    c: &mut [T],
    ldc: usize,
    job: &OuterJob<'_, T, R>,
    mut j: usize,
) -> usize {
    let (m, n) = job.shape;
    while j + NV * W <= n {
        let mut r = 0;
        while r + MR <= m {
            outer_tile::<T, R, FMA, W, MR, NV>(c, ldc, job, (r, j));
            r += MR;
        }
        while r + 2 <= m {
            outer_tile::<T, R, FMA, W, 2, NV>(c, ldc, job, (r, j));
            r += 2;
        }
        if r < m {
            outer_tile::<T, R, FMA, W, 1, NV>(c, ldc, job, (r, j));
        }
        j += NV * W;
    }
    j
}

/// An `MR × NV·L` tile of `C` from `block` rank-one updates, in `MR·NV` vector
/// accumulators: per step, `NV` vector loads of `Q` and `MR` broadcasts of `A` feed `MR·NV`
/// fused multiply-adds. Loops run over flat indices with `while`, which LLVM unrolls
/// completely, so every accumulator stays in a register.
#[inline(always)]
fn outer_tile<T: Real, R: RowStarts, const FMA: bool, const L: usize, const MR: usize, const NV: usize>(
    c: &mut [T],
    ldc: usize,
    job: &OuterJob<'_, T, R>,
    (r0, j0): (usize, usize),
) {
    const CHUNK: usize = 16;
    let OuterJob {
        a, a_strides: (a_row, a_depth), q, rows: ldq, depth: (depth, block), add: accumulate, ..
    } = *job;
    let mut acc = [[[T::zero(); L]; NV]; MR];
    let mut t0 = depth;
    while t0 < depth + block {
        let steps = CHUNK.min(depth + block - t0);
        // A's values for this tile and these steps, packed contiguously: the broadcasts
        // below then read sequential memory with no bounds checks.
        let mut packed = [[T::zero(); MR]; CHUNK];
        for (dt, column) in packed.iter_mut().enumerate().take(steps) {
            for (p, value) in column.iter_mut().enumerate() {
                *value = a[(r0 + p) * a_row + (t0 + dt) * a_depth];
            }
        }
        for (dt, column) in packed.iter().enumerate().take(steps) {
            let (vectors, _) = q[ldq.start(t0 + dt) + j0..][..NV * L].as_chunks::<L>();
            packed::rank_one::<T, FMA, L, MR, NV>(&mut acc, column, &vectors.as_chunks::<NV>().0[0]);
        }
        t0 += steps;
    }
    for (p, acc) in acc.iter().enumerate() {
        let row = &mut c[(r0 + p) * ldc + j0..][..NV * L];
        for (target, &value) in row.iter_mut().zip(acc.as_flattened()) {
            store(target, value, accumulate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: usize) -> Vec<f64> {
        (0..len).map(|i| (((i * 7919 + seed * 104_729) % 201) as f64 - 100.0) / 37.0).collect()
    }

    /// The CPUID bit read for `PREFETCHW` is the one Linux reports as `3dnowprefetch`.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn prefetchw_is_detected_as_linux_reports_it() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("Linux has /proc/cpuinfo");
        let flags = cpuinfo.lines().find(|line| line.starts_with("flags")).expect("a flags line");
        let reported = flags.split_whitespace().any(|flag| flag == "3dnowprefetch");
        assert_eq!(has_prefetchw(), reported);
    }

    /// Two threads compute every element with the same code as one: bit-identical.
    #[test]
    #[allow(clippy::float_cmp)] // bit-identical is the claim
    fn two_threads_give_identical_results() {
        let _threads = ThreadsForTest::hold();
        let (m, n, k) = (96, 400, 240);
        let (a, b) = (values(m * k, 1), values(n * k, 2));
        let mut results = Vec::new();
        for threads in [1, 2] {
            set_threads(threads);
            let mut c = vec![0.0; m * n];
            dot_rows(&mut c, n, &a, k, &b, k, (m, n, k), false);
            let mut d = vec![0.0; m * n];
            outer(&mut d, n, &a, (k, 1), &b, n, (m, n, k), false);
            results.push((c, d));
        }
        assert!(m * n * k >= PARALLEL_THRESHOLD, "the split must actually happen");
        assert_eq!(results[0], results[1]);
    }

    /// `multiply` agrees with the triple loop for every layout a layer passes it, at sizes
    /// on each side of every threshold (so each kernel is taken), accumulating and
    /// overwriting.
    #[test]
    fn multiply_matches_the_definition_for_every_layout_and_size() {
        let shapes = [(5, 7, 3), (130, 40, 20), (64, 40, 200), (20, 10, 20), (16, 64, 2048), (40, 40, 40)];
        for (m, n, k) in shapes {
            let (a_values, b_values) = (values(m * k, 3), values(k * n, 4));
            // (A, B) as (rows or transposed) × (rows or transposed), plus a strided A.
            let layouts = [
                (Strided::rows(&a_values, k), Strided::rows(&b_values, n)),
                (Strided::rows(&a_values, k), Strided::transposed(&b_values, k)),
                (Strided::transposed(&a_values, m), Strided::rows(&b_values, n)),
                (Strided::transposed(&a_values, m), Strided::transposed(&b_values, k)),
            ];
            for (a, b) in layouts {
                for accumulate in [false, true] {
                    let mut c = values(m * n, 5);
                    let mut expected = c.clone();
                    for r in 0..m {
                        for j in 0..n {
                            let sum: f64 = (0..k)
                                .map(|t| a.data[r * a.row + t * a.col] * b.data[t * b.row + j * b.col])
                                .sum();
                            expected[r * n + j] = if accumulate { expected[r * n + j] + sum } else { sum };
                        }
                    }
                    multiply(&mut c, n, a, b, (m, n, k), accumulate);
                    for (got, want) in c.iter().zip(&expected) {
                        assert!(
                            (got - want).abs() <= 1e-11 * want.abs().max(1.0),
                            "{m}×{n}×{k}: {got} against {want}"
                        );
                    }
                }
            }
        }
    }

    /// Row counts around the four-row groups, depths around the vector width.
    #[test]
    fn matvec_matches_the_definition() {
        for rows in 1..=9 {
            for k in [1, 15, 16, 17, 64, 100] {
                let (weight, x, bias) = (values(rows * k, 1), values(k, 2), values(rows, 3));
                let mut y = vec![0.0; rows];
                matvec(&weight, &x, &bias, &mut y);
                for (o, &got) in y.iter().enumerate() {
                    let expected = bias[o] + (0..k).map(|i| weight[o * k + i] * x[i]).sum::<f64>();
                    assert!((got - expected).abs() < 1e-12 * (1.0 + expected.abs()), "{rows}x{k} row {o}");
                }
            }
        }
    }

    /// Shapes around every tile and block edge, against the plain triple loop.
    #[test]
    fn kernels_match_the_definition_on_every_edge() {
        for &(m, n, k) in
            &[(1, 1, 1), (3, 5, 7), (4, 4, 8), (9, 13, 33), (17, 40, 300), (8, 33, 600), (5, 64, 2)]
        {
            let (lda, ldb, ldc) = (k + 1, k + 2, n + 3);
            let (a, b) = (values(m * lda, 1), values(n * ldb, 2));
            let mut c = values(m * ldc, 3);
            let before = c.clone();
            dot_rows(&mut c, ldc, &a, lda, &b, ldb, (m, n, k), true);
            for r in 0..m {
                for j in 0..n {
                    let expected: f64 =
                        before[r * ldc + j] + (0..k).map(|t| a[r * lda + t] * b[j * ldb + t]).sum::<f64>();
                    assert!(
                        (c[r * ldc + j] - expected).abs() < 1e-10 * (1.0 + expected.abs()),
                        "dot {m}x{n}x{k}"
                    );
                }
            }

            let (a_row, a_depth) = (1, m + 2);
            let a = values(k * a_depth + m, 4);
            let ldq = n + 1;
            let q = values(k * ldq, 5);
            let mut c = values(m * ldc, 6);
            outer(&mut c, ldc, &a, (a_row, a_depth), &q, ldq, (m, n, k), false);
            for r in 0..m {
                for j in 0..n {
                    let expected: f64 = (0..k).map(|t| a[r * a_row + t * a_depth] * q[t * ldq + j]).sum();
                    assert!(
                        (c[r * ldc + j] - expected).abs() < 1e-10 * (1.0 + expected.abs()),
                        "outer {m}x{n}x{k}"
                    );
                }
            }
        }
    }
}
