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
//! Each group of a sample is one matrix product on the packed GEMM ([`gemm::multiply`]):
//! the input is unfolded ("im2col") into columns `X̃[(c′, p, q)][(i, j)]`, and then
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
//! Columns are recomputed in the backward pass (as PyTorch does) rather than kept, so a
//! layer's workspace holds one sample's columns, not a batch's. A pointwise convolution
//! (a 1×1 kernel, stride 1, no padding) reads its input in place: its columns are the input.

use crate::Real;
use crate::gemm::{self, Strided};

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

    /// The workspace one sample's columns need (0 when pointwise).
    #[must_use]
    pub const fn columns_len(&self) -> usize {
        if self.is_pointwise() { 0 } else { self.depth() * self.positions() }
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

/// Training and inference forward over a batch: `output = W ⋆ input + b` (`z`, before
/// any activation). `columns` holds [`Geometry::columns_len`] values.
#[inline]
pub fn forward<T: Real>(
    geometry: &Geometry,
    (weight, bias): (&[T], Option<&[T]>),
    input: &[T],
    output: &mut [T],
    columns: &mut [T],
) {
    let samples = input.chunks_exact(geometry.input_len());
    for (x, y) in samples.zip(output.chunks_exact_mut(geometry.output_len())) {
        correlate(geometry, weight, x, y, columns);
        if let Some(bias) = bias {
            add_bias(bias, y, geometry.positions());
        }
    }
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
    mut grad_input: Option<&mut [T]>,
    columns: &mut [T],
) {
    if let Some(grad_bias) = grad_bias {
        bias_gradient(delta, grad_bias, geometry.filters, geometry.positions());
    }
    let (inputs, outputs) = (geometry.input_len(), geometry.output_len());
    for (n, (x, d)) in input.chunks_exact(inputs).zip(delta.chunks_exact(outputs)).enumerate() {
        weight_gradient(geometry, x, d, grad_weight, columns, n > 0);
        if let Some(grad_input) = grad_input.as_deref_mut() {
            correlate_transposed(geometry, weight, d, &mut grad_input[n * inputs..][..inputs], columns);
        }
    }
}

/// A transposed convolution's forward over a batch: `output = fold(Wᵀ·input) + b`, `b` per
/// output channel (the geometry's `channels`).
#[inline]
pub fn transposed_forward<T: Real>(
    geometry: &Geometry,
    (weight, bias): (&[T], Option<&[T]>),
    input: &[T],
    output: &mut [T],
    columns: &mut [T],
) {
    let samples = input.chunks_exact(geometry.output_len());
    for (x, y) in samples.zip(output.chunks_exact_mut(geometry.input_len())) {
        correlate_transposed(geometry, weight, x, y, columns);
        if let Some(bias) = bias {
            add_bias(bias, y, geometry.input[0] * geometry.input[1]);
        }
    }
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
    mut grad_input: Option<&mut [T]>,
    columns: &mut [T],
) {
    let planes = geometry.input[0] * geometry.input[1];
    if let Some(grad_bias) = grad_bias {
        bias_gradient(delta, grad_bias, geometry.channels, planes);
    }
    let (inputs, outputs) = (geometry.output_len(), geometry.input_len());
    for (n, (x, d)) in input.chunks_exact(inputs).zip(delta.chunks_exact(outputs)).enumerate() {
        weight_gradient(geometry, d, x, grad_weight, columns, n > 0);
        if let Some(grad_input) = grad_input.as_deref_mut() {
            correlate(geometry, weight, d, &mut grad_input[n * inputs..][..inputs], columns);
        }
    }
}

/// One sample: `y = W ⋆ x` (no bias), one product per group.
fn correlate<T: Real>(geometry: &Geometry, weight: &[T], x: &[T], y: &mut [T], columns: &mut [T]) {
    let (depth, positions) = (geometry.depth(), geometry.positions());
    let filters = geometry.filters_per_group();
    for group in 0..geometry.groups {
        let unfolded = unfold(geometry, x, group, columns);
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

/// One sample: `x = fold(Wᵀ·y)` (overwriting `x`), one product per group.
fn correlate_transposed<T: Real>(geometry: &Geometry, weight: &[T], y: &[T], x: &mut [T], columns: &mut [T]) {
    let (depth, positions) = (geometry.depth(), geometry.positions());
    let filters = geometry.filters_per_group();
    let plane = geometry.input[0] * geometry.input[1];
    for group in 0..geometry.groups {
        let wt = Strided::transposed(&weight[group * filters * depth..], depth);
        let d = Strided::rows(&y[group * filters * positions..], positions);
        let shape = (depth, positions, filters);
        if geometry.is_pointwise() {
            let x = &mut x[group * depth * plane..];
            gemm::multiply(x, positions, wt, d, shape, false);
        } else {
            gemm::multiply(columns, positions, wt, d, shape, false);
            fold(geometry, columns, group, x);
        }
    }
}

/// One sample's contribution `∂L/∂W_g (+)= Δ_g · X̃_gᵀ`; overwrites unless `accumulate`.
fn weight_gradient<T: Real>(
    geometry: &Geometry,
    x: &[T],
    delta: &[T],
    grad_weight: &mut [T],
    columns: &mut [T],
    accumulate: bool,
) {
    let (depth, positions) = (geometry.depth(), geometry.positions());
    let filters = geometry.filters_per_group();
    for group in 0..geometry.groups {
        let unfolded = unfold(geometry, x, group, columns);
        let d = Strided::rows(&delta[group * filters * positions..], positions);
        let c = &mut grad_weight[group * filters * depth..];
        let shape = (filters, depth, positions);
        gemm::multiply(c, depth, d, Strided::transposed(unfolded, positions), shape, accumulate);
    }
}

/// `y[o][·] += b[o]` over one sample's `planes`-long channels.
fn add_bias<T: Real>(bias: &[T], y: &mut [T], plane: usize) {
    for (channel, &b) in y.chunks_exact_mut(plane).zip(bias) {
        for value in channel {
            *value += b;
        }
    }
}

/// `∂L/∂b[o] = Σ_n Σ_position δ[n][o][position]`.
fn bias_gradient<T: Real>(delta: &[T], grad_bias: &mut [T], channels: usize, plane: usize) {
    let grad_bias = &mut grad_bias[..channels];
    grad_bias.fill(T::zero());
    for sample in delta.chunks_exact(channels * plane) {
        for (g, channel) in grad_bias.iter_mut().zip(sample.chunks_exact(plane)) {
            *g += channel.iter().fold(T::zero(), |sum, &d| sum + d);
        }
    }
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
                        row[start..end].copy_from_slice(&source[first..first + end - start]);
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

/// The inverse of [`unfold`] for gradients: overwrites group `group`'s planes of `x` with
/// the sum of every column entry that read each pixel.
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
