//! Convolution, PyTorch's `conv1d`, `conv2d` and `conv_transpose2d`: cross-correlation (no
//! kernel flip) of `C` input planes with `O` filters, in `G` groups. A 1-D convolution is a
//! 2-D one of height 1. A sample is laid out `[C][H][W]`, the weight `[O][C/G][kh][kw]`.
//!
//! ```text
//! z[o][i][j] = b[o] + Σ_{c′<C/G} Σ_{p<kh} Σ_{q<kw} W[o][c′][p][q] · x[g·C/G + c′][i·s + p·d − pad][j·s + q·d − pad]
//!              (g = o div (O/G); positions outside the input read 0)
//! H′ = ⌊(H + 2·pad − d·(kh − 1) − 1)/s⌋ + 1,  likewise W′
//! ```
//!
//! Each group of a sample is one matrix product on the GEMM kernels ([`gemm`]). With
//! stride 1 the product is an *implicit GEMM*: the input (padded with zeros when the layer
//! pads) is read in place, row `(c′, p, q)` of the product's right operand being the input
//! shifted by `c′·H·W + p·d·W + q·d`, over the output positions taken at the input's width
//! `W` — `(H′ − 1)·W + W′` of them, the `W − W′` between consecutive rows computed and
//! dropped. Nothing is copied but the padding and the dropped columns. With a larger stride
//! the input is unfolded ("im2col") into columns `X̃[(c′, p, q)][(i, j)]` first. Either way
//!
//! ```text
//! forward:          Z_g = W_g · X̃_g + b                    (O/G × H′W′)
//! weight gradient:  ∂L/∂W_g = Σ_n Δ_g · X̃_gᵀ                (O/G × C/G·kh·kw)
//! input gradient:   ∂L/∂x = fold(W_gᵀ · Δ_g)                (fold sums the columns back)
//! bias gradient:    ∂L/∂b[o] = Σ_n Σ_{i,j} Δ[o][i][j]
//! ```
//!
//! A transposed convolution (`conv_transpose2d`, a "deconvolution") is the input gradient
//! of a convolution, so it runs on the same three products with the roles swapped: its
//! forward is `fold(Wᵀ·x)`, its input gradient a convolution of `∂L/∂a`, its weight
//! gradient `Σ_n x · unfold(∂L/∂a)ᵀ`. Its [`Geometry`] is that of the convolution it is
//! the gradient of: `channels` and `input` are the transposed layer's output, `filters`
//! and `output` its input, and the weight `[C_in][C_out/G][kh][kw]` is PyTorch's layout.
//!
//! Nothing is kept between the passes: padding and columns are recomputed in the backward
//! pass, as PyTorch does. The scratch ([`Geometry::scratch_len`]) holds, with stride 1, each
//! sample's padded input and full-width output gradient (as large as the layer's input and
//! output) and one product's result per thread; with a larger stride, one sample's columns.
//! A pointwise convolution (a 1×1 kernel, stride 1, no padding) is a plain product on its
//! input and needs no scratch at all. A batch's per-sample products are split across two
//! threads when [`gemm::set_threads`] allows, the weight gradient's rows too.

use core::cell::RefCell;

use crate::Real;
use crate::gemm::{self, Stride, Strided};
use crate::isa::vectorised;

/// The sizes of a convolution, as the generated code writes them (every field a literal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Input channels `C`.
    pub channels: usize,
    /// Output channels `O` (filters).
    pub filters: usize,
    /// Groups `G`: both `C` and `O` are multiples of it.
    pub groups: usize,
    /// Input height and width `[H, W]` (`[1, L]` in 1-D).
    pub input: [usize; 2],
    /// Output height and width `[H′, W′]`.
    pub output: [usize; 2],
    /// Kernel height and width `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Steps between windows `[s_h, s_w]`.
    pub stride: [usize; 2],
    /// Zeros before the first row and column; the zeros after them are implied by the
    /// output size (`padding = same` with an even kernel pads one more after).
    pub padding: [usize; 2],
    /// Steps between kernel taps `[d_h, d_w]`.
    pub dilation: [usize; 2],
}

impl Geometry {
    /// Values in one input sample, `C·H·W`.
    #[must_use]
    pub const fn input_len(&self) -> usize {
        self.channels * self.input[0] * self.input[1]
    }

    /// Values in one output sample, `O·H′·W′`.
    #[must_use]
    pub const fn output_len(&self) -> usize {
        self.filters * self.positions()
    }

    /// Output positions per channel, `H′·W′`.
    #[must_use]
    pub const fn positions(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// The depth of each product, `C/G·kh·kw`: the rows of a group's columns.
    #[must_use]
    pub const fn depth(&self) -> usize {
        self.channels / self.groups * self.kernel[0] * self.kernel[1]
    }

    /// Weight values, `O·C/G·kh·kw`.
    #[must_use]
    pub const fn weight_len(&self) -> usize {
        self.filters * self.depth()
    }

    /// Whether the columns are the input itself: a 1×1 kernel, stride 1, no padding.
    #[must_use]
    pub const fn is_pointwise(&self) -> bool {
        self.kernel[0] == 1
            && self.kernel[1] == 1
            && self.stride[0] == 1
            && self.stride[1] == 1
            && self.padding[0] == 0
            && self.padding[1] == 0
    }

    /// The workspace a batch of `batch` samples needs (0 when pointwise): with stride 1,
    /// each sample's padded input and full-width gradient rows, and one product's result
    /// ([`Geometry::is_implicit`]); else one sample's unfolded columns.
    #[must_use]
    pub const fn scratch_len(&self, batch: usize) -> usize {
        if self.is_pointwise() {
            0
        } else if self.is_implicit() {
            batch * (self.padded_len() + self.wide_len()) + PARTS * self.work_len()
        } else {
            self.depth() * self.positions()
        }
    }

    /// Whether the products read the input in place (stride 1; see the module docs).
    #[must_use]
    pub const fn is_implicit(&self) -> bool {
        self.stride[0] == 1 && self.stride[1] == 1
    }

    /// The input's height and width with its padding, as the implicit products read it:
    /// `H′ + d·(kh − 1)` by `W′ + d·(kw − 1)`.
    const fn padded(&self) -> [usize; 2] {
        [
            self.output[0] + self.dilation[0] * (self.kernel[0] - 1),
            self.output[1] + self.dilation[1] * (self.kernel[1] - 1),
        ]
    }

    const fn is_padded(&self) -> bool {
        self.padding[0] > 0 || self.padding[1] > 0
    }

    /// Values of the padded input (0 when the layer does not pad: the input is read as is).
    const fn padded_len(&self) -> usize {
        if self.is_padded() { self.channels * self.padded()[0] * self.padded()[1] } else { 0 }
    }

    /// Output positions at the padded input's width: `(H′ − 1)·W_p + W′`.
    const fn span(&self) -> usize {
        (self.output[0] - 1) * self.padded()[1] + self.output[1]
    }

    /// Whether the full-width rows are the output's rows (one output row, or no columns
    /// dropped between rows).
    const fn is_compact(&self) -> bool {
        self.span() == self.positions()
    }

    /// Values of one sample's output at full width (0 when compact).
    const fn wide_len(&self) -> usize {
        if self.is_compact() { 0 } else { self.filters * self.span() }
    }

    /// Values of one product's result: a group's columns `C/G·kh·kw × span` (the input
    /// gradient) or its full-width output `O/G × span`.
    const fn work_len(&self) -> usize {
        let depth = self.depth();
        let filters = self.filters_per_group();
        (if depth > filters { depth } else { filters }) * self.span()
    }

    /// Output channels per group.
    const fn filters_per_group(&self) -> usize {
        self.filters / self.groups
    }

    /// Input channels per group.
    const fn channels_per_group(&self) -> usize {
        self.channels / self.groups
    }
}

/// The most parts a batch's per-sample products are split into, one per thread, when
/// [`gemm::set_threads`] allows more than one (the products themselves split by rows too).
const PARTS: usize = 2;

/// Multiply-adds of a batch's per-sample products from which they are split across threads.
const PARALLEL_MULTIPLY_ADDS: usize = 1 << 21;

/// Runs `each(first, part, slots, work)` over the samples in up to [`PARTS`] contiguous
/// parts, on as many threads: `part` holds the samples' values (`per_sample` each), `slots`
/// their scratch slots (`per_slot` each), `work` one part's share of `work`. Splits only
/// when there are threads to spare and `multiply_adds` make it worth a thread.
fn in_parts<T: Send>(
    (values, per_sample): (&mut [T], usize),
    (slots, per_slot): (&mut [T], usize),
    work: &mut [T],
    multiply_adds: usize,
    each: &(impl Fn(usize, &mut [T], &mut [T], &mut [T]) + Sync),
) {
    let batch = values.len() / per_sample;
    let (own, spare) = work.split_at_mut(work.len() / PARTS);
    if gemm::threads() < 2 || batch < 2 || multiply_adds < PARALLEL_MULTIPLY_ADDS {
        return each(0, values, slots, own);
    }
    let half = batch / 2;
    let (first, second) = values.split_at_mut(half * per_sample);
    let (first_slots, second_slots) = slots.split_at_mut(half * per_slot);
    rayon::join(|| each(0, first, first_slots, own), || each(half, second, second_slots, spare));
}

/// Training and inference forward over a batch: `output = W ⋆ input + b` (`z`, before
/// any activation). `scratch` holds [`Geometry::scratch_len`] values.
#[inline]
pub fn forward<T: Real>(
    geometry: &Geometry,
    (weight, bias): (&[T], Option<&[T]>),
    input: &[T],
    output: &mut [T],
    scratch: &mut [T],
) {
    vectorised(
        #[inline(always)]
        || {
            correlate_all(geometry, weight, input, output, scratch);
            if let Some(bias) = bias {
                add_bias(bias, output, geometry.positions());
            }
        },
    );
}

/// Backward over a batch given `δ = ∂L/∂z`: writes `∂L/∂W`, `∂L/∂b` (overwriting) and, when
/// asked, `∂L/∂x`.
#[inline]
pub fn backward<T: Real>(
    geometry: &Geometry,
    weight: &[T],
    input: &[T],
    delta: &[T],
    (grad_weight, grad_bias): (&mut [T], Option<&mut [T]>),
    grad_input: Option<&mut [T]>,
    scratch: &mut [T],
) {
    vectorised(
        #[inline(always)]
        || {
            if let Some(grad_bias) = grad_bias {
                bias_gradient(delta, grad_bias, geometry.filters, geometry.positions());
            }
            weight_gradient_all(geometry, input, delta, grad_weight, scratch);
            if let Some(grad_input) = grad_input {
                correlate_transposed_all(geometry, weight, delta, grad_input, scratch);
            }
        },
    );
}

/// A transposed convolution's forward over a batch: `output = fold(Wᵀ·input) + b`, `b` per
/// output channel (the geometry's `channels`).
#[inline]
pub fn transposed_forward<T: Real>(
    geometry: &Geometry,
    (weight, bias): (&[T], Option<&[T]>),
    input: &[T],
    output: &mut [T],
    scratch: &mut [T],
) {
    vectorised(
        #[inline(always)]
        || {
            correlate_transposed_all(geometry, weight, input, output, scratch);
            if let Some(bias) = bias {
                add_bias(bias, output, geometry.input[0] * geometry.input[1]);
            }
        },
    );
}

/// A transposed convolution's backward over a batch given `δ = ∂L/∂z`: `∂L/∂W = Σ_n x ·
/// unfold(δ)ᵀ`, `∂L/∂b` per output channel and, when asked, `∂L/∂x = W ⋆ δ`.
#[inline]
pub fn transposed_backward<T: Real>(
    geometry: &Geometry,
    weight: &[T],
    input: &[T],
    delta: &[T],
    (grad_weight, grad_bias): (&mut [T], Option<&mut [T]>),
    grad_input: Option<&mut [T]>,
    scratch: &mut [T],
) {
    vectorised(
        #[inline(always)]
        || {
            if let Some(grad_bias) = grad_bias {
                bias_gradient(delta, grad_bias, geometry.channels, geometry.input[0] * geometry.input[1]);
            }
            weight_gradient_all(geometry, delta, input, grad_weight, scratch);
            if let Some(grad_input) = grad_input {
                correlate_all(geometry, weight, delta, grad_input, scratch);
            }
        },
    );
}

/// `y = W ⋆ x` (no bias) for every sample: `xs` `[N][C][H][W]`, `ys` `[N][O][H′][W′]`.
#[inline(always)]
fn correlate_all<T: Real>(geometry: &Geometry, weight: &[T], xs: &[T], ys: &mut [T], scratch: &mut [T]) {
    if geometry.is_implicit() && !geometry.is_pointwise() {
        return implicit::correlate_all(geometry, weight, xs, ys, scratch);
    }
    let (depth, positions) = (geometry.depth(), geometry.positions());
    let filters = geometry.filters_per_group();
    for (x, y) in xs.chunks_exact(geometry.input_len()).zip(ys.chunks_exact_mut(geometry.output_len())) {
        for group in 0..geometry.groups {
            let unfolded = unfold(geometry, x, group, scratch);
            let w = Strided::rows(&weight[group * filters * depth..], depth);
            let c = &mut y[group * filters * positions..];
            gemm::multiply(
                c,
                positions,
                w,
                Strided::rows(unfolded, positions),
                (filters, positions, depth),
                false,
            );
        }
    }
}

/// `x = fold(Wᵀ·y)` (overwriting `x`) for every sample.
#[inline(always)]
fn correlate_transposed_all<T: Real>(
    geometry: &Geometry,
    weight: &[T],
    ys: &[T],
    xs: &mut [T],
    scratch: &mut [T],
) {
    if geometry.is_implicit() && !geometry.is_pointwise() {
        return implicit::correlate_transposed_all(geometry, weight, ys, xs, scratch);
    }
    let (depth, positions) = (geometry.depth(), geometry.positions());
    let filters = geometry.filters_per_group();
    let plane = geometry.input[0] * geometry.input[1];
    for (y, x) in ys.chunks_exact(geometry.output_len()).zip(xs.chunks_exact_mut(geometry.input_len())) {
        for group in 0..geometry.groups {
            let wt = Strided::transposed(&weight[group * filters * depth..], depth);
            let d = Strided::rows(&y[group * filters * positions..], positions);
            let shape = (depth, positions, filters);
            if geometry.is_pointwise() {
                let x = &mut x[group * depth * plane..];
                gemm::multiply(x, positions, wt, d, shape, false);
            } else {
                gemm::multiply(scratch, positions, wt, d, shape, false);
                fold(geometry, scratch, group, x);
            }
        }
    }
}

/// `∂L/∂W_g = Σ_n Δ_g · X̃_gᵀ` (overwriting) over every sample.
#[inline(always)]
fn weight_gradient_all<T: Real>(
    geometry: &Geometry,
    xs: &[T],
    deltas: &[T],
    grad_weight: &mut [T],
    scratch: &mut [T],
) {
    if geometry.is_implicit() && !geometry.is_pointwise() {
        return implicit::weight_gradient_all(geometry, xs, deltas, grad_weight, scratch);
    }
    let (depth, positions) = (geometry.depth(), geometry.positions());
    let filters = geometry.filters_per_group();
    let samples = xs.chunks_exact(geometry.input_len()).zip(deltas.chunks_exact(geometry.output_len()));
    for (n, (x, delta)) in samples.enumerate() {
        for group in 0..geometry.groups {
            let unfolded = unfold(geometry, x, group, scratch);
            let d = Strided::rows(&delta[group * filters * positions..], positions);
            let c = &mut grad_weight[group * filters * depth..];
            let shape = (filters, depth, positions);
            gemm::multiply(c, depth, d, Strided::transposed(unfolded, positions), shape, n > 0);
        }
    }
}

/// The stride-1 products, reading the (padded) input in place: see the module docs.
mod implicit {
    use super::{Geometry, PARTS, RefCell, Stride, copy_short, in_parts};
    use crate::Real;
    use crate::gemm;

    /// A batch's scratch: every sample's padded input (or its gradient) and full-width
    /// output gradient, and one product's result.
    struct Scratch<'a, T> {
        padded: &'a mut [T],
        wide: &'a mut [T],
        work: &'a mut [T],
    }

    fn split<'a, T>(geometry: &Geometry, scratch: &'a mut [T], batch: usize) -> Scratch<'a, T> {
        let (padded, rest) = scratch.split_at_mut(batch * geometry.padded_len());
        let (wide, rest) = rest.split_at_mut(batch * geometry.wide_len());
        Scratch { padded, wide, work: &mut rest[..PARTS * geometry.work_len()] }
    }

    /// Runs `f` with where each row `(c′, p, q)` of a group's product begins in its padded
    /// planes: `c′·H_p·W_p + p·d_h·W_p + q·d_w`. The table lives in a thread-local buffer,
    /// so a warm pass allocates nothing.
    fn with_offsets<R>(geometry: &Geometry, f: impl FnOnce(&[usize]) -> R) -> R {
        thread_local! {
            static OFFSETS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
        }
        let [height, width] = geometry.padded();
        let ([kh, kw], [dh, dw]) = (geometry.kernel, geometry.dilation);
        let channels = geometry.channels / geometry.groups;
        let fill = |offsets: &mut Vec<usize>| {
            offsets.clear();
            for c in 0..channels {
                for p in 0..kh {
                    offsets.extend((0..kw).map(|q| c * height * width + p * dh * width + q * dw));
                }
            }
        };
        OFFSETS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut offsets) => {
                fill(&mut offsets);
                f(&offsets)
            }
            Err(_) => {
                let mut offsets = Vec::new();
                fill(&mut offsets);
                f(&offsets)
            }
        })
    }

    /// Every sample with its zeros around it, in `padded` (or the samples themselves when the
    /// layer does not pad), and the distance between samples.
    #[inline(always)]
    fn pad<'a, T: Real>(geometry: &Geometry, xs: &'a [T], padded: &'a mut [T]) -> (&'a [T], usize) {
        if !geometry.is_padded() {
            return (xs, geometry.input_len());
        }
        let ([height, width], [ph, pw], [_, wide]) = (geometry.input, geometry.padding, geometry.padded());
        padded.fill(T::zero());
        let planes = padded.chunks_exact_mut(geometry.padded()[0] * wide);
        for (target, source) in planes.zip(xs.chunks_exact(height * width)) {
            for (h, row) in source.chunks_exact(width).enumerate() {
                copy_short(&mut target[(h + ph) * wide + pw..][..width], row);
            }
        }
        (padded, geometry.padded_len())
    }

    /// `x` = the interior of one sample's padded gradient `padded`.
    #[inline(always)]
    fn unpad<T: Real>(geometry: &Geometry, padded: &[T], x: &mut [T]) {
        let ([height, width], [ph, pw], [_, wide]) = (geometry.input, geometry.padding, geometry.padded());
        let planes = padded.chunks_exact(geometry.padded()[0] * wide);
        for (source, target) in planes.zip(x.chunks_exact_mut(height * width)) {
            for (h, row) in target.chunks_exact_mut(width).enumerate() {
                copy_short(row, &source[(h + ph) * wide + pw..][..width]);
            }
        }
    }

    /// Output-shaped values (`[rows][H′][W′]`, every sample) at the padded width, zeros in
    /// the columns between rows (or the values themselves when compact), and the distance
    /// between samples.
    #[inline(always)]
    fn widen<'a, T: Real>(geometry: &Geometry, deltas: &'a [T], wide: &'a mut [T]) -> (&'a [T], usize) {
        if geometry.is_compact() {
            return (deltas, geometry.output_len());
        }
        let ([_, columns], [_, width], span) = (geometry.output, geometry.padded(), geometry.span());
        for (target, source) in wide.chunks_exact_mut(span).zip(deltas.chunks_exact(geometry.positions())) {
            target.fill(T::zero());
            for (i, row) in source.chunks_exact(columns).enumerate() {
                copy_short(&mut target[i * width..][..columns], row);
            }
        }
        (wide, geometry.wide_len())
    }

    /// The output rows of full-width rows: drops the columns between them.
    #[inline(always)]
    fn narrow<T: Real>(geometry: &Geometry, full: &[T], y: &mut [T]) {
        let ([_, columns], [_, width], span) = (geometry.output, geometry.padded(), geometry.span());
        for (source, target) in full.chunks_exact(span).zip(y.chunks_exact_mut(geometry.positions())) {
            for (i, row) in target.chunks_exact_mut(columns).enumerate() {
                copy_short(row, &source[i * width..][..columns]);
            }
        }
    }

    /// `y = W ⋆ x` for every sample: one product per sample and group.
    #[inline(always)]
    pub(super) fn correlate_all<T: Real>(
        geometry: &Geometry,
        weight: &[T],
        xs: &[T],
        ys: &mut [T],
        scratch: &mut [T],
    ) {
        let batch = xs.len() / geometry.input_len();
        let Scratch { padded, work, .. } = split(geometry, scratch, batch);
        let (sources, step) = pad(geometry, xs, padded);
        let (depth, positions, span) = (geometry.depth(), geometry.positions(), geometry.span());
        let (filters, plane) = (geometry.filters_per_group(), geometry.padded()[0] * geometry.padded()[1]);
        let channels = geometry.channels / geometry.groups;
        let multiply_adds = batch * geometry.filters * span * depth;
        with_offsets(geometry, |offsets| {
            let each = |first: usize, ys: &mut [T], _: &mut [T], work: &mut [T]| {
                for (n, y) in (first..).zip(ys.chunks_exact_mut(geometry.output_len())) {
                    for group in 0..geometry.groups {
                        let w = &weight[group * filters * depth..];
                        let q = &sources[n * step + group * channels * plane..];
                        let y = &mut y[group * filters * positions..][..filters * positions];
                        let target = if geometry.is_compact() { &mut *y } else { &mut *work };
                        gemm::outer_at(
                            target,
                            span,
                            w,
                            (depth, 1),
                            q,
                            offsets,
                            (filters, span, depth),
                            false,
                        );
                        if !geometry.is_compact() {
                            narrow(geometry, work, y);
                        }
                    }
                }
            };
            in_parts((ys, geometry.output_len()), (&mut [], 0), work, multiply_adds, &each);
        });
    }

    /// `x = fold(Wᵀ·y)` for every sample: each group's columns `W_gᵀ·Δ_g`, each column added
    /// onto the padded planes at its row's offset.
    #[inline(always)]
    pub(super) fn correlate_transposed_all<T: Real>(
        geometry: &Geometry,
        weight: &[T],
        ys: &[T],
        xs: &mut [T],
        scratch: &mut [T],
    ) {
        let batch = ys.len() / geometry.output_len();
        let Scratch { padded, wide, work } = split(geometry, scratch, batch);
        let (deltas, step) = widen(geometry, ys, wide);
        let (depth, span) = (geometry.depth(), geometry.span());
        let (filters, plane) = (geometry.filters_per_group(), geometry.padded()[0] * geometry.padded()[1]);
        let channels = geometry.channels / geometry.groups;
        let multiply_adds = batch * geometry.filters * span * depth;
        with_offsets(geometry, |offsets| {
            // Each part folds into its first sample's padded slot, one sample at a time.
            let each = |first: usize, xs: &mut [T], padded: &mut [T], work: &mut [T]| {
                let padded = &mut padded[..geometry.padded_len()];
                for (n, x) in (first..).zip(xs.chunks_exact_mut(geometry.input_len())) {
                    let target: &mut [T] = if geometry.is_padded() { &mut *padded } else { &mut *x };
                    target.fill(T::zero());
                    for group in 0..geometry.groups {
                        let w = &weight[group * filters * depth..];
                        let d = &deltas[n * step + group * filters * span..];
                        gemm::outer_at(
                            work,
                            span,
                            w,
                            (1, depth),
                            d,
                            Stride(span),
                            (depth, span, filters),
                            false,
                        );
                        let planes = &mut target[group * channels * plane..];
                        for (&offset, row) in offsets.iter().zip(work.chunks_exact(span)) {
                            for (t, &value) in planes[offset..][..span].iter_mut().zip(row) {
                                *t += value;
                            }
                        }
                    }
                    if geometry.is_padded() {
                        unpad(geometry, padded, x);
                    }
                }
            };
            let slots = (padded, geometry.padded_len());
            in_parts((xs, geometry.input_len()), slots, work, multiply_adds, &each);
        });
    }

    /// `∂L/∂W_g = Σ_n Δ_g · X̃_gᵀ` (overwriting): one call per group for the whole batch,
    /// whose sums run over every sample's positions.
    #[inline(always)]
    pub(super) fn weight_gradient_all<T: Real>(
        geometry: &Geometry,
        xs: &[T],
        deltas: &[T],
        grad_weight: &mut [T],
        scratch: &mut [T],
    ) {
        let batch = xs.len() / geometry.input_len();
        let Scratch { padded, wide, .. } = split(geometry, scratch, batch);
        let (sources, source_step) = pad(geometry, xs, padded);
        let (deltas, delta_step) = widen(geometry, deltas, wide);
        let (depth, span) = (geometry.depth(), geometry.span());
        let (filters, plane) = (geometry.filters_per_group(), geometry.padded()[0] * geometry.padded()[1]);
        let channels = geometry.channels / geometry.groups;
        with_offsets(geometry, |offsets| {
            for group in 0..geometry.groups {
                let d = (&deltas[group * filters * span..], span, delta_step);
                let q = (&sources[group * channels * plane..], offsets, source_step);
                let c = &mut grad_weight[group * filters * depth..];
                gemm::dot_rows_batched(c, depth, d, q, (filters, depth, span), batch, false);
            }
        });
    }
}

/// `y[n][o][·] += b[o]` over every sample's `plane`-long channels.
#[inline(always)]
fn add_bias<T: Real>(bias: &[T], ys: &mut [T], plane: usize) {
    for y in ys.chunks_exact_mut(bias.len() * plane) {
        for (channel, &b) in y.chunks_exact_mut(plane).zip(bias) {
            for value in channel {
                *value += b;
            }
        }
    }
}

/// `∂L/∂b[o] = Σ_n Σ_position δ[n][o][position]`.
#[inline(always)]
fn bias_gradient<T: Real>(delta: &[T], grad_bias: &mut [T], channels: usize, plane: usize) {
    let grad_bias = &mut grad_bias[..channels];
    grad_bias.fill(T::zero());
    for sample in delta.chunks_exact(channels * plane) {
        for (g, channel) in grad_bias.iter_mut().zip(sample.chunks_exact(plane)) {
            *g += sum(channel);
        }
    }
}

/// `Σ values` in eight independent lanes, so it vectorises.
#[inline(always)]
fn sum<T: Real>(values: &[T]) -> T {
    let (chunks, rest) = values.as_chunks::<8>();
    let lanes = chunks.iter().fold([T::zero(); 8], |mut lanes, chunk| {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane += value;
        }
        lanes
    });
    rest.iter().fold(gemm::sum_lanes(lanes), |total, &value| total + value)
}

/// The output columns `j` whose input column `j·s + q·d − pad` lies in `0..width`.
fn valid_range(width: usize, output: usize, stride: usize, offset: usize, padding: usize) -> (usize, usize) {
    // j·s + offset ≥ padding  and  j·s + offset < width + padding.
    let start = padding.saturating_sub(offset).div_ceil(stride).min(output);
    let end = (width + padding).saturating_sub(offset).div_ceil(stride).clamp(start, output);
    (start, end)
}

/// Group `group`'s columns of one sample: `X̃[(c′, p, q)][(i, j)]`, zero where the kernel
/// reads padding. Returns the input itself when the geometry is pointwise.
#[inline(always)]
fn unfold<'a, T: Real>(geometry: &Geometry, x: &'a [T], group: usize, columns: &'a mut [T]) -> &'a [T] {
    let [height, width] = geometry.input;
    let per_group = geometry.channels_per_group();
    if geometry.is_pointwise() {
        return &x[group * per_group * height * width..][..per_group * height * width];
    }
    let ([kh, kw], [sh, sw]) = (geometry.kernel, geometry.stride);
    let ([ph, pw], [dh, dw]) = (geometry.padding, geometry.dilation);
    let [rows, cols] = geometry.output;
    let positions = rows * cols;
    let planes = x[group * per_group * height * width..].chunks_exact(height * width).take(per_group);
    let mut targets = columns.chunks_exact_mut(positions);
    for plane in planes {
        for p in 0..kh {
            for q in 0..kw {
                let Some(target) = targets.next() else { return columns };
                let (start, end) = valid_range(width, cols, sw, q * dw, pw);
                for (i, row) in target.chunks_exact_mut(cols).enumerate() {
                    let h = (i * sh + p * dh).wrapping_sub(ph);
                    if h >= height || start == end {
                        row.fill(T::zero());
                        continue;
                    }
                    let source = &plane[h * width..][..width];
                    row[..start].fill(T::zero());
                    row[end..].fill(T::zero());
                    let first = start * sw + q * dw - pw;
                    if sw == 1 {
                        copy_short(&mut row[start..end], &source[first..]);
                    } else {
                        for (value, &s) in row[start..end].iter_mut().zip(source[first..].iter().step_by(sw))
                        {
                            *value = s;
                        }
                    }
                }
            }
        }
    }
    &columns[..geometry.depth() * positions]
}

/// `target = source[..target.len()]` for a short row, in blocks of 8 whose copies inline
/// (a `copy_from_slice` of unknown length calls `memmove`, which costs more than the copy at
/// the lengths of an image row).
#[inline(always)]
fn copy_short<T: Copy>(target: &mut [T], source: &[T]) {
    let mut from = source[..target.len()].chunks_exact(8);
    let mut blocks = target.chunks_exact_mut(8);
    for (block, values) in (&mut blocks).zip(&mut from) {
        block.copy_from_slice(values);
    }
    for (value, &s) in blocks.into_remainder().iter_mut().zip(from.remainder()) {
        *value = s;
    }
}

/// The inverse of [`unfold`] for gradients: overwrites group `group`'s planes of `x` with
/// the sum of every column entry that read each pixel.
#[inline(always)]
fn fold<T: Real>(geometry: &Geometry, columns: &[T], group: usize, x: &mut [T]) {
    let [height, width] = geometry.input;
    let per_group = geometry.channels_per_group();
    let ([kh, kw], [sh, sw]) = (geometry.kernel, geometry.stride);
    let ([ph, pw], [dh, dw]) = (geometry.padding, geometry.dilation);
    let [rows, cols] = geometry.output;
    let planes = x[group * per_group * height * width..].chunks_exact_mut(height * width).take(per_group);
    let mut sources = columns.chunks_exact(rows * cols);
    for plane in planes {
        plane.fill(T::zero());
        for p in 0..kh {
            for q in 0..kw {
                let Some(source) = sources.next() else { return };
                let (start, end) = valid_range(width, cols, sw, q * dw, pw);
                for (i, row) in source.chunks_exact(cols).enumerate() {
                    let h = (i * sh + p * dh).wrapping_sub(ph);
                    if h >= height || start == end {
                        continue;
                    }
                    let target = &mut plane[h * width..][..width];
                    let first = start * sw + q * dw - pw;
                    for (&value, t) in row[start..end].iter().zip(target[first..].iter_mut().step_by(sw)) {
                        *t += value;
                    }
                }
            }
        }
    }
}
