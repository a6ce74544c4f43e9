//! Batch normalisation, PyTorch's `BatchNorm1d` on vectors and `BatchNorm2d` on images:
//! each of `C` channels is normalised over the `M = N·S` values it has in a batch of `N`
//! samples (`S = 1` for a vector's features, `S = H·W` for an image's pixels). A sample is
//! laid out `[C][S]`.
//!
//! ```text
//! training:   μ_c = (1/M) Σ x,   σ²_c = (1/M) Σ (x − μ_c)²      (biased)
//!             x̂ = (x − μ_c) / √(σ²_c + ε),   z = γ_c·x̂ + β_c
//!             running_mean ← (1 − m)·running_mean + m·μ_c
//!             running_var  ← (1 − m)·running_var  + m·σ²_c·M/(M − 1)   (unbiased)
//!             num_batches_tracked += 1
//! inference:  z = γ_c·(x − running_mean_c) / √(running_var_c + ε) + β_c
//! backward:   ∂L/∂γ_c = Σ δ·x̂,   ∂L/∂β_c = Σ δ
//!             ∂L/∂x = γ_c / (M·√(σ²_c + ε)) · (M·δ − Σ δ − x̂·Σ δ·x̂)
//! ```
//!
//! The backward pass is the full gradient through the batch mean and variance (Ioffe and
//! Szegedy, 2015; what PyTorch computes). Seed 004 derives batch normalisation with the
//! batch statistics held constant in the backward pass, which leaves out the last two
//! terms; nn does not make that simplification, and the fixture `05_batchnorm` and the
//! finite-difference checks would catch it.

use nalgebra::SVector;

use crate::Real;

/// The state a training pass updates: `(running_mean, running_var, num_batches_tracked)`.
pub type RunningStatistics<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [T]);

/// What the training pass keeps for backward: `(x̂, μ, 1/√(σ² + ε))`.
pub type Saved<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [T]);

/// Training forward over a batch: normalises with the batch's statistics, writes `z`, and
/// updates the running statistics with `momentum`.
#[inline]
pub fn forward_train<T: Real, const C: usize, const S: usize>(
    input: &[T],
    (gamma, beta): (&[T], &[T]),
    (running_mean, running_var, tracked): RunningStatistics<'_, T>,
    (momentum, epsilon): (f64, f64),
    (normalised, mean, inverse_std): Saved<'_, T>,
    z: &mut [T],
) {
    let samples = input.len() / (C * S);
    let count = T::from_float((samples * S) as f64);
    let (mean, inverse_std) = (&mut mean[..C], &mut inverse_std[..C]);
    mean.fill(T::zero());
    for sample in input.as_chunks::<S>().0.chunks_exact(C) {
        for (m, values) in mean.iter_mut().zip(sample) {
            *m += values.iter().fold(T::zero(), |sum, &x| sum + x);
        }
    }
    for m in mean.iter_mut() {
        *m /= count;
    }
    // Two passes, so the variance does not lose the digits a one-pass Σx² − (Σx)² would.
    inverse_std.fill(T::zero());
    for sample in input.as_chunks::<S>().0.chunks_exact(C) {
        for ((v, values), &m) in inverse_std.iter_mut().zip(sample).zip(mean.iter()) {
            *v += values.iter().fold(T::zero(), |sum, &x| sum + (x - m) * (x - m));
        }
    }
    let (keep, take) = (T::from_float(1.0 - momentum), T::from_float(momentum));
    let unbiased = if samples * S > 1 { count / (count - T::one()) } else { T::one() };
    for c in 0..C {
        let variance = inverse_std[c] / count;
        running_mean[c] = keep * running_mean[c] + take * mean[c];
        running_var[c] = keep * running_var[c] + take * variance * unbiased;
        inverse_std[c] = T::one() / (variance + T::from_float(epsilon)).sqrt();
    }
    tracked[0] += T::one();
    let rows =
        input.as_chunks::<S>().0.iter().zip(normalised.as_chunks_mut::<S>().0).zip(z.as_chunks_mut::<S>().0);
    for (index, ((x, x_hat), z)) in rows.enumerate() {
        let c = index % C;
        for s in 0..S {
            x_hat[s] = (x[s] - mean[c]) * inverse_std[c];
            z[s] = gamma[c] * x_hat[s] + beta[c];
        }
    }
}

/// The per-channel `(scale, shift)` of inference: `z = scale·x + shift`.
#[inline(always)]
fn affine<T: Real, const C: usize>(
    (gamma, beta): (&[T], &[T]),
    (running_mean, running_var): (&[T], &[T]),
    epsilon: f64,
) -> ([T; C], [T; C]) {
    let mut scale = [T::zero(); C];
    let mut shift = [T::zero(); C];
    for c in 0..C {
        scale[c] = gamma[c] / (running_var[c] + T::from_float(epsilon)).sqrt();
        shift[c] = beta[c] - running_mean[c] * scale[c];
    }
    (scale, shift)
}

/// Inference over a batch: normalises with the running statistics.
#[inline]
pub fn forward<T: Real, const C: usize, const S: usize>(
    input: &[T],
    parameters: (&[T], &[T]),
    running: (&[T], &[T]),
    epsilon: f64,
    z: &mut [T],
) {
    let (scale, shift) = affine::<T, C>(parameters, running, epsilon);
    let rows = input.as_chunks::<S>().0.iter().zip(z.as_chunks_mut::<S>().0);
    for (index, (x, z)) in rows.enumerate() {
        let c = index % C;
        for s in 0..S {
            z[s] = scale[c] * x[s] + shift[c];
        }
    }
}

/// Inference on one sample on the stack.
#[inline]
#[must_use]
pub fn forward_one<T: Real, const C: usize, const S: usize, const N: usize>(
    parameters: (&[T], &[T]),
    running: (&[T], &[T]),
    epsilon: f64,
    input: &SVector<T, N>,
) -> SVector<T, N> {
    let mut z = SVector::<T, N>::zeros();
    forward::<T, C, S>(input.as_slice(), parameters, running, epsilon, z.as_mut_slice());
    z
}

/// Backward over a batch from `δ = ∂L/∂z`: writes (overwrites) `∂L/∂γ`, `∂L/∂β` and, when
/// asked, `∂L/∂x`.
#[inline]
pub fn backward<T: Real, const C: usize, const S: usize>(
    gamma: &[T],
    (normalised, inverse_std): (&[T], &[T]),
    delta: &[T],
    (grad_gamma, grad_beta): (&mut [T], &mut [T]),
    grad_input: Option<&mut [T]>,
) {
    let (grad_gamma, grad_beta) = (&mut grad_gamma[..C], &mut grad_beta[..C]);
    grad_gamma.fill(T::zero());
    grad_beta.fill(T::zero());
    let rows = || delta.as_chunks::<S>().0.iter().zip(normalised.as_chunks::<S>().0).enumerate();
    for (index, (d, x_hat)) in rows() {
        let c = index % C;
        for s in 0..S {
            grad_gamma[c] += d[s] * x_hat[s];
            grad_beta[c] += d[s];
        }
    }
    let Some(grad_input) = grad_input else {
        return;
    };
    let count = T::from_float((delta.len() / C) as f64);
    for ((index, (d, x_hat)), g) in rows().zip(grad_input.as_chunks_mut::<S>().0) {
        let c = index % C;
        let factor = gamma[c] * inverse_std[c] / count;
        for s in 0..S {
            g[s] = factor * (count * d[s] - grad_beta[c] - x_hat[s] * grad_gamma[c]);
        }
    }
}
