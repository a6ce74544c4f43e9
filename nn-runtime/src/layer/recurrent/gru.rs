//! The GRU cell, PyTorch's `nn.GRU`: gate blocks `r, z, n`, and the reset gate scales the
//! whole hidden projection of the candidate, `b_hn` included.
//!
//! ```text
//! r  = σ(gi_r + gh_r)          z = σ(gi_z + gh_z)          n = tanh(gi_n + r ⊙ gh_n)
//! h′ = (1 − z) ⊙ n + z ⊙ h
//!
//! ∂n = ∂h′ ⊙ (1 − z)           ∂z = ∂h′ ⊙ (h − n)           ∂h (direct) = ∂h′ ⊙ z
//! ∂gi_n = ∂n ⊙ (1 − n²)        ∂gh_n = ∂gi_n ⊙ r            ∂r = ∂gi_n ⊙ gh_n
//! ∂gi_r = ∂gh_r = ∂r ⊙ r(1 − r)                            ∂gi_z = ∂gh_z = ∂z ⊙ z(1 − z)
//! ```

use super::Cell;
use crate::Real;

/// The GRU cell. It keeps `gh` apart from `gi`, and `r, z, n` per step.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gru;

impl<T: Real> Cell<T> for Gru {
    const GATES: usize = 3;
    const SEPARATE_HIDDEN: bool = true;
    const MEMORY: bool = false;
    const KEPT: usize = 3;

    #[inline(always)]
    fn forward(self, gi: &[T], gh: &[T], previous: Option<(&[T], &[T])>, kept: &mut [T], h: &mut [T]) {
        let units = h.len();
        let (r, rest) = kept.split_at_mut(units);
        let (z, n) = rest.split_at_mut(units);
        for j in 0..units {
            r[j] = (gi[j] + gh[j]).sigmoid();
            z[j] = (gi[units + j] + gh[units + j]).sigmoid();
            n[j] = (gi[2 * units + j] + r[j] * gh[2 * units + j]).tanh_vectorised();
            let before = previous.map_or_else(T::zero, |(h, _)| h[j]);
            h[j] = (T::one() - z[j]) * n[j] + z[j] * before;
        }
    }

    #[inline]
    fn backward(
        self,
        (dh, _dc): (&mut [T], &mut [T]),
        (_gi, gh): (&[T], &[T]),
        previous: Option<(&[T], &[T])>,
        kept: &[T],
        (dgi, dgh): (&mut [T], &mut [T]),
    ) {
        let units = dh.len();
        let (r, z, n) = (&kept[..units], &kept[units..2 * units], &kept[2 * units..3 * units]);
        for j in 0..units {
            let before = previous.map_or_else(T::zero, |(h, _)| h[j]);
            let (d, one) = (dh[j], T::one());
            let dn = d * (one - z[j]) * (one - n[j] * n[j]);
            let dz = d * (before - n[j]) * z[j] * (one - z[j]);
            let dr = dn * gh[2 * units + j] * r[j] * (one - r[j]);
            dgi[j] = dr;
            dgh[j] = dr;
            dgi[units + j] = dz;
            dgh[units + j] = dz;
            dgi[2 * units + j] = dn;
            dgh[2 * units + j] = dn * r[j];
            dh[j] = d * z[j];
        }
    }
}
