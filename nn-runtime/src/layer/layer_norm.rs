//! Layer normalisation, PyTorch's `LayerNorm(F)` with its elementwise affine: each row of
//! `F` values (a vector's features, or each step's features in a sequence) is normalised
//! on its own, so training and inference compute the same thing and nothing depends on
//! the batch.
//!
//! ```text
//! forward:   μ = (1/F) Σ x,   σ² = (1/F) Σ (x − μ)²   (biased)
//!            x̂ = (x − μ) / √(σ² + ε),   z = γ ⊙ x̂ + β
//! backward:  ∂L/∂γ = Σ_rows δ ⊙ x̂,   ∂L/∂β = Σ_rows δ
//!            g = δ ⊙ γ,   ∂L/∂x = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / √(σ² + ε)
//! ```

use nalgebra::SVector;

use crate::Real;

/// `(μ, 1/√(σ² + ε))` of one row.
#[inline(always)]
fn statistics<T: Real, const F: usize>(row: &[T; F], epsilon: f64) -> (T, T) {
    let count = T::from_float(F as f64);
    let mean = row.iter().fold(T::zero(), |sum, &x| sum + x) / count;
    let variance = row.iter().fold(T::zero(), |sum, &x| sum + (x - mean) * (x - mean)) / count;
    (mean, T::one() / (variance + T::from_float(epsilon)).sqrt())
}

/// Training forward over rows of `F` values: writes `z` and keeps `x̂`, each row's mean and
/// `1/√(σ² + ε)` for backward.
#[inline]
pub fn forward_train<T: Real, const F: usize>(
    input: &[T],
    (gamma, beta): (&[T], &[T]),
    epsilon: f64,
    (normalised, means, inverse_stds): (&mut [T], &mut [T], &mut [T]),
    z: &mut [T],
) {
    let (gamma, beta) = (&gamma[..F], &beta[..F]);
    let rows = input.as_chunks::<F>().0.iter().zip(normalised.as_chunks_mut::<F>().0);
    let saved = means.iter_mut().zip(inverse_stds.iter_mut()).zip(z.as_chunks_mut::<F>().0);
    for ((x, x_hat), ((mean, inverse_std), z)) in rows.zip(saved) {
        (*mean, *inverse_std) = statistics(x, epsilon);
        for f in 0..F {
            x_hat[f] = (x[f] - *mean) * *inverse_std;
            z[f] = gamma[f] * x_hat[f] + beta[f];
        }
    }
}

/// Inference over rows of `F` values (the same computation, nothing kept).
#[inline]
pub fn forward<T: Real, const F: usize>(input: &[T], (gamma, beta): (&[T], &[T]), epsilon: f64, z: &mut [T]) {
    let (gamma, beta) = (&gamma[..F], &beta[..F]);
    for (x, z) in input.as_chunks::<F>().0.iter().zip(z.as_chunks_mut::<F>().0) {
        let (mean, inverse_std) = statistics(x, epsilon);
        for f in 0..F {
            z[f] = gamma[f] * ((x[f] - mean) * inverse_std) + beta[f];
        }
    }
}

/// Inference on one sample on the stack.
#[inline]
#[must_use]
pub fn forward_one<T: Real, const F: usize, const N: usize>(
    parameters: (&[T], &[T]),
    epsilon: f64,
    input: &SVector<T, N>,
) -> SVector<T, N> {
    let mut z = SVector::<T, N>::zeros();
    forward::<T, F>(input.as_slice(), parameters, epsilon, z.as_mut_slice());
    z
}

/// Backward from `δ = ∂L/∂z`: writes (overwrites) `∂L/∂γ`, `∂L/∂β` and, when asked,
/// `∂L/∂x`.
#[inline]
pub fn backward<T: Real, const F: usize>(
    gamma: &[T],
    (normalised, inverse_stds): (&[T], &[T]),
    delta: &[T],
    (grad_gamma, grad_beta): (&mut [T], &mut [T]),
    grad_input: Option<&mut [T]>,
) {
    let (gamma, grad_gamma, grad_beta) = (&gamma[..F], &mut grad_gamma[..F], &mut grad_beta[..F]);
    grad_gamma.fill(T::zero());
    grad_beta.fill(T::zero());
    let (deltas, rows) = (delta.as_chunks::<F>().0, normalised.as_chunks::<F>().0);
    for (d, x_hat) in deltas.iter().zip(rows) {
        for f in 0..F {
            grad_gamma[f] += d[f] * x_hat[f];
            grad_beta[f] += d[f];
        }
    }
    let Some(grad_input) = grad_input else {
        return;
    };
    let count = T::from_float(F as f64);
    let grad_rows = grad_input.as_chunks_mut::<F>().0.iter_mut().zip(inverse_stds);
    for ((d, x_hat), (gx, &inverse_std)) in deltas.iter().zip(rows).zip(grad_rows) {
        let (mut mean_g, mut mean_g_x_hat) = (T::zero(), T::zero());
        for f in 0..F {
            let g = d[f] * gamma[f];
            mean_g += g;
            mean_g_x_hat += g * x_hat[f];
        }
        (mean_g, mean_g_x_hat) = (mean_g / count, mean_g_x_hat / count);
        for f in 0..F {
            gx[f] = (d[f] * gamma[f] - mean_g - x_hat[f] * mean_g_x_hat) * inverse_std;
        }
    }
}
