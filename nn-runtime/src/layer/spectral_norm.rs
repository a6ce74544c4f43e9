//! Spectral normalisation of a dense layer's weight, PyTorch's
//! `torch.nn.utils.spectral_norm(nn.Linear(…))` (`n_power_iterations` iterations, `eps`
//! 1e-12): the layer uses `W / σ`, `σ` the largest singular value of `W`, estimated by power
//! iteration with vectors `u` `[OUT]` and `v` `[IN]` kept as state between steps.
//!
//! ```text
//! training, with no gradient:  v ← normalise(Wᵀ u),  u ← normalise(W v)   (each iteration)
//! σ = uᵀ W v,   z = (W x) / σ + b
//! backward, δ = ∂L/∂z, G = Σ δ xᵀ:
//!     ∂L/∂x = Wᵀ δ / σ,   ∂L/∂b = Σ δ
//!     ∂L/∂W = G / σ − (⟨G, W⟩ / σ²) · u vᵀ      (u and v are constants, as in PyTorch)
//! inference: σ from the stored u and v, no iteration
//! ```
//!
//! `normalise(x) = x / max(‖x‖, eps)`. `W · x` runs on the dense kernels with a zero bias, so
//! `W / σ` is never formed. In saved files `W` is `weight_orig`, `u` is `weight_u` and `v` is
//! `weight_v`, as PyTorch names them; `weight` itself is not stored (PyTorch recomputes it).

use nalgebra::SVector;

use super::dense;
use crate::Real;
use crate::activation::{Activation, Identity};

/// `eps` of PyTorch's `spectral_norm`.
const EPSILON: f64 = 1e-12;

/// `x / max(‖x‖, eps)`, in place.
fn normalise<T: Real>(x: &mut [T]) {
    let norm = x.iter().fold(T::zero(), |sum, &v| sum + v * v).sqrt();
    let divisor = if norm.to_f64() > EPSILON { norm } else { T::from_float(EPSILON) };
    for value in x {
        *value /= divisor;
    }
}

/// `iterations` steps of power iteration on the `[OUT, IN]` weight, updating `u` and `v`.
#[inline]
pub fn power_iteration<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    (u, v): (&mut [T], &mut [T]),
    iterations: usize,
) {
    let rows = &weight.as_chunks::<IN>().0[..OUT];
    for _ in 0..iterations {
        v[..IN].fill(T::zero());
        for (row, &u_o) in rows.iter().zip(u.iter()) {
            for i in 0..IN {
                v[i] += row[i] * u_o;
            }
        }
        normalise(&mut v[..IN]);
        for (u_o, row) in u.iter_mut().zip(rows) {
            *u_o = row.iter().zip(v.iter()).fold(T::zero(), |sum, (&w, &v_i)| sum + w * v_i);
        }
        normalise(&mut u[..OUT]);
    }
}

/// `σ = uᵀ W v`.
#[inline]
#[must_use]
pub fn sigma<T: Real, const IN: usize, const OUT: usize>(weight: &[T], u: &[T], v: &[T]) -> T {
    let rows = &weight.as_chunks::<IN>().0[..OUT];
    rows.iter().zip(u).fold(T::zero(), |sum, (row, &u_o)| {
        sum + u_o * row.iter().zip(v).fold(T::zero(), |dot, (&w, &v_i)| dot + w * v_i)
    })
}

/// `z = (W x) / σ + b` for a batch; `z` is `OUT × batch`.
#[cfg(feature = "std")]
#[inline]
pub fn affine<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    bias: &[T],
    sigma: T,
    input: &[T],
    z: &mut [T],
) {
    dense::affine::<T, IN, OUT>(weight, &[T::zero(); OUT], input, z);
    let scale = T::one() / sigma;
    for column in z.as_chunks_mut::<OUT>().0 {
        for o in 0..OUT {
            column[o] = column[o] * scale + bias[o];
        }
    }
}

/// Inference on one sample on the stack: `a = σ_act((W x) / σ + b)` with `σ` from the stored
/// vectors.
#[inline]
#[must_use]
pub fn forward_one<T: Real, A: Activation<T>, const IN: usize, const OUT: usize>(
    activation: &A,
    (weight, bias): (&[T], &[T]),
    (u, v): (&[T], &[T]),
    input: &SVector<T, IN>,
) -> SVector<T, OUT> {
    let scale = T::one() / sigma::<T, IN, OUT>(weight, u, v);
    let z = dense::forward_one::<T, _, IN, OUT>(&Identity, weight, &[T::zero(); OUT], input);
    SVector::from_fn(|o, _| activation.f(z[o] * scale + bias[o]))
}

/// Backward from `δ = ∂L/∂z` (in `delta`, scaled in place): writes `∂L/∂W` (for the
/// stored `W`, through `σ`), `∂L/∂b` and, when asked, `∂L/∂x`.
#[cfg(feature = "std")]
#[inline]
pub fn backward<T: Real, const IN: usize, const OUT: usize>(
    weight: &[T],
    input: &[T],
    (u, v, sigma): (&[T], &[T], T),
    delta: &mut [T],
    (grad_weight, grad_bias): (&mut [T], &mut [T]),
    grad_input: Option<&mut [T]>,
) {
    // With δ/σ, the dense backward gives G/σ and Wᵀδ/σ exactly; its bias gradient Σδ/σ
    // needs σ back.
    let scale = T::one() / sigma;
    for d in delta.iter_mut() {
        *d *= scale;
    }
    dense::backward_linear::<T, IN, OUT>(weight, input, delta, grad_weight, grad_bias, grad_input);
    for g in grad_bias.iter_mut() {
        *g *= sigma;
    }
    // ∂L/∂W = G/σ − (⟨G, W⟩/σ²)·u vᵀ, and ⟨G, W⟩/σ² = ⟨G/σ, W⟩/σ.
    let projection = grad_weight.iter().zip(weight).fold(T::zero(), |sum, (&g, &w)| sum + g * w) / sigma;
    for (row, &u_o) in grad_weight.as_chunks_mut::<IN>().0.iter_mut().zip(u) {
        for i in 0..IN {
            row[i] -= projection * u_o * v[i];
        }
    }
}

/// The starting vectors, as PyTorch draws them: `u = normalise(N(0, 1)^OUT)`, then
/// `v = normalise(N(0, 1)^IN)`.
#[cfg(feature = "std")]
pub fn initialise<T: Real, R: rand::Rng + ?Sized>(u: &mut [T], v: &mut [T], rng: &mut R) {
    for vector in [u, v] {
        crate::init::fill_normal(vector, 1.0, rng);
        normalise(vector);
    }
}
