//! The Elman RNN cell, PyTorch's `nn.RNN`: one gate block, its pre-activation the sum of both
//! projections.
//!
//! ```text
//! forward:   h_t = σ(pre_t),  pre_t = W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh     (σ = tanh or relu)
//! backward:  ∂L/∂pre_t = ∂L/∂h_t ⊙ σ′(pre_t)
//! ```

use super::Cell;
use crate::Real;
use crate::activation::Activation;

/// The RNN cell with nonlinearity `A` (`Tanh` or `Relu`). It keeps nothing but `pre` and `h`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rnn<A>(pub A);

impl<T: Real, A: Activation<T> + Copy> Cell<T> for Rnn<A> {
    const GATES: usize = 1;
    const SEPARATE_HIDDEN: bool = false;
    const MEMORY: bool = false;
    const KEPT: usize = 0;

    #[inline(always)]
    fn forward(self, pre: &[T], _gh: &[T], _previous: Option<(&[T], &[T])>, _kept: &mut [T], h: &mut [T]) {
        for (h, &z) in h.iter_mut().zip(pre) {
            *h = self.0.f(z);
        }
    }

    #[inline(always)]
    fn backward(
        self,
        (dh, _dc): (&mut [T], &mut [T]),
        (pre, _gh): (&[T], &[T]),
        _previous: Option<(&[T], &[T])>,
        _kept: &[T],
        (dpre, _dgh): (&mut [T], &mut [T]),
    ) {
        for ((d, dh), &z) in dpre.iter_mut().zip(dh.iter_mut()).zip(pre) {
            *d = *dh * self.0.df(z, self.0.f(z));
            *dh = T::zero();
        }
    }
}
