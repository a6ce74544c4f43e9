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

use super::Cell;
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
        let units = h.len();
        for j in 0..units {
            let i = pre[j].sigmoid();
            let f = pre[units + j].sigmoid();
            let g = pre[2 * units + j].tanh_vectorised();
            let o = pre[3 * units + j].sigmoid();
            let before = previous.map_or_else(T::zero, |(_, c)| c[j]);
            let c = f * before + i * g;
            kept[j] = i;
            kept[units + j] = f;
            kept[2 * units + j] = g;
            kept[3 * units + j] = o;
            kept[4 * units + j] = c;
            h[j] = o * c.tanh_vectorised();
        }
    }

    #[inline]
    fn backward(
        self,
        (dh, dc): (&mut [T], &mut [T]),
        _pre: (&[T], &[T]),
        previous: Option<(&[T], &[T])>,
        kept: &[T],
        (dpre, _dgh): (&mut [T], &mut [T]),
    ) {
        let units = dh.len();
        let one = T::one();
        for j in 0..units {
            let (i, f, g, o, c) =
                (kept[j], kept[units + j], kept[2 * units + j], kept[3 * units + j], kept[4 * units + j]);
            let before = previous.map_or_else(T::zero, |(_, c)| c[j]);
            let tanh_c = c.tanh_vectorised();
            let d_cell = dc[j] + dh[j] * o * (one - tanh_c * tanh_c);
            dpre[j] = d_cell * g * i * (one - i);
            dpre[units + j] = d_cell * before * f * (one - f);
            dpre[2 * units + j] = d_cell * i * (one - g * g);
            dpre[3 * units + j] = dh[j] * tanh_c * o * (one - o);
            dc[j] = d_cell * f;
            dh[j] = T::zero();
        }
    }
}
