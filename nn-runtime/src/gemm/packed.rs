//! The packed product: `C (+)= A·B` for operands read through any strides, in the layout
//! of BLIS and of every fast BLAS.
//!
//! A depth block of `B` (`KC` rows) is copied into panels of `NR = NV·L` columns, and a
//! block of `A` (`MC` rows) into panels of `MR` rows, each panel laid out step by step in
//! the order the micro-kernel reads it. The micro-kernel then holds an `MR × NR` tile of `C`
//! in `MR·NV` vector registers and, per step of depth, loads `NV` vectors of `B`, broadcasts
//! `MR` values of `A` and issues `MR·NV` fused multiply-adds: no other memory traffic until
//! the tile is added to `C`. The `B` panel stays in L1 while the `A` block streams from L2.
//!
//! Rows of `A` that are contiguous in depth (the inputs in the forward pass, `δ` in the
//! input gradient) are not packed: the micro-kernel reads its `MR` rows in place, which
//! costs nothing and saves a transpose. A `B` stored the other way round (the weights in
//! the forward pass) is transposed while packed, in 8 × 8 blocks. The buffers live in the
//! thread's scratch ([`Real::with_scratch`]), so a warm product allocates nothing.
//!
//! Measured on this project's machine (f32, one thread, AVX-512), against matrixmultiply
//! 0.3 in the same run: 207 against 191 GFLOP/s on a 256×512×784 forward pass, 217 against
//! 222 on a 512×784×64 weight gradient, 208 against 161 on a 64×512×512 input gradient.

// Without `std`, only `Strided` and `rank_one` (which `outer` shares) are used: the packed
// product needs its scratch buffers.
#![cfg_attr(not(feature = "std"), allow(dead_code))]

#[cfg(feature = "std")]
use super::ends::{FromBothEnds, LEAST_ROWS, each_thread_from_both_ends};
use super::lanes::broadcast_multiply_add_lanes;
use super::output::Output;
#[cfg(feature = "std")]
use super::{PARALLEL_THRESHOLD, split_rows};
use crate::Real;

/// A matrix read through strides: element `(r, t)` at `data[r·row + t·col]`.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a, T> {
    /// The values.
    pub data: &'a [T],
    /// Distance between consecutive rows.
    pub row: usize,
    /// Distance between consecutive columns.
    pub col: usize,
}

impl<'a, T> Strided<'a, T> {
    /// A row-major matrix whose rows are `stride` apart.
    #[must_use]
    pub fn rows(data: &'a [T], stride: usize) -> Self {
        Self { data, row: stride, col: 1 }
    }

    /// The transpose of a row-major matrix whose rows are `stride` apart.
    #[must_use]
    pub fn transposed(data: &'a [T], stride: usize) -> Self {
        Self { data, row: 1, col: stride }
    }
}

/// One product for the kernels: `C (+)= A·B` with `C` a band of columns of a row-major
/// matrix, and `(m, n, k)` the rows of `C`, its columns and the depth.
struct Job<'c, 'a, T> {
    c: Output<'c, T>,
    a: Strided<'a, T>,
    b: Operand<'a, T>,
    shape: (usize, usize, usize),
    accumulate: bool,
}

/// Where a product's `B` comes from.
#[derive(Clone, Copy)]
pub(super) enum Operand<'a, T> {
    /// A matrix read through strides, packed block by block as the product goes.
    Strided(Strided<'a, T>),
    /// Panels packed before the product, for the kernel they name.
    Packed(Panels<'a, T>),
}

/// `B` already in panels ([`super::prepacked`]): depth block by depth block (each as deep
/// as [`Kernel::depth`] gives), each holding every panel of `padded` columns, each panel
/// laid out as [`pack_b`] lays it out. A band of the columns starts `first_panel` panels in.
#[derive(Clone, Copy)]
pub(super) struct Panels<'a, T> {
    pub(super) values: &'a [T],
    pub(super) kernel: Kernel,
    pub(super) padded: usize,
    pub(super) first_panel: usize,
}

/// The micro-kernel a product runs, and so the layout of the `B` panels it reads: one
/// choice, [`Kernel::for_shape`], for a product and for panels packed before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kernel {
    /// 128-bit registers, no fused multiply-add: a 4 × 2-vector tile.
    Baseline,
    /// AVX2 and FMA: a 6 × 2-vector tile.
    Avx2,
    /// AVX-512, the tall 12 × 2-vector tile.
    Avx512Tall,
    /// AVX-512, the wide 6 × 4-vector tile.
    Avx512Wide,
}

#[cfg(feature = "std")]
impl Kernel {
    /// The kernel this CPU runs for a product `n` wide and `k` deep (see `product_avx512`
    /// for the two AVX-512 tiles).
    pub(super) fn for_shape<T>(n: usize, k: usize) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if super::has_avx512() {
                let tall_width = 2 * 64 / size_of::<T>();
                return if k < TALL_BELOW && n <= tall_width { Self::Avx512Tall } else { Self::Avx512Wide };
            }
            if super::has_avx2_fma() {
                return Self::Avx2;
            }
        }
        let _ = (n, k);
        Self::Baseline
    }

    /// Whether this is one of the AVX-512 kernels.
    pub(super) const fn is_avx512(self) -> bool {
        matches!(self, Self::Avx512Tall | Self::Avx512Wide)
    }

    /// Columns of `B` per panel: the tile's vectors times the values in a vector.
    pub(super) const fn panel_width<T>(self) -> usize {
        let (register_bytes, vectors) = match self {
            Self::Baseline => (16, 2),
            Self::Avx2 => (32, 2),
            Self::Avx512Tall => (64, 2),
            Self::Avx512Wide => (64, 4),
        };
        register_bytes / size_of::<T>() * vectors
    }

    /// The depth of every block of a product `k` deep with this kernel.
    pub(super) const fn depth<T>(self, k: usize) -> usize {
        panel_depth::<T>(self.panel_width::<T>(), k)
    }
}

#[cfg(feature = "std")]
impl<'c, T: Real> Job<'c, '_, T> {
    /// The product of the first `mid` columns and that of the rest, each into its band of
    /// `C`.
    fn split_at_column(self, mid: usize) -> (Self, Self) {
        let n = self.shape.1;
        // SAFETY: the two bands are disjoint, and `self`, moved here, writes nothing more.
        let (left, right) = unsafe { (self.c.band(0, mid), self.c.band(mid, n - mid)) };
        (self.columns(left, 0, mid), self.columns(right, mid, n - mid))
    }

    /// The product of columns `j0..j0 + cols` alone, into `c`, their band of `C`.
    fn columns(&self, c: Output<'c, T>, j0: usize, cols: usize) -> Self {
        let (m, _, k) = self.shape;
        let b = match self.b {
            Operand::Strided(b) => Operand::Strided(Strided { data: &b.data[j0 * b.col..], ..b }),
            Operand::Packed(panels) => {
                let width = panels.kernel.panel_width::<T>();
                assert!(j0.is_multiple_of(width), "a band of packed columns starts on a panel");
                Operand::Packed(Panels { first_panel: panels.first_panel + j0 / width, ..panels })
            }
        };
        Job { c, a: self.a, b, shape: (m, cols, k), accumulate: self.accumulate }
    }

    /// Where a band of the columns may start: on a 64-byte line of `C` (16 `f32`), and for
    /// packed panels on a panel.
    fn column_step(&self) -> usize {
        match self.b {
            Operand::Strided(_) => 16,
            Operand::Packed(panels) => panels.kernel.panel_width::<T>().max(16),
        }
    }
}

/// Depth of a packed block: a `B` panel of `KC · NR` values stays in L1 (at most; see
/// [`depth_block`]).
const KC: usize = 256;

/// The depth of a packed block for panels of `step_bytes` a step: [`KC`], or half of it
/// for the AVX-512 kernel's wide tile (64 `f32` or 32 `f64`, 256 bytes), whose panel of 256
/// steps (64 KiB) overflowed a 48 KiB L1. Measured on an Intel Xeon with 128 rather than
/// 256 (f32, one thread, each the best of seven runs, three times over): W3's training
/// forward product (784 → 128 at 64 samples) 101 → 95 µs, a 64 × 512 × 784 input gradient
/// 470 → 435, W4's 512 → 512 forward 236 → 225.
const fn depth_block(step_bytes: usize) -> usize {
    if step_bytes >= 256 { KC / 2 } else { KC }
}

/// The depth of every block of a product `k` deep, for blocks of about `block`: `k` cut
/// into the fewest equal blocks of at most `block + block / 4` (the last one shorter by the
/// remainder). A 784-deep product, the first layer of W3 and W4, takes three blocks of 262
/// steps rather than three of 256 and one of 16, whose pass over every tile of `C` (loaded,
/// added to for 16 steps, stored) cost more than its multiply-adds. Measured on the Zen 3
/// EPYC of `BENCHMARKS.md`, f32, the two alternated in one process (the median ratio of
/// 200–300 pairs), on one thread, two, and one in a native build: W4's 256 × 512 × 784
/// forward product 1.02×, 1.02× and 1.02× faster, the same product on column-major operands
/// 1.02×, 1.03×, 1.02×, the 64-sample forward products of W4 (64 × 512 × 784) and W3
/// (64 × 128 × 784) 1.00–1.02×; 512-deep and 64-deep products level (1.00×).
const fn balanced_depth(k: usize, block: usize) -> usize {
    let blocks = k.div_ceil(block + block / 4);
    if blocks <= 1 { k } else { k.div_ceil(blocks) }
}

/// The depth of every block of a product `k` deep whose `B` panels are `width` columns
/// wide: one rule for the product and for panels packed before it ([`Kernel::depth`]).
const fn panel_depth<T>(width: usize, k: usize) -> usize {
    balanced_depth(k, depth_block(width * size_of::<T>()))
}

/// Rows of `A` per packed block (a multiple of every `MR`): `MC · KC` values stay in L2.
const MC: usize = 96;
/// Columns of `B` per packed block.
const NC: usize = 4096;
/// Extra values in the scratch buffer, to start the panels on a 64-byte boundary.
const ALIGN: usize = 64;
/// The tallest tile of any kernel (rows of `A` per panel).
const MAX_MR: usize = 12;
/// Rows of the short kernel that an edge panel of this many rows or fewer takes (see
/// [`tile`]).
const SHORT_MR: usize = 4;
/// Depths below which the AVX-512 kernel takes its tall tile, for a product no wider than
/// the tile (see `product_avx512`).
const TALL_BELOW: usize = 128;
/// The widest tile of any kernel (columns of `B` per panel).
const MAX_NR: usize = 64;

/// `C[r·ldc + j] (+)= Σ_{t<k} A(r, t)·B(t, j)` for `r < m`, `j < n`; adds to `C` when
/// `accumulate`, else overwrites it.
///
/// # Panics
///
/// When a buffer is too short for its shape (an internal invariant of the layer kernels).
#[cfg(feature = "std")]
#[inline]
pub fn product<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    assert!(m == 0 || n == 0 || k == 0 || (b.data.len() > (k - 1) * b.row + (n - 1) * b.col));
    product_of(c, ldc, a, Operand::Strided(b), (m, n, k), accumulate);
}

/// [`product`] with `B` in panels packed before it, for the whole product's kernel.
///
/// # Panics
///
/// When a buffer is too short for its shape, or the panels are for another kernel than
/// this CPU's for the shape (an internal invariant of [`super::prepacked`]).
#[cfg(feature = "std")]
pub(super) fn product_packed<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: Strided<'_, T>,
    b: Panels<'_, T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    assert_eq!(b.kernel, Kernel::for_shape::<T>(n, k), "panels packed for another kernel");
    assert!(b.first_panel == 0 && b.padded >= n && b.values.len() >= k * b.padded);
    product_of(c, ldc, a, Operand::Packed(b), (m, n, k), accumulate);
}

/// [`product`] from either kind of `B`: split across threads or not, then [`one_thread`].
#[cfg(feature = "std")]
#[inline]
fn product_of<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: Strided<'_, T>,
    b: Operand<'_, T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= (m - 1) * ldc + n);
    assert!(k == 0 || (a.data.len() > (m - 1) * a.row + (k - 1) * a.col));
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..][..n].fill(T::zero());
            }
        }
        return;
    }
    let parts = super::threads();
    if parts > 1 && m * n * k >= PARALLEL_THRESHOLD {
        if a.col == 1 && n >= SPLIT_COLUMNS_FROM.max(m) && ldc >= n {
            return split_columns(
                Job { c: Output::new(c, ldc, n), a, b, shape: (m, n, k), accumulate },
                parts,
            );
        }
        if parts == 2 && takes_rows_from_both_ends(b, (m, n, k)) {
            return rows_from_both_ends(c, ldc, a, b, (m, n, k), accumulate);
        }
        let work = |rows: core::ops::Range<usize>, c: &mut [T]| {
            let a = Strided { data: &a.data[rows.start * a.row..], ..a };
            one_thread(Job { c: Output::new(c, ldc, n), a, b, shape: (rows.len(), n, k), accumulate });
        };
        // Otherwise (a large `B`, few rows, more threads) equal halves of the rows rather
        // than whole register tiles: the half with more tiles then has no more of them
        // than a split rounded to a tile gives it (⌈m/2/MR⌉ ≤ ⌈⌈m/MR⌉/2⌉), and a weight
        // gradient's rows split nearer to where the optimizer splits the parameters, so
        // each thread updates the rows it computed. (W3's 128 × 784 weight gradient went
        // 64 : 64 rather than 72 : 56 on 12-row tiles, and 25 KB of gradient no longer
        // crossed between the cores; the step on two threads 154.7–159.1 → 154.2–156.6 µs,
        // best five of eight alternated runs, and W4's 1324–1557 → 1318–1370.)
        return split_rows(c, ldc, 0..m, parts, 1, &work);
    }
    one_thread(Job { c: Output::new(c, ldc, n), a, b, shape: (m, n, k), accumulate });
}

/// Columns from which a split product whose `A` is read in place ([`APanel::Rows`]: a
/// forward pass, an input gradient) and which has no more rows than columns gives each
/// thread half of the columns rather than half of the rows.
///
/// Split by rows, each thread reads half of `A` and packs all of `B`; by columns, all of `A`
/// and half of `B`: per thread `m·k/2 + n·k` values against `m·k + n·k/2`, fewer by columns
/// when `m < n` (training's batch of 64 against a layer's 128 or 512 outputs). Measured, f32,
/// one thread on each half (µs, half of the rows against half of the columns): a
/// 64×512×784 forward pass 362–377 against 281–300 (the whole: 571–600), 64×128×784 77–81
/// against 61–67, 64×512×512 244–251 against 180–188, a 64×512×512 input gradient 144–226
/// against 122–184. On two threads, rows and columns alternated in one process (the median
/// ratio of 300 pairs of three products): columns 1.23× faster on the 64×512×784 forward
/// pass, 1.30× on 64×512×512, 1.33× on the 64×512×512 input gradient, 1.07× on 256×512×784
/// (an unchanged weight gradient in the same run: 1.02×); but 256×128×784, more rows than
/// columns, gained only 1.05×, and W3's inference on it measured 0.96–1.05× the rows'
/// time, so it keeps the rows. With `A` packed (a weight gradient) the two were level, and
/// the rows stay split, so that each thread updates the weights whose gradient it computed.
const SPLIT_COLUMNS_FROM: usize = 128;

/// [`one_thread`] on `parts` bands of the columns of `c`, at once: for two, chunks taken
/// from both ends ([`from_both_ends`]); for more (rayon's pool), fixed halves, each split
/// again.
#[cfg(feature = "std")]
fn split_columns<T: Real>(job: Job<'_, '_, T>, parts: usize) {
    let n = job.shape.1;
    if parts <= 1 || n < SPLIT_COLUMNS_FROM {
        return one_thread(job);
    }
    if parts == 2 {
        return from_both_ends(job);
    }
    // The halves meet at a multiple of 16 values (a 64-byte line of `f32`; of a panel, for
    // packed panels), so that few lines of `C` are written by both threads; each element is
    // computed as on one thread.
    let step = job.column_step();
    let (left, right) = job.split_at_column((n / 2).next_multiple_of(step).min(n));
    let (left_parts, right_parts) = (parts / 2, parts - parts / 2);
    super::join(parts, move || split_columns(left, left_parts), move || split_columns(right, right_parts));
}

/// The least number of columns a thread takes at a time in [`from_both_ends`] (or one
/// panel, if wider): two panels of the AVX2 tile.
const LEAST_COLUMNS: usize = 32;

/// [`one_thread`] on pieces of the columns of `c` on two threads, taken from both ends
/// ([`super::ends`]): the caller from the left, the helper from the right, until they meet.
///
/// When both CPUs run at one speed, each computes about half, the same columns every time
/// (whose weights it then keeps in its cache, as a split into fixed halves does). When one
/// runs slower for a while (another guest on its core), the other takes more pieces, where
/// fixed halves waited for it. Two threads, fixed halves and eight equal pieces from both
/// ends alternated in one process (the median ratio of 300 pairs of blocks, three runs):
/// W4's inference on 256 samples 1.17–1.25× faster, its training step 1.00–1.18×, W3's
/// training step 1.04–1.07×. Handing pieces out from the left to both threads, as they
/// came, measured 0.95× on W3's forward product and 0.91–1.08× on a 64×512×512 one: the
/// columns moved between the cores from call to call. Pieces narrowing towards the middle
/// against those eight equal ones (alternated in one process, the median ratio of 150
/// pairs, five runs): W4's inference 1.013–1.036× faster, its training step and W3's
/// level; equal pieces of 32 or 16 columns throughout were slower (0.99×, 0.98×), each
/// reading all of `A` again.
#[cfg(feature = "std")]
#[allow(clippy::needless_pass_by_value)] // `job` is moved here so that nothing else writes to `C`
fn from_both_ends<T: Real>(job: Job<'_, '_, T>) {
    let ends = FromBothEnds::new(job.shape.1, job.column_step(), LEAST_COLUMNS);
    let work = |from_left: bool| {
        while let Some(columns) = ends.take(from_left) {
            // SAFETY: `take` hands out each column once, so no two bands overlap, and `C` is
            // not written through otherwise while they live.
            let band = unsafe { job.c.band(columns.start, columns.len()) };
            one_thread(job.columns(band, columns.start, columns.len()));
        }
    };
    super::join(2, || work(true), || work(false));
}

/// Values of a strided `B` up to which each of two threads packs all of it and then takes
/// pieces of rows from both ends ([`rows_from_both_ends`]): 256 KiB of `f32`, half of the
/// Zen 3 EPYC's L2, room for W3's and W4's `B`s of 64 × 784 (a training forward's `xᵀ`, a
/// weight gradient's `x`: 50k values). A larger `B` keeps the halves, packed block by
/// block.
const WHOLE_B: usize = 1 << 16;

/// Rows from which a product one depth block deep (a weight gradient) takes pieces of rows
/// from both ends ([`rows_from_both_ends`]). The optimizer then updates the weights in
/// fixed halves, each thread those of its half of the rows, and the rows between the middle
/// and where the pieces met move from one core's cache to the other's: a piece or so, much
/// of W3's 128 rows. On the Zen 3 EPYC, alternated in one process against fixed halves for
/// these (two runs, a quiet stretch): W3's training step on two threads 0.954–0.957× with
/// pieces from 128 rows, 1.011–1.013× from 256; W4's (512 rows) 1.019–1.023× faster either
/// way.
const ONE_BLOCK_PIECES_FROM: usize = 256;

/// Whether two threads split a product `m × n`, `k` deep, by rows into pieces from both
/// ends ([`rows_from_both_ends`]), each reading one set of `B` panels for every piece: the
/// panels packed before the product, or, where the kernel is AVX2's, a strided `B` of at
/// most [`WHOLE_B`] values, which each packs whole (from [`ONE_BLOCK_PIECES_FROM`] rows if
/// one depth block deep).
///
/// With AVX-512 a strided `B` keeps the halves. On the Zen 4 EPYC of `BENCHMARKS.md`
/// (AVX-512, L2 1 MiB a core), halves against pieces, alternated in one process (the median
/// ratio of 120 pairs, three runs): training forwards `zᵀ = W·xᵀ` on two threads
/// 128 × 64 × 784 1.04–1.09× faster, 512 × 64 × 784 1.03×, 512 × 64 × 512 1.02–1.04×; W3's
/// training step 1.03–1.05× (seven runs), W4's and the digits network's level (0.999×,
/// 0.998×). The products alone measured so with the AVX2 kernel on that machine too, so the
/// kernel stands for the machine here: the Zen 3 EPYC (AVX2 only, L2 512 KiB) had the
/// pieces faster ([`rows_from_both_ends`]).
#[cfg(feature = "std")]
fn takes_rows_from_both_ends<T: Real>(b: Operand<'_, T>, (m, n, k): (usize, usize, usize)) -> bool {
    m >= 2 * LEAST_ROWS
        && match b {
            Operand::Packed(_) => true,
            Operand::Strided(_) => {
                let kernel = Kernel::for_shape::<T>(n, k);
                let deep = kernel.depth::<T>(k) < k;
                !kernel.is_avx512()
                    && k * n.next_multiple_of(MAX_NR) <= WHOLE_B
                    && (deep || m >= ONE_BLOCK_PIECES_FROM)
            }
        }
}

/// [`one_thread`] on pieces of the rows of `C` on two threads, taken from both ends
/// ([`super::ends`]), each thread reading one set of `B` panels for all of its pieces: the
/// panels packed before the product (batched inference), or all of a strided `B`, which
/// each thread packs before its first piece (as each packs all of it, block by block, in
/// the split into halves, which AVX-512 keeps: [`takes_rows_from_both_ends`]) and which
/// stays in its cache.
///
/// On the Zen 3 EPYC of `BENCHMARKS.md`, fixed halves waited for the slower thread: the
/// caller waited for the helper's half in 6–22% of W3's training step on two threads and
/// 3–10% of W4's (timed in a scratch copy; either half was the slower one, from run to
/// run). Alternated in one process against those halves (f32, two threads, the median ratio
/// of 150 pairs), two runs: the training forward's `zᵀ = W·xᵀ` of W3 (128 × 64 × 784) 1.05×
/// and 1.12× faster, of W4 (512 × 64 × 784) 1.12× and 1.08×; the weight gradients
/// 128 × 784 × 64 1.00× and 1.13×, 512 × 784 × 64 1.04× and 1.10×, 512 × 512 × 64 1.17× and
/// 1.11×. Training steps with every such product in pieces, 11–16 runs each: W3's
/// 0.92–1.06× (median 1.03×), W4's 0.98–1.08× (1.035×), the digits network's 0.99–1.03×
/// (1.02×), the gains in slow stretches and the losses in quiet ones, W3's from its weight
/// gradient (hence [`ONE_BLOCK_PIECES_FROM`]). With that rule, in a quiet stretch (two
/// runs): W3's step 1.008–1.019×, W4's 1.015–1.026×, the digits network's level
/// (0.998–1.002×). Larger first pieces (3/8 and 7/16 of the rows, the rest as here) did no
/// better. Pieces of one `B` packed once by the caller for both threads measured
/// 0.79–0.99×: its packing ran alone, and the helper read the panels from the caller's
/// cache.
#[cfg(feature = "std")]
fn rows_from_both_ends<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: Strided<'_, T>,
    b: Operand<'_, T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    let kernel = match b {
        Operand::Strided(_) => Kernel::for_shape::<T>(n, k),
        Operand::Packed(panels) => panels.kernel,
    };
    let whole_b = match b {
        Operand::Strided(_) => k * n.next_multiple_of(kernel.panel_width::<T>()) + ALIGN,
        Operand::Packed(_) => 0,
    };
    each_thread_from_both_ends(c, ldc, m, (MAX_MR, LEAST_ROWS), &|mut pieces| {
        let Some(first) = pieces.next() else { return };
        T::with_scratch(whole_b + scratch_len((m, n, k)), |scratch| {
            let (b_scratch, scratch) = scratch.split_at_mut(whole_b);
            let b = Operand::Packed(whole_panels(b, b_scratch, (n, k), kernel));
            for (rows, piece) in core::iter::once(first).chain(pieces) {
                let a = Strided { data: &a.data[rows.start * a.row..], ..a };
                let job = Job { c: Output::new(piece, ldc, n), a, b, shape: (rows.len(), n, k), accumulate };
                on_kernel(job, kernel, scratch);
            }
        });
    });
}

/// `b`'s panels for `kernel`: those packed before the product, or all of a strided `B`
/// (`k × n`) packed into `scratch` (at least `k·n` rounded up to whole panels, plus
/// [`ALIGN`]).
#[cfg(feature = "std")]
fn whole_panels<'s, T: Real>(
    b: Operand<'s, T>,
    scratch: &'s mut [T],
    (n, k): (usize, usize),
    kernel: Kernel,
) -> Panels<'s, T> {
    match b {
        Operand::Packed(panels) => panels,
        Operand::Strided(strided) => {
            let padded = n.next_multiple_of(kernel.panel_width::<T>());
            let offset = scratch.as_ptr().align_offset(ALIGN).min(ALIGN);
            let values = &mut scratch[offset..][..k * padded];
            pack_panels(values, strided, (n, k), kernel);
            Panels { values, kernel, padded, first_panel: 0 }
        }
    }
}

/// The product of one thread, with the kernel for this CPU ([`Kernel::for_shape`]), or the
/// one its packed panels are for.
#[cfg(feature = "std")]
fn one_thread<T: Real>(job: Job<'_, '_, T>) {
    let kernel = match job.b {
        Operand::Strided(_) => Kernel::for_shape::<T>(job.shape.1, job.shape.2),
        Operand::Packed(panels) => panels.kernel,
    };
    T::with_scratch(scratch_len(job.shape), |scratch| on_kernel(job, kernel, scratch));
}

/// The product of one thread with `kernel` (this CPU's for the shape, or the one the packed
/// panels are for), its blocks packed in `scratch` (at least [`scratch_len`] values).
#[cfg(feature = "std")]
fn on_kernel<T: Real>(job: Job<'_, '_, T>, kernel: Kernel, scratch: &mut [T]) {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `for_shape` chose AVX-512 because the CPU supports AVX-512F, the only
        // requirement (packed panels name the kernel `for_shape` chose for them).
        Kernel::Avx512Tall | Kernel::Avx512Wide => unsafe {
            x86::product_avx512(job, scratch, kernel == Kernel::Avx512Tall);
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, for AVX2 and FMA.
        Kernel::Avx2 => unsafe { x86::product_avx2(job, scratch) },
        _ => product_baseline(job, scratch),
    }
}

/// Values of scratch that [`body`] needs for a product of this shape, with any kernel:
/// a `B` block padded to whole panels, an `A` block padded to whole panels, and room to
/// align both.
fn scratch_len((m, n, k): (usize, usize, usize)) -> usize {
    let depth = (KC + KC / 4).min(k);
    depth * (NC.min(n) + MAX_NR) + depth * (MC.min(m) + MAX_MR) + ALIGN
}

/// Sixteen 128-bit registers: a 4 × 2-vector tile.
fn product_baseline<T: Real>(job: Job<'_, '_, T>, scratch: &mut [T]) {
    if size_of::<T>() == 4 {
        body::<T, false, 4, 4, 2>(job, scratch);
    } else {
        body::<T, false, 2, 4, 2>(job, scratch);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Job, Real, body};

    /// Thirty-two 512-bit registers: 24 accumulators. A tall 12 × 2-vector tile for short,
    /// narrow products (under [`super::TALL_BELOW`] deep and no wider than the tile: one
    /// tile covers every column; `tall`, as [`super::Kernel::for_shape`] chooses), a wide
    /// 6 × 4 one otherwise.
    ///
    /// Measured on this project's Ice Lake Xeon, f32, one thread, tall against wide in
    /// turn in one process (the median ratio of 300 pairs): the wide tile faster on weight
    /// gradients, 1.05–1.10× on 512×784×64, 1.05–1.08× on 128×784×64 and 1.06–1.09× on
    /// 512×512×64, and on short forward passes of 64 or more columns (1.23–1.27× on
    /// 32×128×64, 256×128×64 and 64×64×64); the tall one on 32 columns, where half of each
    /// wide tile is padding (2.2× on 32×32×64, 1.6× on 256×32×64). (The earlier Xeon and the
    /// EPYC had the tall tile ahead on the 512×784×64 weight gradient, 200 against 190
    /// GFLOP/s, and took it for every short product.)
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn product_avx512<T: Real>(job: Job<'_, '_, T>, scratch: &mut [T], tall: bool) {
        match (size_of::<T>() == 4, tall) {
            (true, true) => body::<T, true, 16, 12, 2>(job, scratch),
            (true, false) => body::<T, true, 16, 6, 4>(job, scratch),
            (false, true) => body::<T, true, 8, 12, 2>(job, scratch),
            (false, false) => body::<T, true, 8, 6, 4>(job, scratch),
        }
    }

    /// Sixteen 256-bit registers: a 6 × 2-vector tile (12 accumulators).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn product_avx2<T: Real>(job: Job<'_, '_, T>, scratch: &mut [T]) {
        if size_of::<T>() == 4 {
            body::<T, true, 8, 6, 2>(job, scratch);
        } else {
            body::<T, true, 4, 6, 2>(job, scratch);
        }
    }
}

/// The blocked loops around the micro-kernel: depth blocks of [`depth_block`], row blocks
/// of `MC`, then every `B` panel against every `A` panel of the block.
#[inline(always)]
fn body<T: Real, const FMA: bool, const L: usize, const MR: usize, const NV: usize>(
    Job { mut c, a, b, shape: (m, n, k), accumulate }: Job<'_, '_, T>,
    scratch: &mut [T],
) {
    let nr = NV * L;
    let depth_block = panel_depth::<T>(nr, k);
    let b_len = match b {
        Operand::Strided(_) => depth_block.min(k) * NC.min(n).next_multiple_of(nr),
        Operand::Packed(_) => 0,
    };
    let offset = scratch.as_ptr().align_offset(ALIGN).min(ALIGN);
    let (packed_b, packed_a) = scratch[offset..].split_at_mut(b_len);
    // One depth block, overwriting: each tile of `C` is written once, to lines not touched
    // since the last product (see `prefetch_tile`). A product that adds follows its
    // caller's writes to `C` (a bias, zeros, the sum so far), which left them in cache.
    let cold_c = k <= depth_block && !accumulate;
    let mut jc = 0;
    while jc < n {
        let nc = NC.min(n - jc);
        let mut pc = 0;
        while pc < k {
            let kc = depth_block.min(k - pc);
            let add = accumulate || pc > 0;
            let panels: &[T] = match b {
                Operand::Strided(b) => {
                    pack_b::<T, L, NV>(packed_b, b, (pc, kc), (jc, nc));
                    packed_b
                }
                // A packed block holds every panel: this band's start `jc / nr` panels on.
                Operand::Packed(b) => &b.values[pc * b.padded + (b.first_panel + jc / nr) * kc * nr..],
            };
            let mut ic = 0;
            while ic < m {
                let mc = MC.min(m - ic);
                let direct = a.col == 1;
                if !direct {
                    pack_a::<T, MR>(packed_a, a, (ic, mc), (pc, kc));
                }
                for jq in 0..nc.div_ceil(nr) {
                    let b_panel = &panels[jq * kc * nr..][..kc * nr];
                    let j0 = jc + jq * nr;
                    let cols = (jc + nc - j0).min(nr);
                    for iq in 0..mc.div_ceil(MR) {
                        let i0 = ic + iq * MR;
                        let rows = (ic + mc - i0).min(MR);
                        let a_panel = if direct {
                            APanel::Rows(a, (i0, rows), (pc, kc))
                        } else {
                            APanel::Packed(&packed_a[iq * kc * MR..][..kc * MR])
                        };
                        let c_tile = ((i0, j0), (rows, cols));
                        if cold_c {
                            prefetch_tile(&mut c, c_tile);
                        }
                        fitted_tile::<T, FMA, L, MR, NV>(a_panel, b_panel, &mut c, c_tile, add);
                    }
                }
                ic += mc;
            }
            pc += kc;
        }
        jc += nc;
    }
}

/// Asks for the lines of a tile of `C`, for writing, before the micro-kernel computes it:
/// they arrive while it runs (`MR·NV` fused multiply-adds a step of depth, a few hundred
/// cycles a tile) rather than stalling its stores. Only for products one depth block deep
/// that overwrite `C`, whose tiles are written once, to lines not touched since the last
/// product (a weight gradient: depth = batch, `C` = every weight); a deeper product writes
/// each tile again at every depth block, from cache after the first.
///
/// Measured on this project's Ice Lake Xeon, f32, with and without in turn in one process
/// (the median ratio of 300–400 rounds): on one thread, weight gradients 1.02–1.04× faster
/// (512×784×64, 512×512×64, 128×784×64), W4's training step 1.025–1.028× (native build
/// 1.008–1.034×), W3's 1.001–1.011× (native 0.994–1.004×); on two threads both level
/// (0.990–1.000×). With the AVX2 kernel (AVX-512 turned off in a scratch copy): W4
/// 1.020–1.028×, W3 0.986–0.988× (the cause not found). Deeper products prefetching too
/// measured 0.979–0.995×.
///
/// The hint for writing is `PREFETCHW`, which asks for the line in the exclusive state, so
/// that the tile's stores need not ask again. `_mm_prefetch`'s `_MM_HINT_ET0` compiles to
/// it only for targets with the `prfchw` feature (unstable in Rust, so never in the default
/// build, where it was a plain `PREFETCHT0`), so it is issued directly where the CPU has it
/// ([`super::has_prefetchw`]). On the Zen 3 EPYC of `BENCHMARKS.md`, default build,
/// alternated in one process (two runs): training steps on two threads, W3's 1.06–1.07×
/// faster and W4's 1.05×, which the native build's steps had had; on one thread level
/// (1.00×).
#[inline(always)]
fn prefetch_tile<T>(c: &mut Output<'_, T>, ((i0, j0), (rows, cols)): ((usize, usize), (usize, usize))) {
    #[cfg(target_arch = "x86_64")]
    let for_writing = super::has_prefetchw();
    #[cfg(target_arch = "x86_64")]
    for r in i0..i0 + rows {
        let row = c.row(r, j0, cols).as_mut_ptr();
        for j in (0..cols).step_by(64 / size_of::<T>()) {
            // SAFETY: `j < cols`, so the address is inside the row just borrowed; a prefetch
            // reads and writes nothing in any case, and `PREFETCHW` is issued only where the
            // CPU has it.
            unsafe {
                let line = row.add(j);
                if for_writing {
                    core::arch::asm!("prefetchw [{line}]", line = in(reg) line, options(nostack, preserves_flags, readonly));
                } else {
                    core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                        line.cast::<i8>(),
                    );
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (c, i0, j0, rows, cols);
}

/// Packs rows `r0..r0+mc`, depths `t0..t0+kc` of `a` into panels of `MR` rows: panel `q`
/// holds `kc` steps of `MR` values, rows past the block being zero. (Rows contiguous in
/// depth are never packed: the micro-kernel reads them in place.)
#[inline(always)]
fn pack_a<T: Real, const MR: usize>(
    packed: &mut [T],
    a: Strided<'_, T>,
    (r0, mc): (usize, usize),
    (t0, kc): (usize, usize),
) {
    for q in 0..mc.div_ceil(MR) {
        let (steps, _) = packed[q * kc * MR..][..kc * MR].as_chunks_mut::<MR>();
        let (first, rows) = (r0 + q * MR, (mc - q * MR).min(MR));
        if a.row == 1 && rows == MR {
            // A whole panel: copies of a length the compiler knows, inlined (of `rows`
            // values, each was a call to `memcpy`).
            for (t, step) in steps.iter_mut().enumerate() {
                step.copy_from_slice(&a.data[first + (t0 + t) * a.col..][..MR]);
            }
        } else if a.row == 1 {
            for (t, step) in steps.iter_mut().enumerate() {
                step[..rows].copy_from_slice(&a.data[first + (t0 + t) * a.col..][..rows]);
                step[rows..].fill(T::zero());
            }
        } else {
            for (t, step) in steps.iter_mut().enumerate() {
                for (p, value) in step.iter_mut().enumerate() {
                    *value =
                        if p < rows { a.data[(first + p) * a.row + (t0 + t) * a.col] } else { T::zero() };
                }
            }
        }
    }
}

/// Packs depths `t0..t0+kc`, columns `j0..j0+nc` of `b` into panels of `NV·L` columns:
/// panel `q` holds `kc` steps of `NV` vectors, columns past the block being zero.
#[inline(always)]
fn pack_b<T: Real, const L: usize, const NV: usize>(
    packed: &mut [T],
    b: Strided<'_, T>,
    (t0, kc): (usize, usize),
    (j0, nc): (usize, usize),
) {
    let nr = NV * L;
    for q in 0..nc.div_ceil(nr) {
        let (vectors, _) = packed[q * kc * nr..][..kc * nr].as_chunks_mut::<L>();
        let (steps, _) = vectors.as_chunks_mut::<NV>();
        let (first, cols) = (j0 + q * nr, (nc - q * nr).min(nr));
        if b.col == 1 && cols == nr {
            // A whole panel, as in `pack_a`: W4's training step spent 4% of its time in
            // `memcpy` calls of 32 values here.
            for (t, step) in steps.iter_mut().enumerate() {
                step.as_flattened_mut().copy_from_slice(&b.data[(t0 + t) * b.row + first..][..NV * L]);
            }
        } else if b.col == 1 {
            for (t, step) in steps.iter_mut().enumerate() {
                let step = step.as_flattened_mut();
                step[..cols].copy_from_slice(&b.data[(t0 + t) * b.row + first..][..cols]);
                step[cols..].fill(T::zero());
            }
        } else if b.row == 1 {
            transpose_vectors(steps, &b.data[first * b.col + t0..], b.col, cols);
        } else {
            for (t, step) in steps.iter_mut().enumerate() {
                for (j, value) in step.as_flattened_mut().iter_mut().enumerate() {
                    *value =
                        if j < cols { b.data[(t0 + t) * b.row + (first + j) * b.col] } else { T::zero() };
                }
            }
        }
    }
}

/// Packs all of `b` (`k × n`) into the panels of `kernel`, depth block by depth block
/// ([`Kernel::depth`]), each block holding every panel of `n` columns rounded up to whole
/// panels: the layout [`Panels`] describes, which `body` reads instead of packing.
#[cfg(feature = "std")]
pub(super) fn pack_panels<T: Real>(
    packed: &mut [T],
    b: Strided<'_, T>,
    shape: (usize, usize),
    kernel: Kernel,
) {
    // (kernel, f32): the panels' vectors, of 4 or 2 values in 128 bits, 8 or 4 in 256, 16 or
    // 8 in 512.
    let pack = match (kernel, size_of::<T>() == 4) {
        (Kernel::Baseline, false) => pack_blocks::<T, 2, 2>,
        (Kernel::Baseline, true) | (Kernel::Avx2, false) => pack_blocks::<T, 4, 2>,
        (Kernel::Avx2, true) | (Kernel::Avx512Tall, false) => pack_blocks::<T, 8, 2>,
        (Kernel::Avx512Tall, true) => pack_blocks::<T, 16, 2>,
        (Kernel::Avx512Wide, false) => pack_blocks::<T, 8, 4>,
        (Kernel::Avx512Wide, true) => pack_blocks::<T, 16, 4>,
    };
    pack(packed, b, shape, kernel);
}

/// [`pack_panels`] for panels of `NV` vectors of `L` values.
#[cfg(feature = "std")]
fn pack_blocks<T: Real, const L: usize, const NV: usize>(
    packed: &mut [T],
    b: Strided<'_, T>,
    (n, k): (usize, usize),
    kernel: Kernel,
) {
    let width = NV * L;
    assert_eq!(width, kernel.panel_width::<T>(), "the kernel's panels are {NV} vectors of {L}");
    let (depth, padded) = (kernel.depth::<T>(k), n.next_multiple_of(width));
    let mut pc = 0;
    while pc < k {
        let kc = depth.min(k - pc);
        pack_b::<T, L, NV>(&mut packed[pc * padded..][..kc * padded], b, (pc, kc), (0, n));
        pc += kc;
    }
}

/// [`Real::transpose`] into steps made of `NV` vectors.
#[inline(always)]
fn transpose_vectors<T: Real, const L: usize, const NV: usize>(
    steps: &mut [[[T; L]; NV]],
    source: &[T],
    stride: usize,
    rows: usize,
) {
    // `[[T; L]; NV]` and `[T; NV·L]` have the same layout, but stable Rust cannot name the
    // second: go through the flat slice in steps of `NV·L`.
    let width = NV * L;
    let flat = steps.as_flattened_mut().as_flattened_mut();
    let depth = flat.len() / width;
    T::transpose(flat, width, source, stride, (rows, depth));
}

/// Where a tile's rows of `A` come from.
#[derive(Clone, Copy)]
enum APanel<'a, T> {
    /// Rows `(first, count)`, depths `(first, count)` of a matrix whose rows are contiguous
    /// in depth, read in place.
    Rows(Strided<'a, T>, (usize, usize), (usize, usize)),
    /// A panel packed by [`pack_a`].
    Packed(&'a [T]),
}

/// [`tile`] with the kernel that fits the tile: a shorter one (`SHORT_MR` rows) for the
/// last panel of a block when it has few rows, rather than the full one over rows of zeros,
/// and a narrower one (one vector) for the last panel of `B` when one vector holds its
/// columns, rather than the full one over columns of zeros. (Two threads split W3's 128-row
/// weight gradient 64 : 64: ten 6-row tiles and four rows each; the four rows then cost two
/// thirds of a tile rather than a whole one.)
///
/// A weight gradient 784 wide ends, with AVX-512's wide tile (64 columns), in a panel of
/// 16. On the Zen 4 EPYC of `BENCHMARKS.md`, the narrow kernel there against the full one,
/// alternated in one process (the median ratio of 120 pairs): 512 × 784 × 64 and
/// 128 × 784 × 64 1.05–1.06× faster, W3's training step 1.019–1.026× on one thread and
/// 1.021–1.030× on two, W4's 1.013–1.016× and 1.041×; products and networks without such an
/// edge level. Only for the tiles [`one_vector_form`] names.
#[inline(always)]
fn fitted_tile<T: Real, const FMA: bool, const L: usize, const MR: usize, const NV: usize>(
    a: APanel<'_, T>,
    b: &[T],
    c: &mut Output<'_, T>,
    c_tile: ((usize, usize), (usize, usize)),
    add: bool,
) {
    let (_, (rows, cols)) = c_tile;
    match (rows <= SHORT_MR && MR > SHORT_MR, cols <= L && NV > 1 && one_vector_form::<T>(L, NV)) {
        (true, true) => tile::<T, FMA, L, MR, SHORT_MR, NV, 1>(a, b, c, c_tile, add),
        (true, false) => tile::<T, FMA, L, MR, SHORT_MR, NV, NV>(a, b, c, c_tile, add),
        (false, true) => tile::<T, FMA, L, MR, MR, NV, 1>(a, b, c, c_tile, add),
        (false, false) => tile::<T, FMA, L, MR, MR, NV, NV>(a, b, c, c_tile, add),
    }
}

/// Whether a tile of `nv` vectors of `l` values may take the one-vector form for a last
/// panel that one vector holds ([`fitted_tile`]): every tile but AVX-512's tall one (two
/// 512-bit vectors), which only where AVX-512 is in the target.
///
/// In the default build the AVX-512 kernels are compiled for AVX-512 function by function,
/// each step a loop over plain arrays for LLVM to vectorise, and LLVM vectorised the tall
/// tile's one-vector form (twelve rows, one vector) across its rows: every step gathered
/// and scattered the twelve accumulators, lane by lane. On the Zen 4 EPYC of
/// `BENCHMARKS.md`, f32, one thread: a 128 × 16 × 64 product 144–152 µs, against 7.8 with
/// the full tile (the 32-wide product beside it: 6.1); a training step of 16 → 1024 → 10
/// on 64 samples, whose weight gradient is 1024 × 16 × 64, 1238 µs against 192, and of
/// 8 → 2048 → 1, 2420 against 291. Two threads split a 128 × 784 × 64 product, `A` read in
/// place, into pieces of columns whose last could be 16 wide, and ran it in 250–350 µs
/// against one thread's 150 (now 81). The wide tile's one-vector form (six rows) compiled
/// to one vector multiply-add an accumulator, and the AVX2 kernel has no scatter to go
/// astray with. With AVX-512 in the target each step is one `vfmadd` an accumulator
/// (`lanes.rs`), and the tall tile's form pays there (native build, the same steps 203 →
/// 182 µs and 279 → 239).
const fn one_vector_form<T>(l: usize, nv: usize) -> bool {
    let tall_avx512 = nv == 2 && l * size_of::<T>() == 64;
    !tall_avx512 || cfg!(all(target_arch = "x86_64", target_feature = "avx512f"))
}

/// Computes one tile of `C` and stores its `rows × cols` corner (see [`store_tile`]), with
/// a kernel of `USED ≤ MR` rows and `USED_VECTORS ≤ NV` vectors of each step of the `B`
/// panel ([`fitted_tile`] chooses them).
#[inline(always)]
fn tile<
    T: Real,
    const FMA: bool,
    const L: usize,
    const MR: usize,
    const USED: usize,
    const NV: usize,
    const USED_VECTORS: usize,
>(
    a: APanel<'_, T>,
    b: &[T],
    c: &mut Output<'_, T>,
    c_tile: ((usize, usize), (usize, usize)),
    add: bool,
) {
    let acc = match a {
        APanel::Rows(a, (i0, rows), (pc, kc)) => {
            // Rows contiguous in depth are read in place, USED streams at once: packing
            // them would be a transpose. Rows past the edge repeat the last one; their sums
            // are not stored.
            let a_rows = core::array::from_fn(|p| &a.data[(i0 + p.min(rows - 1)) * a.row + pc..][..kc]);
            tile_direct::<T, FMA, L, USED, NV, USED_VECTORS>(a_rows, b)
        }
        APanel::Packed(a) => tile_packed::<T, FMA, L, MR, USED, NV, USED_VECTORS>(a, b),
    };
    store_tile::<T, L, USED, USED_VECTORS>(&acc, c, c_tile, add);
}

/// `Σ_t A[t]·B[t]` over a packed `A` panel (`MR` values per step, of which the first
/// `USED`) and `B` panel (`NV` vectors per step, of which the first `USED_VECTORS`): one
/// `USED × USED_VECTORS·L` tile of `C`.
#[inline(always)]
fn tile_packed<
    T: Real,
    const FMA: bool,
    const L: usize,
    const MR: usize,
    const USED: usize,
    const NV: usize,
    const USED_VECTORS: usize,
>(
    a: &[T],
    b: &[T],
) -> [[[T; L]; USED_VECTORS]; USED] {
    let (a_steps, _) = a.as_chunks::<MR>();
    let (b_vectors, _) = b.as_chunks::<L>();
    let (b_steps, _) = b_vectors.as_chunks::<NV>();
    let mut acc = [[[T::zero(); L]; USED_VECTORS]; USED];
    for (x, y) in a_steps.iter().zip(b_steps) {
        let Some(x) = x.first_chunk::<USED>() else { unreachable!("USED ≤ MR") };
        let Some(y) = y.first_chunk::<USED_VECTORS>() else { unreachable!("USED_VECTORS ≤ NV") };
        tile_step::<T, FMA, L, USED, USED_VECTORS>(&mut acc, x, y);
    }
    acc
}

/// [`tile_packed`] with `A` read from `MR` rows in place, each as long as the depth.
#[inline(always)]
fn tile_direct<
    T: Real,
    const FMA: bool,
    const L: usize,
    const MR: usize,
    const NV: usize,
    const USED_VECTORS: usize,
>(
    a: [&[T]; MR],
    b: &[T],
) -> [[[T; L]; USED_VECTORS]; MR] {
    let (b_vectors, _) = b.as_chunks::<L>();
    let (b_steps, _) = b_vectors.as_chunks::<NV>();
    let mut acc = [[[T::zero(); L]; USED_VECTORS]; MR];
    for (t, y) in b_steps.iter().enumerate().take(a[0].len()) {
        let x: [T; MR] = core::array::from_fn(|p| a[p][t]);
        let Some(y) = y.first_chunk::<USED_VECTORS>() else { unreachable!("USED_VECTORS ≤ NV") };
        tile_step::<T, FMA, L, MR, USED_VECTORS>(&mut acc, &x, y);
    }
    acc
}

/// One step of a tile: [`rank_one`], or, for the wide tile without AVX-512 in the target
/// (the default build, whose kernels run on 16-lane arrays), the same fused multiply-adds
/// taken vector by vector. Each accumulator receives the same additions in the same order
/// either way; only the schedule differs.
///
/// Broadcasts outward, LLVM loaded the wide tile's third `B` vector in three pieces and
/// spilled its addresses; vectors outward, a step is six broadcasts, four loads and 24
/// fused multiply-adds. Default build, one thread, best of seven, old and new alternated:
/// W3's forward product 92 → 87 µs, W4's 784 → 512 forward 360 → 343–346, its 512 → 512
/// forward 222 → 212. The other cases keep [`rank_one`]: vectors outward, the tall tile's
/// loop was vectorised across its rows, gathering and scattering the accumulators
/// (W3's weight gradient 97 → 3396 µs), and with AVX-512 in the target the wide tile was
/// slower (W3's forward 88 → 101–107 µs).
#[inline(always)]
fn tile_step<T: Real, const FMA: bool, const L: usize, const MR: usize, const NV: usize>(
    acc: &mut [[[T; L]; NV]; MR],
    x: &[T; MR],
    y: &[[T; L]; NV],
) {
    if NV < 4 || cfg!(target_feature = "avx512f") {
        return rank_one::<T, FMA, L, MR, NV>(acc, x, y);
    }
    let mut v = 0;
    while v < NV {
        let mut p = 0;
        while p < MR {
            broadcast_multiply_add_lanes::<T, FMA, L>(&mut acc[p][v], x[p], &y[v]);
            p += 1;
        }
        v += 1;
    }
}

/// `acc[p][v] += x[p]·y[v]`: `MR` broadcasts, `NV` vectors, `MR·NV` fused multiply-adds.
/// `while` loops over indices, which LLVM unrolls completely, so every accumulator stays
/// in a register.
#[inline(always)]
pub(super) fn rank_one<T: Real, const FMA: bool, const L: usize, const MR: usize, const NV: usize>(
    acc: &mut [[[T; L]; NV]; MR],
    x: &[T; MR],
    y: &[[T; L]; NV],
) {
    let mut p = 0;
    while p < MR {
        let mut v = 0;
        while v < NV {
            broadcast_multiply_add_lanes::<T, FMA, L>(&mut acc[p][v], x[p], &y[v]);
            v += 1;
        }
        p += 1;
    }
}

/// Adds (or, when not `add`, writes) the `rows × cols` corner of a tile to `C` at
/// `(i0, j0)`: all of it but at the edges of `C`.
#[inline(always)]
fn store_tile<T: Real, const L: usize, const MR: usize, const NV: usize>(
    acc: &[[[T; L]; NV]; MR],
    c: &mut Output<'_, T>,
    ((i0, j0), (rows, cols)): ((usize, usize), (usize, usize)),
    add: bool,
) {
    if rows == MR && cols == NV * L {
        let mut p = 0;
        while p < MR {
            let (row, _) = c.row(i0 + p, j0, NV * L).as_chunks_mut::<L>();
            let mut v = 0;
            while v < NV {
                let mut l = 0;
                while l < L {
                    row[v][l] = if add { row[v][l] + acc[p][v][l] } else { acc[p][v][l] };
                    l += 1;
                }
                v += 1;
            }
            p += 1;
        }
    } else {
        for (p, acc) in acc.iter().enumerate().take(rows) {
            let row = c.row(i0 + p, j0, cols);
            for (target, &value) in row.iter_mut().zip(acc.as_flattened()) {
                *target = if add { *target + value } else { value };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<T: Real>(len: usize, seed: usize) -> Vec<T> {
        (0..len).map(|i| T::from_float((((i * 7919 + seed * 104_729) % 201) as f64 - 100.0) / 37.0)).collect()
    }

    /// Depth blocks: as few as blocks of at most 1.25 allow, none deeper (so the scratch,
    /// sized for 1.25 `KC`, holds each), and equal but for the last, shorter by less than
    /// one step per block.
    #[test]
    fn depth_blocks_are_balanced() {
        for block in [KC / 2, KC] {
            for k in 1..=4 * KC {
                let depth = balanced_depth(k, block);
                let blocks = k.div_ceil(depth);
                assert!(depth <= block + block / 4 && depth <= KC + KC / 4, "k {k}: {depth} deep");
                assert_eq!(blocks, k.div_ceil(block + block / 4), "k {k}: {blocks} blocks of {depth}");
                assert!(blocks * depth - k < blocks, "k {k}: {blocks} blocks of {depth} are not equal");
            }
        }
        assert_eq!(balanced_depth(784, KC), 262);
        assert_eq!(balanced_depth(512, KC), 256);
        assert_eq!(balanced_depth(300, KC), 300);
    }

    /// A product as the tests call it: `C`, its row stride, `A`, `B`, the shape and whether
    /// to add.
    type Product<T> = fn(&mut [T], usize, Strided<'_, T>, Strided<'_, T>, (usize, usize, usize), bool);

    /// A kernel's job: all of `c`, as wide as the product.
    fn job<'c, 'a, T>(
        c: &'c mut [T],
        ldc: usize,
        a: Strided<'a, T>,
        b: Strided<'a, T>,
        shape: (usize, usize, usize),
        accumulate: bool,
    ) -> Job<'c, 'a, T> {
        Job { c: Output::new(c, ldc, shape.1), a, b: Operand::Strided(b), shape, accumulate }
    }

    /// The dispatching entry point and every kernel it may choose that this CPU can run.
    fn kernels<T: Real>() -> Vec<(&'static str, Product<T>)> {
        let mut kernels: Vec<(&'static str, Product<T>)> = vec![
            ("dispatched", product),
            ("baseline", |c, ldc, a, b, shape, accumulate| {
                let job = job(c, ldc, a, b, shape, accumulate);
                let mut scratch = vec![T::zero(); scratch_len(job.shape)];
                product_baseline(job, &mut scratch);
            }),
        ];
        #[cfg(target_arch = "x86_64")]
        {
            if crate::gemm::has_avx2_fma() {
                kernels.push(("avx2", |c, ldc, a, b, shape, accumulate| {
                    let job = job(c, ldc, a, b, shape, accumulate);
                    let mut scratch = vec![T::zero(); scratch_len(job.shape)];
                    // SAFETY: the CPU supports AVX2 and FMA (detected above).
                    unsafe { x86::product_avx2(job, &mut scratch) }
                }));
            }
            if crate::gemm::has_avx512() {
                kernels.push(("avx512", |c, ldc, a, b, shape, accumulate| {
                    let job = job(c, ldc, a, b, shape, accumulate);
                    let mut scratch = vec![T::zero(); scratch_len(job.shape)];
                    let tall = Kernel::for_shape::<T>(shape.1, shape.2) == Kernel::Avx512Tall;
                    // SAFETY: the CPU supports AVX-512F (detected above).
                    unsafe { x86::product_avx512(job, &mut scratch, tall) }
                }));
            }
        }
        kernels
    }

    /// Every stride pattern the layers use (and a general one), on shapes around every
    /// tile, panel and block edge, against the plain triple loop, in `f64` and `f32`, with
    /// every kernel.
    fn matches_the_definition<T: Real>(tolerance: f64) {
        // Each tile shape's edges: one row left (13, 97), four (16 on the tall tile, 10 on
        // the wide one, both through the short kernel) and five (5, whole tiles' kernel).
        let shapes = [
            (1, 1, 1),
            (3, 5, 7),
            (6, 64, 8),
            (13, 33, 300),
            (97, 70, 257),
            (12, 129, 64),
            (5, 2, 600),
            (16, 20, 64),
            (10, 40, 130),
            (7, 50, 784),
        ];
        for &(m, n, k) in &shapes {
            // (row, col) strides of A (m × k) and of B (k × n), each with some padding.
            let layouts = [
                ((k + 1, 1), (n + 2, 1)),
                ((1, m + 3), (1, k + 1)),
                ((k, 1), (1, k)),
                ((2, 2 * m + 1), (3, 3 * k + 2)),
            ];
            for &((a_row, a_col), (b_row, b_col)) in &layouts {
                let a = values::<T>((m - 1) * a_row + (k - 1) * a_col + 1, 1);
                let b = values::<T>((k - 1) * b_row + (n - 1) * b_col + 1, 2);
                let ldc = n + 3;
                for (accumulate, (name, kernel)) in [false, true]
                    .into_iter()
                    .flat_map(|add| kernels::<T>().into_iter().map(move |k| (add, k)))
                {
                    let mut c = values::<T>(m * ldc, 3);
                    let before = c.clone();
                    let (a_view, b_view) = (
                        Strided { data: &a, row: a_row, col: a_col },
                        Strided { data: &b, row: b_row, col: b_col },
                    );
                    kernel(&mut c, ldc, a_view, b_view, (m, n, k), accumulate);
                    for r in 0..m {
                        for j in 0..n {
                            let start = if accumulate { before[r * ldc + j].to_f64() } else { 0.0 };
                            let expected = (0..k).fold(start, |s, t| {
                                s + a[r * a_row + t * a_col].to_f64() * b[t * b_row + j * b_col].to_f64()
                            });
                            let got = c[r * ldc + j].to_f64();
                            assert!(
                                (got - expected).abs() <= tolerance * (1.0 + expected.abs()),
                                "{name} {m}x{n}x{k} strides A {a_row},{a_col} B {b_row},{b_col}: {got} != {expected}"
                            );
                        }
                        // Padding between rows of C is untouched.
                        for j in n..ldc {
                            assert_eq!(
                                c[r * ldc + j].to_f64().to_bits(),
                                before[r * ldc + j].to_f64().to_bits()
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn matches_the_definition_in_f64() {
        matches_the_definition::<f64>(1e-12);
    }

    #[test]
    fn matches_the_definition_in_f32() {
        matches_the_definition::<f32>(1e-4);
    }

    /// Two and three threads compute every element with the same code as one: bit-identical,
    /// in both splits (the columns where `A` is read in place, in chunks from both ends on
    /// two threads and halves on three; the rows where it is packed or where there are more
    /// rows than columns: from both ends on two threads, each packing all of a small `B`,
    /// deep or one depth block deep, where the kernel is AVX2's; halves of a large one, of a
    /// few rows one block deep, with AVX-512, and on three), adding or not, and leaving the
    /// padding between rows of `C` alone. The rows from both ends are also run directly, so
    /// that they are tested whichever kernel the CPU runs.
    #[test]
    #[allow(clippy::float_cmp)] // bit-identical is the claim
    fn two_threads_give_identical_results() {
        let _threads = super::super::ThreadsForTest::hold();
        for (m, n, k) in [(100, 400, 240), (256, 200, 64), (130, 64, 784)] {
            two_threads_give_identical_results_on((m, n, k));
        }
    }

    #[allow(clippy::float_cmp)] // bit-identical is the claim
    fn two_threads_give_identical_results_on((m, n, k): (usize, usize, usize)) {
        let ldc = n + 5;
        let (a, b) = (values::<f32>(m * k, 1), values::<f32>(n * k, 2));
        assert!(m * n * k >= PARALLEL_THRESHOLD, "the split must actually happen");
        let layouts = [
            (Strided::rows(&a, k), Strided::transposed(&b, k)),
            (Strided::transposed(&a, m), Strided::rows(&b, n)),
        ];
        for (a_view, b_view) in layouts {
            for accumulate in [false, true] {
                let mut results = Vec::new();
                for threads in [1, 2, 3] {
                    super::super::set_threads(threads);
                    let mut c = values::<f32>(m * ldc, 3);
                    product(&mut c, ldc, a_view, b_view, (m, n, k), accumulate);
                    results.push(c);
                }
                super::super::set_threads(2);
                let mut c = values::<f32>(m * ldc, 3);
                rows_from_both_ends(&mut c, ldc, a_view, Operand::Strided(b_view), (m, n, k), accumulate);
                assert_eq!(results[0], results[1]);
                assert_eq!(results[0], results[2]);
                assert_eq!(results[0], c, "rows from both ends, {m}×{n}×{k}");
                let padding =
                    |c: &[f32]| (0..m).flat_map(|r| c[r * ldc + n..][..ldc - n].to_vec()).collect::<Vec<_>>();
                assert_eq!(padding(&results[1]), padding(&values::<f32>(m * ldc, 3)));
            }
        }
    }
}
