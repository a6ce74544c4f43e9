//! Gradient clipping, applied to the whole gradient buffer between backward and the
//! optimizer step.

use crate::Real;

/// How gradients are clipped before each optimizer step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clip {
    /// Scale the whole gradient so its Euclidean norm is at most the given value,
    /// `torch.nn.utils.clip_grad_norm_`: `g ← g·min(1, max_norm/(‖g‖₂ + 1e-6))`.
    GlobalNorm(f64),
    /// Clamp every component to `[−v, v]`, `torch.nn.utils.clip_grad_value_`.
    Value(f64),
}

impl Clip {
    /// Clips `gradients` in place and returns their norm before clipping (0 for
    /// [`Clip::Value`], which does not measure it).
    pub fn apply<T: Real>(self, gradients: &mut [T]) -> f64 {
        match self {
            Self::GlobalNorm(max_norm) => by_global_norm(gradients, max_norm),
            Self::Value(limit) => {
                by_value(gradients, limit);
                0.0
            }
        }
    }
}

/// Scales `gradients` so that `‖g‖₂ ≤ max_norm` (PyTorch's formula, with its `1e-6`), and
/// returns the norm before scaling.
pub fn by_global_norm<T: Real>(gradients: &mut [T], max_norm: f64) -> f64 {
    let norm = gradients.iter().fold(0.0, |s, &g| s + g.to_f64() * g.to_f64()).sqrt();
    let coefficient = (max_norm / (norm + 1e-6)).min(1.0);
    if coefficient < 1.0 {
        let coefficient = T::from_float(coefficient);
        for g in gradients.iter_mut() {
            *g *= coefficient;
        }
    }
    norm
}

/// Clamps every gradient component to `[−limit, limit]`.
pub fn by_value<T: Real>(gradients: &mut [T], limit: f64) {
    let (low, high) = (T::from_float(-limit), T::from_float(limit));
    for g in gradients.iter_mut() {
        *g = g.clamp(low, high);
    }
}
