//! The LSTM cell, PyTorch's `nn.LSTM`: gate blocks `i, f, g, o` (no forget-gate bias offset).
//!
//! ```text
//! i = σ(pre_i)   f = σ(pre_f)   g = tanh(pre_g)   o = σ(pre_o)      pre = gi + gh
//! c′ = f ⊙ c + i ⊙ g             h′ = o ⊙ tanh(c′)
//!
//! ∂o = ∂h′ ⊙ tanh(c′)            ∂c′ (total) = ∂c′ + ∂h′ ⊙ o ⊙ (1 − tanh²(c′))
//! ∂i = ∂c′ ⊙ g   ∂g = ∂c′ ⊙ i   ∂f = ∂c′ ⊙ c   ∂c (carried back) = ∂c′ ⊙ f
//! ∂pre = [∂i ⊙ i(1 − i), ∂f ⊙ f(1 − f), ∂g ⊙ (1 − g²), ∂o ⊙ o(1 − o)]
//! ```

use super::{Cell, blocks, blocks_mut};
use crate::Real;

/// The LSTM cell. It keeps `i, f, g, o` and the cell state `c` per step.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lstm;

impl<T: Real> Cell<T> for Lstm {
    const GATES: usize = 4;
    const SEPARATE_HIDDEN: bool = false;
    const MEMORY: bool = true;
    const KEPT: usize = 5;

    #[inline(always)]
    fn forward(self, pre: &[T], _gh: &[T], previous: Option<(&[T], &[T])>, kept: &mut [T], h: &mut [T]) {
        match previous {
            Some((_, c)) => {
                let c = &c[..h.len()];
                step(pre, |j| c[j], kept, h);
            }
            None => step(pre, |_| T::zero(), kept, h),
        }
    }

    #[inline(always)]
    fn backward(
        self,
        (dh, dc): (&mut [T], &mut [T]),
        _pre: (&[T], &[T]),
        previous: Option<(&[T], &[T])>,
        kept: &[T],
        (dpre, _dgh): (&mut [T], &mut [T]),
    ) {
        match previous {
            Some((_, c)) => {
                let c = &c[..dh.len()];
                step_back((dh, dc), |j| c[j], kept, dpre);
            }
            None => step_back((dh, dc), |_| T::zero(), kept, dpre),
        }
    }
}

/// The forward equations, `before(j)` the previous cell state.
#[inline(always)]
fn step<T: Real>(pre: &[T], before: impl Fn(usize) -> T, kept: &mut [T], h: &mut [T]) {
    let units = h.len();
    let [pre_i, pre_f, pre_g, pre_o] = blocks::<_, 4>(pre, units);
    let [i, f, g, o, c] = blocks_mut::<_, 5>(kept, units);
    for j in 0..units {
        i[j] = pre_i[j].sigmoid();
        f[j] = pre_f[j].sigmoid();
        g[j] = pre_g[j].tanh_vectorised();
        o[j] = pre_o[j].sigmoid();
        c[j] = f[j] * before(j) + i[j] * g[j];
        h[j] = o[j] * c[j].tanh_vectorised();
    }
}

/// The backward equations, `before(j)` the previous cell state.
#[inline(always)]
fn step_back<T: Real>(
    (dh, dc): (&mut [T], &mut [T]),
    before: impl Fn(usize) -> T,
    kept: &[T],
    dpre: &mut [T],
) {
    let (units, one) = (dh.len(), T::one());
    let [i, f, g, o, c] = blocks::<_, 5>(kept, units);
    let [d_i, d_f, d_g, d_o] = blocks_mut::<_, 4>(dpre, units);
    let dc = &mut dc[..units];
    for j in 0..units {
        let tanh_c = c[j].tanh_vectorised();
        let d_cell = dc[j] + dh[j] * o[j] * (one - tanh_c * tanh_c);
        d_i[j] = d_cell * g[j] * i[j] * (one - i[j]);
        d_f[j] = d_cell * before(j) * f[j] * (one - f[j]);
        d_g[j] = d_cell * i[j] * (one - g[j] * g[j]);
        d_o[j] = dh[j] * tanh_c * o[j] * (one - o[j]);
        dc[j] = d_cell * f[j];
        dh[j] = T::zero();
    }
}
