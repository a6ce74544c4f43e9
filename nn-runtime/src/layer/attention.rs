//! Multi-head self-attention, PyTorch's `nn.MultiheadAttention(E, h, batch_first=True)`
//! called as `mha(x, x, x)`, over a sequence `[T, E]`; `h` heads of `d = E/h` features.
//!
//! ```text
//! [q k v]   = x·W_inᵀ + b_in                         (W_in = in_proj_weight [3E, E])
//! S_j       = q_j·k_jᵀ / √d  (+ −∞ above the diagonal when causal)      head j: columns j·d …
//! A_j       = softmax of each row of S_j             (attn_weights)
//! context   = [A_1·v_1, …, A_h·v_h]
//! a         = context·W_outᵀ + b_out                 (out_proj)
//!
//! ∂context  = ∂a·W_out          ∂W_out = ∂aᵀ·context
//! ∂A_j      = ∂context_j·v_jᵀ   ∂v_j   = A_jᵀ·∂context_j
//! ∂S_j      = A_j ⊙ (∂A_j − rowsum(∂A_j ⊙ A_j)) / √d
//! ∂q_j      = ∂S_j·k_j          ∂k_j   = ∂S_jᵀ·q_j
//! ∂W_in     = ∂[q k v]ᵀ·x       ∂x     = ∂[q k v]·W_in
//! ```
//!
//! Every product runs on [`gemm::multiply`], the per-head ones reading `q`, `k` and `v` in
//! place through their strides. A masked weight is exactly 0, as PyTorch's. The key bias's
//! gradient is exactly 0 (softmax ignores a shift of a row), where PyTorch's holds noise.

use nalgebra::SVector;

use super::{column_sums, project};
use crate::Real;
use crate::gemm::{self, Strided};

/// The sizes of a self-attention layer, as the generated code writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attention {
    /// Steps `T`.
    pub steps: usize,
    /// Features per step `E`.
    pub embed: usize,
    /// Heads `h`, dividing `E`.
    pub heads: usize,
    /// Whether step `t` attends only to steps `s ≤ t`.
    pub causal: bool,
}

impl Attention {
    /// Features per head, `d = E/h`.
    const fn head(self) -> usize {
        self.embed / self.heads
    }
}

/// The parameters, in PyTorch's layout.
#[derive(Clone, Copy)]
pub struct Weights<'a, T> {
    /// `in_proj_weight` `[3E, E]`: `W_q`, `W_k`, `W_v` stacked by rows.
    pub input: &'a [T],
    /// `in_proj_bias` `[3E]`.
    pub input_bias: &'a [T],
    /// `out_proj.weight` `[E, E]`.
    pub output: &'a [T],
    /// `out_proj.bias` `[E]`.
    pub output_bias: &'a [T],
}

/// The parameter gradients, as [`Weights`], overwritten by [`backward`].
pub struct Gradients<'a, T> {
    /// `∂L/∂in_proj_weight`.
    pub input: &'a mut [T],
    /// `∂L/∂in_proj_bias`.
    pub input_bias: &'a mut [T],
    /// `∂L/∂out_proj.weight`.
    pub output: &'a mut [T],
    /// `∂L/∂out_proj.bias`.
    pub output_bias: &'a mut [T],
}

/// What the forward pass keeps for the backward pass, per sample:
/// written by [`forward`] (`S = &mut [T]`), read by [`backward`] (`S = &[T]`).
pub struct Kept<S> {
    /// `[q k v]` `[N][T][3E]`.
    pub qkv: S,
    /// The attention weights `[N][h][T][T]`.
    pub weights: S,
    /// The heads' outputs, concatenated, `[N][T][E]`.
    pub context: S,
}

/// The backward pass's working buffers.
pub struct Work<'a, T> {
    /// `∂[q k v]` `[N][T][3E]`.
    pub qkv: &'a mut [T],
    /// `∂context` `[N][T][E]`.
    pub context: &'a mut [T],
    /// One head's `∂A`, then `∂S`, `[T][T]`.
    pub scores: &'a mut [T],
}

/// The forward pass for a batch of sequences `x` `[N][T][E]` into `output`.
#[inline]
pub fn forward<T: Real>(
    shape: Attention,
    weights: Weights<'_, T>,
    x: &[T],
    kept: Kept<&mut [T]>,
    output: &mut [T],
) {
    let Attention { steps, embed, heads, causal } = shape;
    let (head, rows) = (shape.head(), x.len() / embed);
    let Kept { qkv, weights: attention, context } = kept;
    project(qkv, x, (weights.input, weights.input_bias), (rows, 3 * embed, embed));
    let scale = T::one() / T::from_float((head as f64).sqrt());
    for n in 0..rows / steps {
        let sample = &qkv[n * steps * 3 * embed..];
        for j in 0..heads {
            let (q, k, v) =
                (&sample[j * head..], &sample[embed + j * head..], &sample[2 * embed + j * head..]);
            let a = &mut attention[(n * heads + j) * steps * steps..][..steps * steps];
            let keys = Strided::transposed(k, 3 * embed);
            gemm::multiply(a, steps, Strided::rows(q, 3 * embed), keys, (steps, steps, head), false);
            for (t, row) in a.chunks_exact_mut(steps).enumerate() {
                softmax_row(row, scale, if causal { t + 1 } else { steps });
            }
            let out = &mut context[n * steps * embed + j * head..];
            gemm::multiply(
                out,
                embed,
                Strided::rows(a, steps),
                Strided::rows(v, 3 * embed),
                (steps, head, steps),
                false,
            );
        }
    }
    project(output, context, (weights.output, weights.output_bias), (rows, embed, embed));
}

/// `row = softmax(scale·row)` over its first `allowed` entries; the rest are masked to 0.
#[inline]
fn softmax_row<T: Real>(row: &mut [T], scale: T, allowed: usize) {
    let (open, masked) = row.split_at_mut(allowed);
    let max = open.iter().fold(T::from_float(f64::NEG_INFINITY), |m, &v| if v > m { v } else { m });
    let mut sum = T::zero();
    for value in open.iter_mut() {
        *value = ((*value - max) * scale).exp();
        sum += *value;
    }
    let inverse = T::one() / sum;
    for value in open {
        *value *= inverse;
    }
    masked.fill(T::zero());
}

/// The backward pass: overwrites the parameter gradients and, when asked, `∂L/∂x`.
#[allow(clippy::too_many_arguments)] // the layer's parameters, values, tape and gradients
#[inline]
pub fn backward<T: Real>(
    shape: Attention,
    weights: Weights<'_, T>,
    x: &[T],
    kept: &Kept<&[T]>,
    grad_output: &[T],
    work: Work<'_, T>,
    gradients: Gradients<'_, T>,
    grad_input: Option<&mut [T]>,
) {
    let Attention { steps, embed, heads, .. } = shape;
    let (head, rows) = (shape.head(), x.len() / embed);
    let Work { qkv: dqkv, context: dcontext, scores: da } = work;
    let Gradients { input: grad_in, input_bias: grad_in_bias, output: grad_out, output_bias: grad_out_bias } =
        gradients;
    let delta = Strided::rows(grad_output, embed);
    gemm::multiply(dcontext, embed, delta, Strided::rows(weights.output, embed), (rows, embed, embed), false);
    let delta = Strided::transposed(grad_output, embed);
    gemm::multiply(grad_out, embed, delta, Strided::rows(kept.context, embed), (embed, embed, rows), false);
    column_sums(grad_out_bias, grad_output);
    let scale = T::one() / T::from_float((head as f64).sqrt());
    for n in 0..rows / steps {
        for j in 0..heads {
            let a = &kept.weights[(n * heads + j) * steps * steps..][..steps * steps];
            head_backward(
                shape,
                (n, j),
                (kept.qkv, a, &dcontext[n * steps * embed + j * head..]),
                da,
                dqkv,
                scale,
            );
        }
    }
    let deltas = Strided::transposed(&*dqkv, 3 * embed);
    gemm::multiply(grad_in, embed, deltas, Strided::rows(x, embed), (3 * embed, embed, rows), false);
    column_sums(grad_in_bias, dqkv);
    // The key bias shifts every score of a query by the same amount, which softmax ignores:
    // its gradient is zero in exact arithmetic, so it is written as 0 rather than rounding
    // noise (which Adam, dividing by √v̂ ≈ |g|, would turn into steps of about lr·g/ε).
    grad_in_bias[embed..2 * embed].fill(T::zero());
    if let Some(gx) = grad_input {
        let deltas = Strided::rows(&*dqkv, 3 * embed);
        gemm::multiply(
            gx,
            embed,
            deltas,
            Strided::rows(weights.input, embed),
            (rows, embed, 3 * embed),
            false,
        );
    }
}

/// Head `j` of sample `n`: `∂q_j`, `∂k_j`, `∂v_j` into `dqkv` from `∂context_j`.
#[inline]
fn head_backward<T: Real>(
    shape: Attention,
    (n, j): (usize, usize),
    (qkv, a, dcontext): (&[T], &[T], &[T]),
    da: &mut [T],
    dqkv: &mut [T],
    scale: T,
) {
    let (steps, embed, head) = (shape.steps, shape.embed, shape.head());
    let (stride, start) = (3 * embed, n * steps * 3 * embed + j * head);
    let (q, k, v) = (&qkv[start..], &qkv[start + embed..], &qkv[start + 2 * embed..]);
    let dc = Strided::rows(dcontext, embed);
    gemm::multiply(da, steps, dc, Strided::transposed(v, stride), (steps, steps, head), false);
    let dv = &mut dqkv[start + 2 * embed..];
    gemm::multiply(dv, stride, Strided::transposed(a, steps), dc, (steps, head, steps), false);
    for (d_row, a_row) in da.chunks_exact_mut(steps).zip(a.chunks_exact(steps)) {
        let dot = d_row.iter().zip(a_row).fold(T::zero(), |sum, (&d, &a)| sum + d * a);
        for (d, &a) in d_row.iter_mut().zip(a_row) {
            *d = a * (*d - dot) * scale;
        }
    }
    let ds = &*da;
    let dq = &mut dqkv[start..];
    gemm::multiply(
        dq,
        stride,
        Strided::rows(ds, steps),
        Strided::rows(k, stride),
        (steps, head, steps),
        false,
    );
    let dk = &mut dqkv[start + embed..];
    gemm::multiply(
        dk,
        stride,
        Strided::transposed(ds, steps),
        Strided::rows(q, stride),
        (steps, head, steps),
        false,
    );
}

/// One sample on the stack (`S = T·E`), its kept values too (`Q = 3·T·E`, `W = h·T·T`): no
/// allocation, and no thread-local buffer, which the products' own may need.
#[inline]
#[must_use]
pub fn forward_one<T: Real, const S: usize, const Q: usize, const W: usize>(
    shape: Attention,
    weights: Weights<'_, T>,
    x: &SVector<T, S>,
) -> SVector<T, S> {
    let (mut qkv, mut attention, mut context) = ([T::zero(); Q], [T::zero(); W], [T::zero(); S]);
    let mut output = SVector::<T, S>::zeros();
    let kept = Kept { qkv: &mut qkv[..], weights: &mut attention[..], context: &mut context[..] };
    forward(shape, weights, x.as_slice(), kept, output.as_mut_slice());
    output
}
