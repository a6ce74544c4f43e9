//! Pooling, PyTorch's `max_pool2d`, `avg_pool2d`, their 1-D forms (height 1) and global
//! average pooling. Each channel of a sample `[C][H][W]` is reduced window by window:
//!
//! ```text
//! max:      a[c][i][j] = max_{p<kh, q<kw} x[c][i·s + p − pad][j·s + q − pad]   (padding never wins)
//!           ∂L/∂x = δ routed to the first maximal element of each window
//! average:  a[c][i][j] = 1/(kh·kw) · Σ_{p<kh, q<kw} x[c][i·s + p − pad][j·s + q − pad]
//!           (padding counts as zeros: PyTorch's count_include_pad = true)
//!           ∂L/∂x[c][h][w] = Σ_{windows holding (h, w)} δ[c][i][j] / (kh·kw)
//! global:   a[c] = 1/(H·W) · Σ_{h,w} x[c][h][w],   ∂L/∂x[c][h][w] = δ[c] / (H·W)
//! H′ = ⌊(H + 2·pad − kh)/s⌋ + 1,  likewise W′
//! ```
//!
//! Max pooling's kernel and stride are const generics (the macro writes them), so the loops
//! over a row's windows compile with constant strides. The training pass records each
//! window's argmax (its index in the plane, held as a `T`: exact below 2²⁴ pixels in `f32`),
//! which backward scatters `δ` to.

use crate::Real;
use crate::isa::vectorised;

/// The sizes of a pooling layer, as the generated code writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Input height and width `[H, W]` (`[1, L]` in 1-D).
    pub input: [usize; 2],
    /// Output height and width `[H′, W′]`.
    pub output: [usize; 2],
    /// Window height and width `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Steps between windows.
    pub stride: [usize; 2],
    /// Implicit cells before the first row and column (never the maximum; zeros in an average).
    pub padding: [usize; 2],
}

impl Window {
    const fn plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    const fn positions(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// The input indices along `axis` that output index `index`'s window covers inside the
    /// plane.
    #[inline]
    fn span(&self, index: usize, axis: usize) -> core::ops::Range<usize> {
        let start = index * self.stride[axis];
        let first = start.saturating_sub(self.padding[axis]);
        let end = (start + self.kernel[axis]).saturating_sub(self.padding[axis]).min(self.input[axis]);
        first..end
    }

    /// The flat index of the first maximal element (NaN counts as maximal, as in PyTorch)
    /// of output `(i, j)`'s window in `plane`.
    #[inline(always)]
    fn argmax<T: Real>(&self, plane: &[T], i: usize, j: usize) -> usize {
        let width = self.input[1];
        let (rows, cols) = if self.padding == [0, 0] {
            let (h, w) = (i * self.stride[0], j * self.stride[1]);
            (h..h + self.kernel[0], w..w + self.kernel[1])
        } else {
            (self.span(i, 0), self.span(j, 1))
        };
        let mut best = rows.start * width + cols.start;
        let mut largest = plane[best];
        for h in rows {
            for (at, &value) in (h * width + cols.start..).zip(&plane[h * width..][cols.clone()]) {
                if beats(value, largest) {
                    (best, largest) = (at, value);
                }
            }
        }
        best
    }
}

/// Whether `candidate` replaces `best` as a window's maximum: when larger, or NaN (so NaN
/// propagates, as in PyTorch); on a tie the first stays.
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // "not at most" is exactly "larger or NaN"
fn beats<T: Real>(candidate: T, best: T) -> bool {
    !(candidate <= best)
}

/// Max pooling over a batch (inference). `KH × KW` is the kernel and `(SH, SW)` the stride,
/// as in `window`: known at compile time, so the loops over a row's windows vectorise.
#[inline]
pub fn max_forward<T: Real, const KH: usize, const KW: usize, const SH: usize, const SW: usize>(
    window: &Window,
    input: &[T],
    output: &mut [T],
) {
    vectorised(
        #[inline(always)]
        || max_pool::<T, KH, KW, SH, SW>(window, input, output, None),
    );
}

/// Max pooling over a batch for training: also records each window's argmax, its index in
/// the plane, in `argmax` (output-shaped).
#[inline]
pub fn max_forward_train<T: Real, const KH: usize, const KW: usize, const SH: usize, const SW: usize>(
    window: &Window,
    input: &[T],
    output: &mut [T],
    argmax: &mut [T],
) {
    vectorised(
        #[inline(always)]
        || max_pool::<T, KH, KW, SH, SW>(window, input, output, Some(argmax)),
    );
}

/// The widest output row the row-by-row max pooling keeps on the stack.
const MAX_WIDTH: usize = 512;

/// Max pooling, recording the argmax when asked. Windows that never touch padding go row
/// by row: for each of a window's `KH` rows, every window's first maximum along that row,
/// then the first of those down the rows — the first maximum in row-major order, as
/// PyTorch's loop finds it.
#[inline(always)]
fn max_pool<T: Real, const KH: usize, const KW: usize, const SH: usize, const SW: usize>(
    window: &Window,
    input: &[T],
    output: &mut [T],
    mut argmax: Option<&mut [T]>,
) {
    let [width, columns] = [window.input[1], window.output[1]];
    if window.padding != [0, 0] || columns > MAX_WIDTH {
        return max_by_argmax(window, input, output, argmax);
    }
    let positions = window.positions();
    let (mut best, mut at) = ([T::zero(); MAX_WIDTH], [0_usize; MAX_WIDTH]);
    let (best, at) = (&mut best[..columns], &mut at[..columns]);
    for (n, (plane, out)) in
        input.chunks_exact(window.plane()).zip(output.chunks_exact_mut(positions)).enumerate()
    {
        for (i, out_row) in out.chunks_exact_mut(columns).enumerate() {
            for p in 0..KH {
                let first = (i * SH + p) * width;
                let row = &plane[first..][..(columns - 1) * SW + KW];
                for (j, (b, a)) in best.iter_mut().zip(at.iter_mut()).enumerate() {
                    let taps = &row[j * SW..][..KW];
                    let (mut value, mut q) = (taps[0], 0);
                    for (k, &tap) in taps.iter().enumerate().skip(1) {
                        if beats(tap, value) {
                            (value, q) = (tap, k);
                        }
                    }
                    if p == 0 || beats(value, *b) {
                        (*b, *a) = (value, first + j * SW + q);
                    }
                }
            }
            out_row.copy_from_slice(best);
            if let Some(argmax) = argmax.as_deref_mut() {
                let recorded = &mut argmax[n * positions + i * columns..][..columns];
                for (r, &a) in recorded.iter_mut().zip(at.iter()) {
                    *r = T::from_float(a as f64);
                }
            }
        }
    }
}

/// Max pooling window by window, through each window's argmax (recorded when asked).
#[inline(always)]
fn max_by_argmax<T: Real>(window: &Window, input: &[T], output: &mut [T], mut argmax: Option<&mut [T]>) {
    let (positions, columns) = (window.positions(), window.output[1]);
    for (n, (plane, out)) in
        input.chunks_exact(window.plane()).zip(output.chunks_exact_mut(positions)).enumerate()
    {
        for (k, a) in out.iter_mut().enumerate() {
            let at = window.argmax(plane, k / columns, k % columns);
            *a = plane[at];
            if let Some(argmax) = argmax.as_deref_mut() {
                argmax[n * positions + k] = T::from_float(at as f64);
            }
        }
    }
}

/// Max pooling's backward: `∂L/∂x` (overwritten) gets each `δ` at its window's argmax, as
/// the training pass recorded it.
#[inline]
pub fn max_backward<T: Real>(window: &Window, argmax: &[T], delta: &[T], grad_input: &mut [T]) {
    vectorised(
        #[inline(always)]
        || {
            let positions = window.positions();
            let planes = grad_input.chunks_exact_mut(window.plane());
            for ((gx, d), indices) in
                planes.zip(delta.chunks_exact(positions)).zip(argmax.chunks_exact(positions))
            {
                gx.fill(T::zero());
                for (&d, &index) in d.iter().zip(indices) {
                    gx[index.to_f64() as usize] += d;
                }
            }
        },
    );
}

/// Average pooling over a batch.
#[inline]
pub fn average_forward<T: Real>(window: &Window, input: &[T], output: &mut [T]) {
    let scale = T::one() / T::from_float((window.kernel[0] * window.kernel[1]) as f64);
    let width = window.input[1];
    let planes = input.chunks_exact(window.plane());
    for (plane, out) in planes.zip(output.chunks_exact_mut(window.positions())) {
        for (index, a) in out.iter_mut().enumerate() {
            let (rows, cols) =
                (window.span(index / window.output[1], 0), window.span(index % window.output[1], 1));
            let mut sum = T::zero();
            for h in rows {
                for &x in &plane[h * width..][cols.clone()] {
                    sum += x;
                }
            }
            *a = sum * scale;
        }
    }
}

/// Average pooling's backward: `∂L/∂x` (overwritten).
#[inline]
pub fn average_backward<T: Real>(window: &Window, delta: &[T], grad_input: &mut [T]) {
    let scale = T::one() / T::from_float((window.kernel[0] * window.kernel[1]) as f64);
    let width = window.input[1];
    let planes = grad_input.chunks_exact_mut(window.plane());
    for (gx, d) in planes.zip(delta.chunks_exact(window.positions())) {
        gx.fill(T::zero());
        for (index, &d) in d.iter().enumerate() {
            let (rows, cols) =
                (window.span(index / window.output[1], 0), window.span(index % window.output[1], 1));
            for h in rows {
                for g in &mut gx[h * width..][cols.clone()] {
                    *g += d * scale;
                }
            }
        }
    }
}

/// Global average pooling over a batch: each `plane`-long channel to its mean.
#[inline]
pub fn global_average_forward<T: Real>(plane: usize, input: &[T], output: &mut [T]) {
    let scale = T::one() / T::from_float(plane as f64);
    for (channel, a) in input.chunks_exact(plane).zip(output.iter_mut()) {
        *a = channel.iter().fold(T::zero(), |sum, &x| sum + x) * scale;
    }
}

/// Global average pooling's backward: `∂L/∂x` (overwritten) spreads each `δ` evenly.
#[inline]
pub fn global_average_backward<T: Real>(plane: usize, delta: &[T], grad_input: &mut [T]) {
    let scale = T::one() / T::from_float(plane as f64);
    for (channel, &d) in grad_input.chunks_exact_mut(plane).zip(delta) {
        channel.fill(d * scale);
    }
}
