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
//! The max pass does not store its argmax: backward finds it again in the input, with the
//! same comparison, so a training step keeps nothing besides the output.

use crate::Real;

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

    /// The input pixels of output position `(i, j)`'s window that lie inside the plane, as
    /// row and column ranges.
    fn span(&self, i: usize, j: usize) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
        let clip = |index: usize, axis: usize| {
            let start = index * self.stride[axis];
            let first = start.saturating_sub(self.padding[axis]);
            let end = (start + self.kernel[axis]).saturating_sub(self.padding[axis]).min(self.input[axis]);
            first..end
        };
        (clip(i, 0), clip(j, 1))
    }

    /// The flat index of the first maximal element of `(i, j)`'s window in `plane`.
    fn argmax<T: Real>(&self, plane: &[T], i: usize, j: usize) -> usize {
        let (rows, cols) = self.span(i, j);
        let width = self.input[1];
        let mut best = rows.start * width + cols.start;
        for h in rows {
            for w in cols.clone() {
                // Strictly greater: the first maximum wins, as in PyTorch.
                if plane[h * width + w] > plane[best] {
                    best = h * width + w;
                }
            }
        }
        best
    }
}

/// Max pooling over a batch.
#[inline]
pub fn max_forward<T: Real>(window: &Window, input: &[T], output: &mut [T]) {
    let planes = input.chunks_exact(window.plane());
    for (plane, out) in planes.zip(output.chunks_exact_mut(window.positions())) {
        for (index, a) in out.iter_mut().enumerate() {
            let (i, j) = (index / window.output[1], index % window.output[1]);
            *a = plane[window.argmax(plane, i, j)];
        }
    }
}

/// Max pooling's backward: `∂L/∂x` (overwritten) gets each `δ` at its window's argmax.
#[inline]
pub fn max_backward<T: Real>(window: &Window, input: &[T], delta: &[T], grad_input: &mut [T]) {
    let plane = window.plane();
    let planes = input.chunks_exact(plane).zip(grad_input.chunks_exact_mut(plane));
    for ((x, gx), d) in planes.zip(delta.chunks_exact(window.positions())) {
        gx.fill(T::zero());
        for (index, &d) in d.iter().enumerate() {
            let (i, j) = (index / window.output[1], index % window.output[1]);
            gx[window.argmax(x, i, j)] += d;
        }
    }
}

/// Average pooling over a batch.
#[inline]
pub fn average_forward<T: Real>(window: &Window, input: &[T], output: &mut [T]) {
    let scale = T::one() / T::from_float((window.kernel[0] * window.kernel[1]) as f64);
    let width = window.input[1];
    let planes = input.chunks_exact(window.plane());
    for (plane, out) in planes.zip(output.chunks_exact_mut(window.positions())) {
        for (index, a) in out.iter_mut().enumerate() {
            let (rows, cols) = window.span(index / window.output[1], index % window.output[1]);
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
            let (rows, cols) = window.span(index / window.output[1], index % window.output[1]);
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
