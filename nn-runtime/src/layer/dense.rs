//! Fully connected layer: `z = W·x + b`, `a = σ(z)`.
//!
//! `W` is `[OUT, IN]`, row-major (PyTorch's layout), `b` is `[OUT]`. With an elementwise
//! activation the code `network!` writes calls [`forward_train`] and [`backward`], which
//! fuse the activation into small layers' loops; with softmax or none, it composes
//! [`affine`], the activation's own pass and [`backward_linear`]. With `δ = ∂L/∂z` (the
//! seeds' error of the layer), backpropagation is
//!
//! ```text
//! δ      = ∂L/∂a ⊙ σ'(z)
//! ∂L/∂W  = δ · xᵀ          (summed over the batch)
//! ∂L/∂b  = Σ_batch δ
//! ∂L/∂x  = Wᵀ · δ
//! ```

use nalgebra::{Const, MatrixView, MatrixViewMut, SVector, SVectorView, SVectorViewMut};

use crate::Real;
#[cfg(feature = "std")]
use crate::activation;
use crate::activation::Activation;
use crate::gemm;
#[cfg(feature = "std")]
use crate::gemm::Strided;

/// Multiply-adds per batch above which a layer goes to the GEMM rather than the inlined
/// loops. Below it, packing costs more than it saves.
pub const GEMM_THRESHOLD: usize = 32 * 32 * 32;

/// Weights (`IN·OUT`) below which a one-sample forward is unrolled with its sizes known;
/// above, it runs the vectorised, run-time-sized [`gemm::matvec`].
pub const SMALL_LAYER: usize = 1024;

/// Weights up to which a one-sample layer on a type's blocked kernel takes it inlined
/// ([`Real::small_matvec`]): 64 × 64 (one sample through 1 → 64 → 64 → 1 tanh 173 → 138 ns
/// with AVX2 built in). W3's 784 → 128 ran no faster inlined (4.9 µs either way), and
/// unrolled it would be 12 544 vector multiply-adds of code.
const INLINED_MATVEC: usize = 64 * 64;

/// Multiply-adds of a batch through a layer's own loops (not the GEMM's, which choose their
/// instructions themselves) from which they run compiled for AVX2 and FMA where the CPU has
/// them ([`crate::isa::vectorised`]), for layers of [`VECTORISED_WEIGHTS`] or more. A
/// dispatched pass does not carry its features into these kernels: each is a function of
/// its own, too large for LLVM to inline, compiled for the baseline target. (Made
/// `#[inline(always)]` instead, W1's four-sample step lost its vectorised sigmoid: 98 →
/// 150 ns.) Measured, default build: RTNeural's 1 → 16 → 16 → 1 tanh shape's training step
/// at 32 samples 4.12 → 2.87 µs, its inference at 256 samples 22.7 → 22.1 µs; W2's and the
/// digits network's training steps and W2's inference level.
#[cfg(feature = "std")]
const VECTORISED_FROM: usize = 4096;

/// Weights from which a layer's loops may dispatch ([`VECTORISED_FROM`]): below, the check
/// compiles away, and W1's steps are the same instructions as without it (with it, 1097 →
/// 1152 per four-sample step).
#[cfg(feature = "std")]
const VECTORISED_WEIGHTS: usize = 64;

/// `work()`, compiled for AVX2 and FMA where the CPU has them when a batch of `batch`
/// samples through a layer of `weights` weights is large enough ([`VECTORISED_FROM`]).
#[cfg(feature = "std")]
#[inline(always)]
fn vectorised_when_large<R>(weights: usize, batch: usize, work: impl FnOnce() -> R) -> R {
    if weights >= VECTORISED_WEIGHTS && weights * batch >= VECTORISED_FROM {
        crate::isa::vectorised(work)
    } else {
        work()
    }
}

/// Input sizes below which a layer with few outputs stays on its own const-sized loops.
const SHORT_DEPTH: usize = gemm::SHORT_DEPTH;

/// Whether a `[OUT, IN]` layer on a batch of `batch` samples uses the GEMM ([`gemm::multiply`],
/// which picks its kernel) rather than its own const-sized loops, which fuse the activation.
/// A layer with few outputs and few inputs never does: its loops beat every GEMM kernel
/// (measured: 32→10 at 256 samples, 8.3 µs against 10 and 22, before the loops took the
/// blocked one-sample kernel and became faster still).
#[inline(always)]
#[must_use]
pub const fn uses_gemm(inputs: usize, outputs: usize, batch: usize) -> bool {
    let narrow_and_short = outputs < 16 && inputs < SHORT_DEPTH;
    batch > 1 && !narrow_and_short && inputs * outputs * batch >= GEMM_THRESHOLD
}

/// Whether the target has AVX-512 built in (`-C target-cpu=native` on such a CPU): there
/// LLVM vectorises [`backward_linear`]'s const-sized loops across the outputs, with gathers
/// and scatters, which ran W2's training step 2.1 times slower on this machine's AMD EPYC
/// (21.4 against 10.0 µs), so that pass takes the GEMM for every batch. (The other batch
/// loops measured as fast there as in the default build, and W1's steps slower on the
/// GEMM.)
#[cfg(feature = "std")]
const GATHERS_ACROSS_OUTPUTS: bool = cfg!(target_feature = "avx512f");

/// `b + Σᵢ xᵢ·yᵢ`, with independent accumulators so the loop vectorises and the sum does
/// not wait on each product in turn: eight from sixteen values, four from four. Below four,
/// one sum starting from `b`, as the GEMM path adds to the bias: from zero, `0 + p` is not
/// `p` when `p = −0`, so the addition of zero stayed in the code, one more latency in a
/// small layer's chain (W1's one-sample inference).
#[inline(always)]
fn dot<T: Real, const N: usize>(b: T, x: &[T; N], y: &[T; N]) -> T {
    if N < 4 {
        let mut sum = b;
        for i in 0..N {
            sum += x[i] * y[i];
        }
        sum
    } else if N < 16 {
        b + dot_in_lanes::<T, N, 4>(x, y)
    } else {
        b + dot_in_lanes::<T, N, 8>(x, y)
    }
}

/// [`dot`] in `L` accumulators (`N ≥ L`), summed as a tree, then the last `N mod L`
/// products. The accumulators start from the first `L` products, not from zero, whose
/// additions stayed in the code (`0 + p` is not `p` when `p = −0`), one more latency on a
/// small layer's chain: one sample through 1 → 4 → 4 → 1 tanh 1.02–1.05× faster in four
/// runs (default build, the old and new code alternated in one process, on the Ice Lake
/// Xeon of `BENCHMARKS.md`'s twenty-seventh pass), wider networks 0.98–1.07×.
#[inline(always)]
fn dot_in_lanes<T: Real, const N: usize, const L: usize>(a: &[T; N], b: &[T; N]) -> T {
    let (a_chunks, a_rest) = a.as_chunks::<L>();
    let (b_chunks, b_rest) = b.as_chunks::<L>();
    let mut lanes: [T; L] = core::array::from_fn(|l| a_chunks[0][l] * b_chunks[0][l]);
    for (x, y) in a_chunks.iter().zip(b_chunks).skip(1) {
        for l in 0..L {
            lanes[l] += x[l] * y[l];
        }
    }
    let mut sum = gemm::sum_lanes(lanes);
    for (x, y) in a_rest.iter().zip(b_rest) {
        sum += *x * *y;
    }
    sum
}

/// Views a row-major `[OUT, IN]` weight buffer as its rows.
#[inline(always)]
fn rows<T, const IN: usize, const OUT: usize>(weight: &[T]) -> &[[T; IN]] {
    &weight.as_chunks::<IN>().0[..OUT]
}

/// `a = σ(W·x + b)` for one sample, on the stack: the inference path.
///
/// One dot product per output over the rows of `W`, written as a plain loop into an array:
/// LLVM vectorises each dot product (building the vector with `SVector::from_fn` instead
/// runs 2.4 times slower).
#[inline(always)]
#[must_use]
pub fn forward_one<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    weight: &[T],
    bias: &[T],
    input: &SVector<T, IN>,
) -> SVector<T, OUT> {
    let mut output = [T::zero(); OUT];
    affine_one::<T, IN, OUT>(weight, bias, &input.data.0[0], &mut output);
    activate_one(activation, &mut output, INFERENCE_LANES_FROM);
    SVector::from(output)
}

/// `z = W·x + b` for one sample: the blocked [`gemm::matvec`] for a large layer, or, from
/// eight outputs and inputs on where the type has a blocked kernel (from four where it is
/// inlined, and for fewer outputs from sixteen inputs), the same kernel inlined up to
/// [`INLINED_MATVEC`] weights ([`Real::small_matvec`]); below, one dot product per output,
/// unrolled with the sizes known.
#[inline(always)]
fn affine_one<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    bias: &[T],
    x: &[T; IN],
    z: &mut [T; OUT],
) {
    match one_sample_affine::<T, IN, OUT>() {
        OneSampleAffine::Inlined => T::small_matvec(&weight[..IN * OUT], x, &bias[..OUT], z),
        OneSampleAffine::Called => gemm::matvec(&weight[..IN * OUT], x, &bias[..OUT], z),
        OneSampleAffine::Dots => {
            let rows = rows::<T, IN, OUT>(weight);
            for ((value, row), &b) in z.iter_mut().zip(rows).zip(&bias[..OUT]) {
                *value = dot(b, row, x);
            }
        }
    }
}

/// The kernel of [`affine_one`] for a `[OUT, IN]` layer.
enum OneSampleAffine {
    /// The type's blocked kernel, inlined ([`Real::small_matvec`]).
    Inlined,
    /// [`gemm::matvec`], called.
    Called,
    /// One [`dot`] per output.
    Dots,
}

/// Which kernel [`affine_one`] takes for a `[OUT, IN]` layer, as its documentation says.
const fn one_sample_affine<T: Real, const IN: usize, const OUT: usize>() -> OneSampleAffine {
    let blocked = T::BLOCKED_MATVEC && IN >= 8 && OUT >= 8;
    let inlined = T::SMALL_MATVEC_FROM_FOUR && (IN >= 4 && OUT >= 4 || IN >= 16);
    if (blocked || inlined) && IN * OUT <= INLINED_MATVEC {
        OneSampleAffine::Inlined
    } else if blocked || IN * OUT >= SMALL_LAYER {
        OneSampleAffine::Called
    } else {
        OneSampleAffine::Dots
    }
}

/// Outputs from which one sample's inference applies `σ` across them in vector lanes: from
/// two. Calls follow one another without waiting on each other's results, and one vector
/// `exp` for a layer's few values does less work than a call to the platform's `expf` for
/// each (W1's one-sample inference 15.2 → 12.5 ns, built native 15.0 → 11.6). One value
/// alone takes the platform's function.
const INFERENCE_LANES_FROM: usize = 2;

/// Outputs from which one sample's training forward applies `σ` in vector lanes: from four.
/// There the backward pass waits on the activations, and the platform's table-driven `expf`
/// returns sooner than the vector polynomial (W1's training step on one sample 51.5 ns
/// against 57.3 with lanes from two).
#[cfg(feature = "std")]
const TRAINING_LANES_FROM: usize = 4;

/// `v = σ(v)` for one sample's outputs, across them in vector lanes from `lanes_from` outputs
/// on ([`Activation::f_in_place`]: tanh and sigmoid, unrolled value by value, ran scalar);
/// below, value by value with [`Activation::f_alone`].
#[inline(always)]
fn activate_one<T: Real, A: Activation<T>, const OUT: usize>(
    activation: &A,
    values: &mut [T; OUT],
    lanes_from: usize,
) {
    if OUT < lanes_from {
        for value in values {
            *value = activation.f_alone(*value);
        }
    } else {
        activation.f_in_place(values);
    }
}

/// `a = σ(W·x_t + b)` for every step of one sequence `[T, IN]` (`SIN = T·IN`, `SOUT =
/// T·OUT`), on the stack: a dense layer after a recurrent one.
#[inline]
#[must_use]
pub fn forward_steps<
    T: Real,
    A: Activation<T>,
    const IN: usize,
    const OUT: usize,
    const SIN: usize,
    const SOUT: usize,
>(
    activation: &A,
    weight: &[T],
    bias: &[T],
    input: &SVector<T, SIN>,
) -> SVector<T, SOUT> {
    let mut output = SVector::<T, SOUT>::zeros();
    let steps = input.as_slice().chunks_exact(IN).zip(output.as_mut_slice().chunks_exact_mut(OUT));
    for (x, out) in steps {
        let x = SVector::<T, IN>::from_column_slice(x);
        out.copy_from_slice(forward_one::<T, A, IN, OUT>(activation, weight, bias, &x).as_slice());
    }
    output
}

/// Whether a layer of eight outputs to fewer than [`gemm::WIDE_OUTPUT`], whose product the
/// GEMM would take one dot product per output, runs one sample at a time on the type's
/// blocked kernel instead: for `f32` that measured faster at every depth (256 samples, → 10
/// outputs from 64 inputs 7.7 against 19.3 µs, from 784 76.7 against 111.9; → 15 from 512
/// 97.5 against 115.8), and W3's inference at 256 samples 424 → 412 µs. From 16 outputs
/// too (inference at 256 samples: 16 → 16 20.6 → 4.5 µs, 64 → 16 31.8 → 8.3, 64 → 24
/// 47.9 → 12.3, 512 → 16 145.7 → 65.0, 784 → 24 319.5 → 215.2; RTNeural's 1 → 16 → 16 → 1
/// tanh shape 22.5 → 6.3 µs, 25 ns a sample against 38 one at a time). Where the GEMM
/// would split the product across threads, the samples are split instead: W4's 512 → 10 at
/// 256 samples took 55 µs on one thread, 58 on two through the split GEMM, 28 so.
#[cfg(feature = "std")]
#[inline(always)]
const fn narrow_on_blocked<T: Real, const IN: usize, const OUT: usize>() -> bool {
    T::BLOCKED_MATVEC && OUT >= 8 && OUT < gemm::WIDE_OUTPUT && IN >= 8
}

/// `z = W·x + b` for a batch: `input` is `IN × batch`, `output` is `OUT × batch`.
#[cfg(feature = "std")]
#[inline]
pub fn affine<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    bias: &[T],
    input: &[T],
    output: &mut [T],
) {
    affine_by::<T, IN, OUT>(weight, bias, input, output, |z, x, shape| {
        gemm::multiply(z, OUT, x, Strided::transposed(weight, IN), shape, true);
    });
}

/// [`affine`] for batched inference: where the product packs the weights, their panels are
/// kept in `weights.prepacked` for the next batch and packed again only when the network's
/// parameters change ([`gemm::multiply_by_weights`]).
#[cfg(feature = "std")]
#[inline]
pub fn affine_prepacked<T: Real, const IN: usize, const OUT: usize>(
    weights: gemm::Weights<'_, T>,
    bias: &[T],
    input: &[T],
    output: &mut [T],
) {
    let weight = weights.values;
    affine_by::<T, IN, OUT>(weight, bias, input, output, |z, x, shape| {
        gemm::multiply_by_weights(z, OUT, x, weights, shape, true);
    });
}

/// [`affine`], with `multiply(z, x, (batch, OUT, IN))` adding `x·Wᵀ` to `z` (the bias)
/// where the layer takes the GEMM.
#[cfg(feature = "std")]
#[inline(always)]
fn affine_by<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    bias: &[T],
    input: &[T],
    output: &mut [T],
    multiply: impl FnOnce(&mut [T], Strided<'_, T>, (usize, usize, usize)),
) {
    let batch = input.len() / IN;
    let bias = &bias[..OUT];
    if uses_gemm(IN, OUT, batch) && !narrow_on_blocked::<T, IN, OUT>() {
        for column in output.chunks_exact_mut(OUT) {
            column.copy_from_slice(bias);
        }
        // z[n][o] += Σ_i x[n][i]·W[o][i]
        multiply(output, Strided::rows(input, IN), (batch, OUT, IN));
    } else {
        // One sample at a time, eight outputs per pass where the type has a blocked kernel:
        // W2's 32 → 10 at 256 samples, one dot product per output before, W2's inference
        // went 21.4 → 16.0 µs. Split across threads as the GEMM would split the product,
        // from as many weights as dispatch (below, the check compiles away: W1's steps).
        let samples = |samples: core::ops::Range<usize>, output: &mut [T]| {
            let input = &input[samples.start * IN..samples.end * IN];
            for (x, z) in input.as_chunks::<IN>().0.iter().zip(output.as_chunks_mut::<OUT>().0) {
                affine_one::<T, IN, OUT>(weight, bias, x, z);
            }
        };
        if IN * OUT >= VECTORISED_WEIGHTS {
            gemm::by_rows(&mut output[..batch * OUT], OUT, batch, IN * OUT * batch, &samples);
        } else {
            samples(0..batch, output);
        }
    }
}

/// Whether a training forward on `batch` samples computes `zᵀ = W·xᵀ` and transposes it
/// ([`affine_transposed`]): for a wide layer on a small batch, that product reads the
/// weights in place and packs only the inputs, where `z = x·Wᵀ` packs every weight (on
/// each thread, when split) into tiles its few rows fill badly. On two threads each then
/// reads only its own rows of `W`, the rows whose gradient it computes. Measured with the
/// transpose (f32, µs, one thread / two): 784 → 512 at 64 samples 564 → 420 / 371 → 251,
/// 512 → 512 373 → 286 / 276 → 179, 784 → 128 134 → 118 / 92 → 79, 64 → 128 at 32 samples
/// 9.6 → 7.0; but 64 → 64 at 32 samples 12.7 → 13.3, 784 → 128 at 256 406 → 491.
///
/// Only where the GEMM takes that product packed ([`gemm::packs_depth_contiguous`]; with
/// AVX2, from 16 samples, a panel): below, it took `dot_rows`, and the plain form measured
/// faster on the Zen 3 EPYC of `BENCHMARKS.md` (f32, µs, plain against transposed, one
/// thread, at 8 samples): 784 → 512 143 against 212, 512 → 512 91 against 146, 256 → 256
/// 21.0 against 39.3, 64 → 128 2.95 against 7.96; at 16 samples the transposed form
/// 1.17–1.36× faster, at 32 1.07–1.24×, at 64 0.94–1.10×.
#[cfg(feature = "std")]
#[inline(always)]
fn transposes<T: Real, const IN: usize, const OUT: usize>(batch: usize) -> bool {
    OUT >= 128 && OUT >= 2 * batch && gemm::packs_depth_contiguous::<T>((OUT, batch, IN))
}

/// `z = W·x + b` for a batch through `zᵀ = W·xᵀ` (outputs × samples) in `scratch`, then
/// transposed into `z` with the bias added (see [`transposes`]).
#[cfg(feature = "std")]
#[inline]
fn affine_transposed<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    bias: &[T],
    input: &[T],
    z: &mut [T],
    scratch: &mut [T],
) {
    let batch = input.len() / IN;
    let transposed = &mut scratch[..OUT * batch];
    // zᵀ[o][n] = Σ_i W[o][i]·x[n][i]
    let (w, x) = (Strided::rows(weight, IN), Strided::transposed(input, IN));
    gemm::multiply(transposed, batch, w, x, (OUT, batch, IN), false);
    // z[n][o] = zᵀ[o][n], in vector blocks where the type has them, then the bias.
    T::transpose(&mut z[..OUT * batch], OUT, transposed, batch, (OUT, batch));
    let bias = &bias[..OUT];
    for column in z.as_chunks_mut::<OUT>().0 {
        for o in 0..OUT {
            column[o] += bias[o];
        }
    }
}

/// Inference for a batch: `output = σ(W·input + b)`, without keeping `z`. A single sample
/// through a small layer applies `σ` across its outputs ([`Activation::f_in_place`]); larger batches
/// apply it in one pass over the whole output, which vectorises across samples (measured
/// faster on W1 at 256 samples).
#[cfg(feature = "std")]
#[inline]
pub fn forward<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    weight: &[T],
    bias: &[T],
    input: &[T],
    output: &mut [T],
) {
    let batch = input.len() / IN;
    if batch > 1 {
        return activated_batch::<T, A, IN, OUT>(
            activation,
            batch,
            output,
            #[inline(always)]
            |output| affine::<T, IN, OUT>(weight, bias, input, output),
        );
    }
    let (rows, bias) = (rows::<T, IN, OUT>(weight), &bias[..OUT]);
    for (x, a) in input.as_chunks::<IN>().0.iter().zip(output.as_chunks_mut::<OUT>().0) {
        for o in 0..OUT {
            a[o] = dot(bias[o], &rows[o], x);
        }
        activate_one(activation, a, INFERENCE_LANES_FROM);
    }
}

/// `output = σ(affine(output))` for a batch of [`forward`] or [`forward_prepacked`], `σ` in
/// one pass over the whole output, the layer's loops dispatched as [`vectorised_when_large`]
/// says.
#[cfg(feature = "std")]
#[inline(always)]
fn activated_batch<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    batch: usize,
    output: &mut [T],
    affine: impl FnOnce(&mut [T]),
) {
    vectorised_when_large(
        IN * OUT,
        batch,
        #[inline(always)]
        || {
            affine(output);
            activation::forward_in_place(activation, output);
        },
    );
}

/// [`forward`] for batched inference, the weights' panels kept as [`affine_prepacked`]
/// keeps them.
#[cfg(feature = "std")]
#[inline]
pub fn forward_prepacked<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    weights: gemm::Weights<'_, T>,
    bias: &[T],
    input: &[T],
    output: &mut [T],
) {
    let batch = input.len() / IN;
    if batch > 1 {
        activated_batch::<T, A, IN, OUT>(
            activation,
            batch,
            output,
            #[inline(always)]
            |output| affine_prepacked::<T, IN, OUT>(weights, bias, input, output),
        );
    } else {
        forward::<T, A, IN, OUT>(activation, weights.values, bias, input, output);
    }
}

/// Training forward for a batch: keeps `z = W·input + b` for the backward pass and writes
/// `a = σ(z)`. One sample takes `z` as [`forward_one`] does and `σ` across its outputs in
/// vector lanes; a batch takes `z` from [`affine`] (or, for a wide layer on a small batch,
/// from `zᵀ = W·xᵀ` and a transpose, with `a` as scratch) and `σ` in one pass over it, which
/// vectorises across samples (applying `σ` output by output inside the per-sample loop ran
/// scalar: a 32 → 24 → 10 tanh network's training step at 32 samples went 26.1 → 17.3 µs).
#[cfg(feature = "std")]
#[inline]
pub fn forward_train<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    weight: &[T],
    bias: &[T],
    input: &[T],
    z: &mut [T],
    a: &mut [T],
) {
    if input.len() != IN {
        let batch = input.len() / IN;
        vectorised_when_large(
            IN * OUT,
            batch,
            #[inline(always)]
            || {
                if uses_gemm(IN, OUT, batch) && transposes::<T, IN, OUT>(batch) {
                    affine_transposed::<T, IN, OUT>(weight, bias, input, z, a);
                } else {
                    affine::<T, IN, OUT>(weight, bias, input, z);
                }
                activation::forward(activation, z, a);
            },
        );
        return;
    }
    let (x, z, a) = (
        &input.as_chunks::<IN>().0[0],
        &mut z.as_chunks_mut::<OUT>().0[0],
        &mut a.as_chunks_mut::<OUT>().0[0],
    );
    affine_one::<T, IN, OUT>(weight, bias, x, z);
    *a = *z;
    activate_one(activation, a, TRAINING_LANES_FROM);
}

/// One sample's training forward, on the stack: keeps `z` and `a` for the backward pass
/// and returns `a` for the next layer, which takes it as a value. Read back from the
/// workspace, a small layer's input was loaded wider than the stores that had just written
/// it, and waited for them to reach the cache (W1's training forward 31.4 → 16.9 ns).
#[cfg(feature = "std")]
#[inline(always)]
pub fn forward_train_one<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    weight: &[T],
    bias: &[T],
    x: &[T; IN],
    (z, a): (&mut [T], &mut [T]),
) -> [T; OUT] {
    let mut values = affine_train_one::<T, IN, OUT>(weight, bias, x, z);
    activate_one(activation, &mut values, TRAINING_LANES_FROM);
    a[..OUT].copy_from_slice(&values);
    values
}

/// One sample's `z = W·x + b` on the stack, written into `z` and returned: a layer without
/// an activation, as [`forward_train_one`].
#[cfg(feature = "std")]
#[inline(always)]
pub fn affine_train_one<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    bias: &[T],
    x: &[T; IN],
    z: &mut [T],
) -> [T; OUT] {
    let mut values = [T::zero(); OUT];
    affine_one::<T, IN, OUT>(weight, bias, x, &mut values);
    z[..OUT].copy_from_slice(&values);
    values
}

/// One sample's backward pass, on the stack: takes `∂L/∂a` as a value, writes `∂L/∂W` and
/// `∂L/∂b` (overwriting), and returns `∂L/∂x = Wᵀ·δ` (which the caller drops for a first
/// layer, and the compiler with it). A layer without an activation passes
/// [`activation::Identity`], whose `σ' = 1` the compiler folds away.
#[cfg(feature = "std")]
#[inline(always)]
pub fn backward_one<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    weight: &[T],
    input: &[T],
    (z, a): (&[T], &[T]),
    output_gradient: [T; OUT],
    (grad_weight, grad_bias): (&mut [T], &mut [T]),
) -> [T; IN] {
    // `x` copied to the stack, as in `backward`.
    let (x, z, a) = (input.as_chunks::<IN>().0[0], &z.as_chunks::<OUT>().0[0], &a.as_chunks::<OUT>().0[0]);
    let mut delta = output_gradient;
    for o in 0..OUT {
        delta[o] *= activation.df(z[o], a[o]);
    }
    grad_bias[..OUT].copy_from_slice(&delta);
    for (row, &d_o) in grad_weight.as_chunks_mut::<IN>().0[..OUT].iter_mut().zip(&delta) {
        for i in 0..IN {
            row[i] = d_o * x[i];
        }
    }
    input_gradient(rows::<T, IN, OUT>(weight), &delta)
}

/// A few samples' training forward on the stack: [`forward_train_one`] for `B` samples,
/// each value held feature by feature (`x[i][n]`, sample `n` in lane `n`), so that one
/// layer's outputs are the next one's inputs in the lanes where it reads them. `σ` maps
/// them together, as a batch's pass maps its values ([`activation::forward`]); the
/// workspace receives `z` and `a` sample by sample, as the batch's pass writes them.
#[cfg(feature = "std")]
#[inline(always)]
pub fn forward_train_few<T: Real, A: Activation<T>, const IN: usize, const OUT: usize, const B: usize>(
    activation: &A,
    weight: &[T],
    bias: &[T],
    x: &[[T; B]; IN],
    (z, a): (&mut [T], &mut [T]),
) -> [[T; B]; OUT] {
    let pre = affine_train_few::<T, IN, OUT, B>(weight, bias, x, z);
    let mut values = [[T::zero(); B]; OUT];
    activation::forward(activation, pre.as_flattened(), values.as_flattened_mut());
    store_samples(&values, a);
    values
}

/// A few samples' `z = W·x + b` on the stack, held feature by feature and written into
/// `z` sample by sample, each sum in the order one sample's pass takes it.
#[cfg(feature = "std")]
#[inline(always)]
pub fn affine_train_few<T: Real, const IN: usize, const OUT: usize, const B: usize>(
    weight: &[T],
    bias: &[T],
    x: &[[T; B]; IN],
    z: &mut [T],
) -> [[T; B]; OUT] {
    let values = if matches!(one_sample_affine::<T, IN, OUT>(), OneSampleAffine::Dots) {
        let rows = rows::<T, IN, OUT>(weight);
        core::array::from_fn(|o| dot_few(bias[o], &rows[o], x))
    } else {
        let samples: [[T; OUT]; B] = core::array::from_fn(|n| {
            let mut z = [T::zero(); OUT];
            affine_one::<T, IN, OUT>(weight, bias, &core::array::from_fn(|i| x[i][n]), &mut z);
            z
        });
        crate::network::few_samples(samples.as_flattened())
    };
    store_samples(&values, z);
    values
}

/// [`dot`] for `B` samples in lanes: `b + Σᵢ wᵢ·x[i][n]` for each `n`, summed in the same
/// order as [`dot`] sums one sample's products.
#[cfg(feature = "std")]
#[inline(always)]
fn dot_few<T: Real, const N: usize, const B: usize>(b: T, w: &[T; N], x: &[[T; B]; N]) -> [T; B] {
    if N < 4 {
        let mut sum = [b; B];
        for i in 0..N {
            for n in 0..B {
                sum[n] += w[i] * x[i][n];
            }
        }
        sum
    } else if N < 16 {
        dot_few_in_lanes::<T, N, B, 4>(w, x).map(|sum| b + sum)
    } else {
        dot_few_in_lanes::<T, N, B, 8>(w, x).map(|sum| b + sum)
    }
}

/// [`dot_in_lanes`] for `B` samples in lanes (`N ≥ L`), its sums in the same order.
#[cfg(feature = "std")]
#[inline(always)]
fn dot_few_in_lanes<T: Real, const N: usize, const B: usize, const L: usize>(
    w: &[T; N],
    x: &[[T; B]; N],
) -> [T; B] {
    let whole = N - N % L;
    let mut lanes: [[T; B]; L] = core::array::from_fn(|l| core::array::from_fn(|n| w[l] * x[l][n]));
    for chunk in (L..whole).step_by(L) {
        for l in 0..L {
            for n in 0..B {
                lanes[l][n] += w[chunk + l] * x[chunk + l][n];
            }
        }
    }
    let mut sums: [T; B] =
        core::array::from_fn(|n| gemm::sum_lanes(core::array::from_fn::<T, L, _>(|l| lanes[l][n])));
    for i in whole..N {
        for n in 0..B {
            sums[n] += w[i] * x[i][n];
        }
    }
    sums
}

/// Values held feature by feature (`values[i][n]`) written sample by sample into `out`
/// (`out[n·N + i]`), as a batch's buffers hold them.
#[cfg(feature = "std")]
#[inline(always)]
fn store_samples<T: Copy, const N: usize, const B: usize>(values: &[[T; B]; N], out: &mut [T]) {
    for (n, sample) in out.as_chunks_mut::<N>().0[..B].iter_mut().enumerate() {
        for i in 0..N {
            sample[i] = values[i][n];
        }
    }
}

/// A few samples' backward pass on the stack: [`backward_one`] for `B` samples held
/// feature by feature, the parameters' gradients summed over the samples in order, from
/// zero, as the batch's pass sums them. `z` is the workspace's, sample by sample.
#[cfg(feature = "std")]
#[inline(always)]
pub fn backward_few<T: Real, A: Activation<T>, const IN: usize, const OUT: usize, const B: usize>(
    activation: &A,
    weight: &[T],
    x: &[[T; B]; IN],
    (z, a): (&[T], &[[T; B]; OUT]),
    output_gradient: [[T; B]; OUT],
    (grad_weight, grad_bias): (&mut [T], &mut [T]),
) -> [[T; B]; IN] {
    let z = &z.as_chunks::<OUT>().0[..B];
    let mut delta = output_gradient;
    for o in 0..OUT {
        for n in 0..B {
            delta[o][n] *= activation.df(z[n][o], a[o][n]);
        }
    }
    let grad_rows = &mut grad_weight.as_chunks_mut::<IN>().0[..OUT];
    for ((row, gradient), d) in grad_rows.iter_mut().zip(&mut grad_bias[..OUT]).zip(&delta) {
        *gradient = d.iter().fold(T::zero(), |sum, &d| sum + d);
        for (g, x) in row.iter_mut().zip(x) {
            *g = (0..B).fold(T::zero(), |sum, n| sum + d[n] * x[n]);
        }
    }
    let rows = rows::<T, IN, OUT>(weight);
    core::array::from_fn(|i| {
        let mut gx = delta[0].map(|d| rows[0][i] * d);
        for o in 1..OUT {
            for n in 0..B {
                gx[n] += rows[o][i] * delta[o][n];
            }
        }
        gx
    })
}

/// Backward pass for a batch, through `σ` and then `z = W·x + b`.
///
/// On entry `delta` holds `∂L/∂a` (`OUT × batch`); on exit it holds `δ = ∂L/∂z`. Writes
/// `∂L/∂W` and `∂L/∂b` (overwriting) and, when asked, `∂L/∂x`. Small layers do it all in one
/// pass per sample, with the sizes known.
#[cfg(feature = "std")]
#[inline]
pub fn backward<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    weight: &[T],
    input: &[T],
    (z, a): (&[T], &[T]),
    delta: &mut [T],
    (grad_weight, grad_bias): (&mut [T], &mut [T]),
    grad_input: Option<&mut [T]>,
) {
    let batch = input.len() / IN;
    if uses_gemm(IN, OUT, batch) {
        activation::backward_in_place(activation, z, a, delta);
        backward_linear::<T, IN, OUT>(weight, input, delta, grad_weight, grad_bias, grad_input);
        return;
    }
    vectorised_when_large(
        IN * OUT,
        batch,
        #[inline(always)]
        || {
            backward_by_sample::<T, A, IN, OUT>(
                activation,
                weight,
                input,
                (z, a),
                delta,
                (grad_weight, grad_bias),
                grad_input,
            );
        },
    );
}

/// [`backward`] one sample at a time, with the layer's sizes known.
#[cfg(feature = "std")]
#[inline(always)]
fn backward_by_sample<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    weight: &[T],
    input: &[T],
    (z, a): (&[T], &[T]),
    delta: &mut [T],
    (grad_weight, grad_bias): (&mut [T], &mut [T]),
    grad_input: Option<&mut [T]>,
) {
    let rows = rows::<T, IN, OUT>(weight);
    let grad_bias = &mut grad_bias[..OUT];
    let grad_rows = &mut grad_weight.as_chunks_mut::<IN>().0[..OUT];
    grad_bias.fill(T::zero());
    for row in grad_rows.iter_mut() {
        row.fill(T::zero());
    }
    let mut grad_inputs = grad_input.map(|g| g.as_chunks_mut::<IN>().0);
    let samples = input.as_chunks::<IN>().0.iter().zip(delta.as_chunks_mut::<OUT>().0);
    let activations = z.as_chunks::<OUT>().0.iter().zip(a.as_chunks::<OUT>().0);
    for (n, ((x, d), (z, a))) in samples.zip(activations).enumerate() {
        for o in 0..OUT {
            d[o] *= activation.df(z[o], a[o]);
        }
        // Copies on the stack, which no store can alias: read through `d` and `x` themselves,
        // each δ and input was reloaded after every store to a gradient row, and the rows'
        // loops ran scalar (the 32 → 24 → 10 tanh network's step at 32 samples went 17.3 →
        // 7.9 µs, and 5.9 with `input_gradient`).
        let (d, x) = (*d, *x);
        for o in 0..OUT {
            let d_o = d[o];
            grad_bias[o] += d_o;
            let row = &mut grad_rows[o];
            for i in 0..IN {
                row[i] += d_o * x[i];
            }
        }
        if let Some(grad_inputs) = grad_inputs.as_deref_mut() {
            grad_inputs[n] = input_gradient(rows, &d);
        }
    }
}

/// Backward pass of `z = W·x + b` given `δ = ∂L/∂z`.
#[cfg(feature = "std")]
#[inline]
pub fn backward_linear<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    input: &[T],
    delta: &[T],
    grad_weight: &mut [T],
    grad_bias: &mut [T],
    grad_input: Option<&mut [T]>,
) {
    let batch = input.len() / IN;
    let grad_bias = &mut grad_bias[..OUT];
    let (deltas, _) = delta.as_chunks::<OUT>();
    grad_bias.fill(T::zero());
    for d in deltas {
        for o in 0..OUT {
            grad_bias[o] += d[o];
        }
    }
    let (inputs, _) = input.as_chunks::<IN>();
    if uses_gemm(IN, OUT, batch) || (GATHERS_ACROSS_OUTPUTS && batch > 1) {
        // ∂L/∂W[o][i] = Σ_n δ[n][o]·x[n][i]
        let (d, x) = (Strided::transposed(delta, OUT), Strided::rows(input, IN));
        gemm::multiply(grad_weight, IN, d, x, (OUT, IN, batch), false);
        if let Some(grad_input) = grad_input {
            // ∂L/∂x[n][i] = Σ_o δ[n][o]·W[o][i]
            let (d, w) = (Strided::rows(delta, OUT), Strided::rows(weight, IN));
            gemm::multiply(grad_input, IN, d, w, (batch, IN, OUT), false);
        }
        return;
    }
    vectorised_when_large(
        IN * OUT,
        batch,
        #[inline(always)]
        || linear_gradients_by_sample::<T, IN, OUT>(weight, inputs, deltas, grad_weight, grad_input),
    );
}

/// `∂L/∂W` and, when asked, `∂L/∂x` of [`backward_linear`], one sample at a time, with the
/// layer's sizes known.
#[cfg(feature = "std")]
#[inline(always)]
fn linear_gradients_by_sample<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    inputs: &[[T; IN]],
    deltas: &[[T; OUT]],
    grad_weight: &mut [T],
    grad_input: Option<&mut [T]>,
) {
    let (grad_rows, _) = grad_weight.as_chunks_mut::<IN>();
    let grad_rows = &mut grad_rows[..OUT];
    for row in grad_rows.iter_mut() {
        row.fill(T::zero());
    }
    for (x, d) in inputs.iter().zip(deltas) {
        // On the stack, as in `backward`.
        let (d, x) = (*d, *x);
        for o in 0..OUT {
            let d_o = d[o];
            let row = &mut grad_rows[o];
            for i in 0..IN {
                row[i] += d_o * x[i];
            }
        }
    }
    if let Some(grad_input) = grad_input {
        let rows = rows::<T, IN, OUT>(weight);
        let (grad_inputs, _) = grad_input.as_chunks_mut::<IN>();
        for (gx, d) in grad_inputs.iter_mut().zip(deltas) {
            *gx = input_gradient(rows, d);
        }
    }
}

/// `∂L/∂x = Wᵀ·δ` for one sample, summed in an array on the stack: written straight into
/// the workspace, each sum was reloaded after every row (the stores might have changed
/// `W`), and the loop ran scalar. The sums start from the first row's products: from zero,
/// `0 + p` is not `p` when `p = −0`, so the addition of zero stayed on the training step's
/// chain (W1's step on one sample 1.7–1.9% faster without it, at four samples 1.2–4.0%,
/// default build, on the Zen 4 EPYC of `BENCHMARKS.md`).
#[cfg(feature = "std")]
#[inline(always)]
fn input_gradient<T: Real, const IN: usize, const OUT: usize>(rows: &[[T; IN]], d: &[T; OUT]) -> [T; IN] {
    let Some((first, rest)) = rows.split_first() else {
        return [T::zero(); IN];
    };
    let mut gx = first.map(|w| w * d[0]);
    for (row, &d_o) in rest.iter().zip(&d[1..]) {
        for i in 0..IN {
            gx[i] += row[i] * d_o;
        }
    }
    gx
}

/// A dense layer's parameters inside a network's buffer, in PyTorch's layout.
#[derive(Clone, Copy, Debug)]
pub struct Parameters<'a, T, const IN: usize, const OUT: usize> {
    weight: &'a [T],
    bias: &'a [T],
}

/// A row-major `[OUT, IN]` view: element `(o, i)` at `o·IN + i`.
pub type WeightView<'a, T, const IN: usize, const OUT: usize> =
    MatrixView<'a, T, Const<OUT>, Const<IN>, Const<IN>, Const<1>>;

/// A mutable row-major `[OUT, IN]` view.
pub type WeightViewMut<'a, T, const IN: usize, const OUT: usize> =
    MatrixViewMut<'a, T, Const<OUT>, Const<IN>, Const<IN>, Const<1>>;

impl<'a, T: Real, const IN: usize, const OUT: usize> Parameters<'a, T, IN, OUT> {
    /// Wraps a weight buffer (`OUT·IN` values, row-major) and a bias buffer (`OUT` values).
    #[must_use]
    pub fn new(weight: &'a [T], bias: &'a [T]) -> Self {
        Self { weight: &weight[..OUT * IN], bias: &bias[..OUT] }
    }

    /// The weight `W`, `OUT × IN`.
    #[must_use]
    pub fn weight(&self) -> WeightView<'a, T, IN, OUT> {
        MatrixView::from_slice_with_strides_generic(
            self.weight,
            Const::<OUT>,
            Const::<IN>,
            Const::<IN>,
            Const::<1>,
        )
    }

    /// The bias `b`.
    #[must_use]
    pub fn bias(&self) -> SVectorView<'a, T, OUT> {
        SVectorView::from_slice(self.bias)
    }

    /// The weight as its flat row-major buffer.
    #[must_use]
    pub fn weight_slice(&self) -> &'a [T] {
        self.weight
    }
}

/// A dense layer's parameters inside a network's buffer, mutably.
#[derive(Debug)]
pub struct ParametersMut<'a, T, const IN: usize, const OUT: usize> {
    weight: &'a mut [T],
    bias: &'a mut [T],
}

impl<'a, T: Real, const IN: usize, const OUT: usize> ParametersMut<'a, T, IN, OUT> {
    /// Wraps a weight buffer (`OUT·IN` values, row-major) and a bias buffer (`OUT` values).
    #[must_use]
    pub fn new(weight: &'a mut [T], bias: &'a mut [T]) -> Self {
        Self { weight: &mut weight[..OUT * IN], bias: &mut bias[..OUT] }
    }

    /// The weight `W`, `OUT × IN`.
    #[must_use]
    pub fn weight(&mut self) -> WeightViewMut<'_, T, IN, OUT> {
        MatrixViewMut::from_slice_with_strides_generic(
            self.weight,
            Const::<OUT>,
            Const::<IN>,
            Const::<IN>,
            Const::<1>,
        )
    }

    /// The bias `b`.
    #[must_use]
    pub fn bias(&mut self) -> SVectorViewMut<'_, T, OUT> {
        SVectorViewMut::from_slice(self.bias)
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_relative_eq;

    use super::*;
    use crate::activation::Tanh;

    /// The loop and GEMM paths agree on a layer large enough to take either: the unpacked
    /// kernels at 40→30 and 64 samples, the packed product at 100→90 and 128.
    #[test]
    fn gemm_and_loop_paths_agree() {
        paths_agree::<40, 30>(64);
        const { assert!(128 >= gemm::PACKED_BATCH && 128 * 100 * 90 >= gemm::PACKED_MULTIPLY_ADDS) };
        paths_agree::<100, 90>(128);
    }

    fn paths_agree<const IN: usize, const OUT: usize>(batch: usize) {
        assert!(uses_gemm(IN, OUT, batch));
        let weight: Vec<f64> = (0..IN * OUT).map(|k| ((k * 7 % 13) as f64 - 6.0) / 10.0).collect();
        let bias: Vec<f64> = (0..OUT).map(|k| k as f64 / 30.0).collect();
        let input: Vec<f64> = (0..IN * batch).map(|k| ((k * 5 % 11) as f64 - 5.0) / 7.0).collect();

        let mut by_gemm = vec![0.0; OUT * batch];
        affine::<f64, IN, OUT>(&weight, &bias, &input, &mut by_gemm);
        let mut by_loops = vec![0.0; OUT * batch];
        for (x, z) in input.chunks(IN).zip(by_loops.chunks_mut(OUT)) {
            affine::<f64, IN, OUT>(&weight, &bias, x, z);
        }
        assert_relative_eq!(by_gemm.as_slice(), by_loops.as_slice(), epsilon = 1e-12);

        let delta: Vec<f64> = (0..OUT * batch).map(|k| ((k * 3 % 17) as f64 - 8.0) / 9.0).collect();
        let (mut gw, mut gb, mut gx) = (vec![0.0; IN * OUT], vec![0.0; OUT], vec![0.0; IN * batch]);
        backward_linear::<f64, IN, OUT>(&weight, &input, &delta, &mut gw, &mut gb, Some(&mut gx));
        let (mut sum_gw, mut sum_gb) = (vec![0.0; IN * OUT], vec![0.0; OUT]);
        let mut loop_gx = vec![0.0; IN * batch];
        for ((x, d), gx) in input.chunks(IN).zip(delta.chunks(OUT)).zip(loop_gx.chunks_mut(IN)) {
            let (mut w1, mut b1) = (vec![0.0; IN * OUT], vec![0.0; OUT]);
            backward_linear::<f64, IN, OUT>(&weight, x, d, &mut w1, &mut b1, Some(gx));
            sum_gw.iter_mut().zip(&w1).for_each(|(s, v)| *s += v);
            sum_gb.iter_mut().zip(&b1).for_each(|(s, v)| *s += v);
        }
        assert_relative_eq!(gw.as_slice(), sum_gw.as_slice(), epsilon = 1e-12);
        assert_relative_eq!(gb.as_slice(), sum_gb.as_slice(), epsilon = 1e-12);
        assert_relative_eq!(gx.as_slice(), loop_gx.as_slice(), epsilon = 1e-12);
    }

    /// The `f32` loops (eight outputs per pass from eight inputs, plain dot products below,
    /// and a narrow layer the GEMM would take) against the definitions in `f64`, forward
    /// and backward, for a batch and one sample.
    #[test]
    fn f32_loops_match_the_definitions() {
        loops_match::<24, 10>(7);
        loops_match::<24, 10>(1);
        loops_match::<5, 3>(6);
        loops_match::<9, 17>(3);
        // Four to seven rows or columns: the four-row kernel where nn inlines it.
        loops_match::<4, 4>(1);
        loops_match::<6, 5>(1);
        // The blocked kernel inlined at its largest, and out of line just above.
        loops_match::<64, 64>(1);
        loops_match::<72, 57>(1);
        // Large enough for the GEMM, narrow enough for the blocked kernel per sample: fewer
        // than eight rows past the blocks, and from sixteen outputs.
        loops_match::<128, 10>(40);
        loops_match::<64, 20>(64);
    }

    /// A wide layer on a small batch computes `zᵀ` and transposes it: against the
    /// definitions (at 64 → 128 on 32 samples and 100 → 160 on 64), and bit for bit the
    /// same on two threads as on one. On fewer samples than a panel, it does not.
    #[test]
    fn wide_layers_on_small_batches_train_through_the_transposed_product() {
        assert!(transposes::<f32, 64, 128>(32) && transposes::<f32, 100, 160>(64));
        assert!(!transposes::<f32, 64, 128>(1) && !transposes::<f32, 64, 128>(4));
        loops_match::<64, 128>(32);
        loops_match::<100, 160>(64);
        let input: Vec<f32> = (0..100 * 64).map(|k| ((k * 5 % 11) as f32 - 5.0) / 7.0).collect();
        let weight: Vec<f32> = (0..100 * 160).map(|k| ((k * 7 % 13) as f32 - 6.0) / 10.0).collect();
        let bias = vec![0.25_f32; 160];
        let _threads = gemm::ThreadsForTest::hold();
        let mut by_threads = Vec::new();
        for threads in [1, 2] {
            gemm::set_threads(threads);
            let (mut z, mut a) = (vec![0.0; 160 * 64], vec![0.0; 160 * 64]);
            forward_train::<f32, _, 100, 160>(&Tanh, &weight, &bias, &input, &mut z, &mut a);
            by_threads.push(z);
        }
        assert!(by_threads[0] == by_threads[1], "z differs on two threads");
    }

    /// A narrow layer's samples, one at a time on the blocked kernel, split across two
    /// threads where the GEMM would split the product: bit for bit what one thread gives,
    /// at a batch that is not a multiple of the pieces' step.
    #[test]
    fn narrow_layers_split_their_samples_across_threads() {
        const { assert!(narrow_on_blocked::<f32, 512, 10>() && uses_gemm(512, 10, 131)) };
        let input: Vec<f32> = (0..512 * 131).map(|k| ((k * 5 % 11) as f32 - 5.0) / 7.0).collect();
        let weight: Vec<f32> = (0..512 * 10).map(|k| ((k * 7 % 13) as f32 - 6.0) / 10.0).collect();
        let bias: Vec<f32> = (0..10).map(|o| o as f32 / 4.0 - 1.0).collect();
        let _threads = gemm::ThreadsForTest::hold();
        let mut by_threads = Vec::new();
        for threads in [1, 2] {
            gemm::set_threads(threads);
            assert_eq!(gemm::splits(512 * 10 * 131), threads == 2);
            let (mut z, mut a, mut inferred) =
                (vec![0.0; 10 * 131], vec![0.0; 10 * 131], vec![0.0; 10 * 131]);
            forward_train::<f32, _, 512, 10>(&Tanh, &weight, &bias, &input, &mut z, &mut a);
            forward::<f32, _, 512, 10>(&Tanh, &weight, &bias, &input, &mut inferred);
            by_threads.push((z, a, inferred));
        }
        assert!(by_threads[0] == by_threads[1], "a narrow layer differs on two threads");
        let (z, a, inferred) = &by_threads[0];
        assert!(a == inferred && z.iter().all(|v| *v != 0.0), "every sample computed");
    }

    /// A batch through a tanh layer's training passes: `z`, `a`, and the gradients `∂L/∂W`,
    /// `∂L/∂b` and `∂L/∂x` for the output's gradient `upstream`.
    fn batch_pass<T: Real, const IN: usize, const OUT: usize>(
        weight: &[T],
        bias: &[T],
        input: &[T],
        upstream: &[T],
    ) -> [Vec<T>; 5] {
        let batch = input.len() / IN;
        let (mut z, mut a) = (vec![T::zero(); OUT * batch], vec![T::zero(); OUT * batch]);
        forward_train::<T, _, IN, OUT>(&Tanh, weight, bias, input, &mut z, &mut a);
        let mut delta = upstream.to_vec();
        let (mut gw, mut gb, mut gx) =
            (vec![T::zero(); IN * OUT], vec![T::zero(); OUT], vec![T::zero(); IN * batch]);
        backward::<T, _, IN, OUT>(
            &Tanh,
            weight,
            input,
            (&z, &a),
            &mut delta,
            (&mut gw, &mut gb),
            Some(&mut gx),
        );
        [z, a, gw, gb, gx]
    }

    fn loops_match<const IN: usize, const OUT: usize>(batch: usize) {
        assert!(
            !uses_gemm(IN, OUT, batch)
                || narrow_on_blocked::<f32, IN, OUT>()
                || transposes::<f32, IN, OUT>(batch)
        );
        let value = |k: usize, m: usize| ((k * 7 % m) as f32 - (m / 2) as f32) / m as f32;
        let weight: Vec<f32> = (0..IN * OUT).map(|k| value(k, 13)).collect();
        let bias: Vec<f32> = (0..OUT).map(|k| value(k, 5)).collect();
        let input: Vec<f32> = (0..IN * batch).map(|k| value(k, 11)).collect();
        let upstream: Vec<f32> = (0..OUT * batch).map(|k| value(k, 17)).collect();
        let [z, a, gw, gb, gx] = batch_pass::<f32, IN, OUT>(&weight, &bias, &input, &upstream);

        let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        let (w, b, x, up) = (wide(&weight), wide(&bias), wide(&input), wide(&upstream));
        let (mut want_gw, mut want_gb, mut want_gx) =
            (vec![0.0; IN * OUT], vec![0.0; OUT], vec![0.0; IN * batch]);
        for n in 0..batch {
            for o in 0..OUT {
                let exact_z = b[o] + (0..IN).map(|i| w[o * IN + i] * x[n * IN + i]).sum::<f64>();
                let exact_a = exact_z.tanh();
                assert!((f64::from(z[n * OUT + o]) - exact_z).abs() < 1e-5, "z[{n}][{o}]");
                assert!((f64::from(a[n * OUT + o]) - exact_a).abs() < 1e-5, "a[{n}][{o}]");
                let d = up[n * OUT + o] * (1.0 - exact_a * exact_a);
                want_gb[o] += d;
                for i in 0..IN {
                    want_gw[o * IN + i] += d * x[n * IN + i];
                    want_gx[n * IN + i] += d * w[o * IN + i];
                }
            }
        }
        for (name, got, want) in [("∂W", &gw, &want_gw), ("∂b", &gb, &want_gb), ("∂x", &gx, &want_gx)] {
            for (k, (&g, &e)) in got.iter().zip(want).enumerate() {
                assert!(
                    (f64::from(g) - e).abs() < 1e-5,
                    "{IN}→{OUT} at {batch}: {name}[{k}] {g} against {e}"
                );
            }
        }
    }

    /// A few samples' forward and backward passes on the stack against the batch pass on the
    /// same samples, bit for bit: `z`, `a` and every gradient, in `f32` and `f64`, on layers
    /// whose outputs are each a plain dot product (of fewer than four inputs, in four lanes
    /// and in eight) and on one that `f32` computes with a matrix-vector kernel.
    #[test]
    fn few_sample_passes_match_the_batch_pass() {
        few_match_batch::<f64, 3, 2, 4>();
        few_match_batch::<f64, 5, 3, 3>();
        few_match_batch::<f64, 20, 2, 2>();
        few_match_batch::<f32, 2, 3, 4>();
        few_match_batch::<f32, 6, 4, 5>();
        few_match_batch::<f32, 12, 10, 8>();
        few_match_batch::<f32, 24, 1, 7>();
    }

    fn few_match_batch<T: Real, const IN: usize, const OUT: usize, const B: usize>() {
        let value = |k: usize, m: usize, d: f64| T::from_float(((k * m % 23) as f64 - 11.0) / d);
        let weight: Vec<T> = (0..IN * OUT).map(|k| value(k, 7, 13.0)).collect();
        let bias: Vec<T> = (0..OUT).map(|k| value(k, 5, 17.0)).collect();
        let input: Vec<T> = (0..IN * B).map(|k| value(k, 3, 9.0)).collect();
        let gradient: Vec<T> = (0..OUT * B).map(|k| value(k, 11, 10.0)).collect();
        let [z, a, gw, gb, gx] = batch_pass::<T, IN, OUT>(&weight, &bias, &input, &gradient);

        let x = crate::network::few_samples::<T, IN, B>(&input);
        let (mut few_z, mut few_a) = (vec![T::zero(); OUT * B], vec![T::zero(); OUT * B]);
        let values =
            forward_train_few::<T, _, IN, OUT, B>(&Tanh, &weight, &bias, &x, (&mut few_z, &mut few_a));
        let output_gradient = crate::network::few_samples::<T, OUT, B>(&gradient);
        let (mut few_gw, mut few_gb) = (vec![T::zero(); IN * OUT], vec![T::zero(); OUT]);
        let few_gx = backward_few::<T, _, IN, OUT, B>(
            &Tanh,
            &weight,
            &x,
            (&few_z, &values),
            output_gradient,
            (&mut few_gw, &mut few_gb),
        );
        let bits = |values: &[T]| values.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
        let shape = format!("{IN} → {OUT} at {B} samples");
        assert_eq!(bits(&few_z), bits(&z), "{shape}: z");
        assert_eq!(bits(&few_a), bits(&a), "{shape}: a");
        assert_eq!(bits(crate::network::samples_of(&values).as_flattened()), bits(&a), "{shape}: the values");
        assert_eq!(bits(&few_gw), bits(&gw), "{shape}: ∂L/∂W");
        assert_eq!(bits(&few_gb), bits(&gb), "{shape}: ∂L/∂b");
        assert_eq!(bits(crate::network::samples_of(&few_gx).as_flattened()), bits(&gx), "{shape}: ∂L/∂x");
    }

    /// The `f32` one-sample forward against the definition in `f64`, on every path
    /// [`affine_one`] takes: dot products per output, the four- and eight-row kernels, and
    /// (where they are inlined) a few outputs from sixteen inputs on, one row's vector dot
    /// product each.
    #[test]
    fn one_sample_f32_layers_match_the_definition() {
        one_sample_matches::<2, 3>();
        one_sample_matches::<8, 2>();
        one_sample_matches::<16, 1>();
        one_sample_matches::<20, 3>();
        one_sample_matches::<64, 1>();
        one_sample_matches::<1, 64>();
        one_sample_matches::<4, 4>();
        one_sample_matches::<16, 16>();
        one_sample_matches::<64, 64>();
    }

    fn one_sample_matches<const IN: usize, const OUT: usize>() {
        let value = |k: usize, m: usize| ((k * 7 % m) as f32 - (m / 2) as f32) / m as f32;
        let weight: Vec<f32> = (0..IN * OUT).map(|k| value(k, 13)).collect();
        let bias: Vec<f32> = (0..OUT).map(|k| value(k, 5)).collect();
        let x = SVector::<f32, IN>::from_fn(|i, _| value(i, 11));
        let a = forward_one::<f32, _, IN, OUT>(&Tanh, &weight, &bias, &x);
        for o in 0..OUT {
            let z = (0..IN).map(|i| f64::from(weight[o * IN + i]) * f64::from(x[i])).sum::<f64>();
            let exact = (f64::from(bias[o]) + z).tanh();
            assert!((f64::from(a[o]) - exact).abs() < 1e-6, "{IN}→{OUT}: a[{o}] {} against {exact}", a[o]);
        }
    }

    #[test]
    fn one_sample_forward_matches_batch_forward() {
        let weight = [0.5, -1.0, 0.25, 2.0, 1.5, -0.5];
        let bias = [0.1, -0.2, 0.3];
        let x = SVector::<f64, 2>::new(0.3, -0.7);
        let one: SVector<f64, 3> = forward_one::<f64, _, 2, 3>(&Tanh, &weight, &bias, &x);
        let mut batch = [0.0; 3];
        forward::<f64, _, 2, 3>(&Tanh, &weight, &bias, x.as_slice(), &mut batch);
        // Miri perturbs `tanh` by a few ulp on every call; elsewhere the two agree to 1 ulp.
        let tolerance = if cfg!(miri) { 1e-14 } else { f64::EPSILON };
        assert_relative_eq!(one.as_slice(), batch.as_slice(), max_relative = tolerance);
        assert_relative_eq!(one[0], (0.1_f64 + 0.5 * 0.3 + 0.7).tanh(), max_relative = tolerance);
    }
}
