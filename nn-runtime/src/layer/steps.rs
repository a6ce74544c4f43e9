//! Reducing a sequence `[T, F]` to one vector `[F]`: its last step, or the mean over its
//! steps (PyTorch's `x[:, -1]` and `x.mean(dim=1)`).
//!
//! ```text
//! last:  a = x[T−1]                    ∂L/∂x[t] = ∂L/∂a if t = T−1, else 0
//! mean:  a = (1/T)·Σ_t x[t]            ∂L/∂x[t] = ∂L/∂a / T
//! ```

use nalgebra::SVector;

use crate::Real;

/// `a = x[T−1]` for every sample of a batch of `[T, F]` sequences.
#[inline]
pub fn last<T: Real, const F: usize>(input: &[T], output: &mut [T]) {
    let steps = input.len() / output.len().max(1);
    for (out, sample) in output.chunks_exact_mut(F).zip(input.chunks_exact(steps * F)) {
        out.copy_from_slice(&sample[(steps - 1) * F..]);
    }
}

/// `∂L/∂x`: the gradient at the last step, zero elsewhere.
#[inline]
pub fn last_backward<T: Real, const F: usize>(grad_output: &[T], grad_input: &mut [T]) {
    let steps = grad_input.len() / grad_output.len().max(1);
    for (g, sample) in grad_output.chunks_exact(F).zip(grad_input.chunks_exact_mut(steps * F)) {
        let (before, last) = sample.split_at_mut((steps - 1) * F);
        before.fill(T::zero());
        last.copy_from_slice(g);
    }
}

/// `a = (1/T)·Σ_t x[t]` for every sample.
#[inline]
pub fn mean<T: Real, const F: usize>(input: &[T], output: &mut [T]) {
    let steps = input.len() / output.len().max(1);
    let scale = T::one() / T::from_float(steps as f64);
    for (out, sample) in output.chunks_exact_mut(F).zip(input.chunks_exact(steps * F)) {
        out.fill(T::zero());
        for step in sample.chunks_exact(F) {
            for (o, &x) in out.iter_mut().zip(step) {
                *o += x;
            }
        }
        for o in out {
            *o *= scale;
        }
    }
}

/// `∂L/∂x[t] = ∂L/∂a / T` at every step.
#[inline]
pub fn mean_backward<T: Real, const F: usize>(grad_output: &[T], grad_input: &mut [T]) {
    let steps = grad_input.len() / grad_output.len().max(1);
    let scale = T::one() / T::from_float(steps as f64);
    for (g, sample) in grad_output.chunks_exact(F).zip(grad_input.chunks_exact_mut(steps * F)) {
        for step in sample.chunks_exact_mut(F) {
            for (d, &g) in step.iter_mut().zip(g) {
                *d = g * scale;
            }
        }
    }
}

/// [`last`] for one sample on the stack (`S = T·F`).
#[inline]
#[must_use]
pub fn last_one<T: Real, const F: usize, const S: usize>(input: &SVector<T, S>) -> SVector<T, F> {
    let mut output = SVector::<T, F>::zeros();
    last::<T, F>(input.as_slice(), output.as_mut_slice());
    output
}

/// [`mean`] for one sample on the stack (`S = T·F`).
#[inline]
#[must_use]
pub fn mean_one<T: Real, const F: usize, const S: usize>(input: &SVector<T, S>) -> SVector<T, F> {
    let mut output = SVector::<T, F>::zeros();
    mean::<T, F>(input.as_slice(), output.as_mut_slice());
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // sums and halves of small integers are exact
    fn last_and_mean_reduce_each_sample_and_route_gradients_back() {
        // Two samples of two steps of two features.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let mut out = [0.0; 4];
        last::<f64, 2>(&x, &mut out);
        assert_eq!(out, [3.0, 4.0, 7.0, 8.0]);
        mean::<f64, 2>(&x, &mut out);
        assert_eq!(out, [2.0, 3.0, 6.0, 7.0]);
        let mut grad = [9.0; 8];
        last_backward::<f64, 2>(&[1.0, 2.0, 3.0, 4.0], &mut grad);
        assert_eq!(grad, [0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0]);
        mean_backward::<f64, 2>(&[1.0, 2.0, 3.0, 4.0], &mut grad);
        assert_eq!(grad, [0.5, 1.0, 0.5, 1.0, 1.5, 2.0, 1.5, 2.0]);
    }
}
