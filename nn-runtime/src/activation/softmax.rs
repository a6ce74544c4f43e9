//! Softmax over each sample: `aₖ = e^(zₖ) / Σⱼ e^(zⱼ)`, computed as `e^(zₖ − max z)` so it
//! never overflows. Not elementwise, so its backward pass uses the whole Jacobian:
//!
//! ```text
//! ∂L/∂zₖ = aₖ·(∂L/∂aₖ − Σⱼ ∂L/∂aⱼ·aⱼ)
//! ```
//!
//! For classification, prefer identity logits with
//! [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy): the fused gradient
//! `softmax − onehot` is cheaper and more accurate than this one followed by a log.

use nalgebra::SVector;

use crate::Real;

/// The largest value (NaNs skipped; `−∞` for none), subtracted before exponentiating so
/// that no `e^z` overflows: here and in [`crate::loss::SoftmaxCrossEntropy`].
#[inline]
pub(crate) fn largest<T: Real>(values: &[T]) -> T {
    values.iter().fold(T::from_float(f64::NEG_INFINITY), |m, &v| if v > m { v } else { m })
}

/// Softmax of one sample.
#[inline]
fn softmax_into<T: Real>(z: &[T], a: &mut [T]) {
    let max = largest(z);
    let mut sum = T::zero();
    for (a, &z) in a.iter_mut().zip(z) {
        *a = (z - max).exp();
        sum += *a;
    }
    let inverse = T::one() / sum;
    for a in a.iter_mut() {
        *a *= inverse;
    }
}

/// `a = softmax(z)` for each sample of `width` values.
#[inline]
pub fn forward<T: Real>(z: &[T], a: &mut [T], width: usize) {
    for (z, a) in z.chunks_exact(width).zip(a.chunks_exact_mut(width)) {
        softmax_into(z, a);
    }
}

/// Softmax in place, for each sample of `width` values.
#[inline]
pub fn forward_in_place<T: Real>(values: &mut [T], width: usize) {
    let mut column = [T::zero(); 64];
    for sample in values.chunks_exact_mut(width) {
        if width <= column.len() {
            let z = &mut column[..width];
            z.copy_from_slice(sample);
            softmax_into(z, sample);
        } else {
            in_place_wide(sample);
        }
    }
}

/// Softmax in place for a sample too wide for the stack buffer: two passes, no copy.
fn in_place_wide<T: Real>(values: &mut [T]) {
    let max = largest(values);
    let mut sum = T::zero();
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inverse = T::one() / sum;
    for v in values.iter_mut() {
        *v *= inverse;
    }
}

/// Softmax of one sample on the stack.
#[inline]
#[must_use]
pub fn forward_one<T: Real, const N: usize>(z: &SVector<T, N>) -> SVector<T, N> {
    let mut a = SVector::<T, N>::zeros();
    softmax_into(z.as_slice(), a.as_mut_slice());
    a
}

/// `∂L/∂z = a ⊙ (∂L/∂a − ⟨∂L/∂a, a⟩)` per sample, in place on the gradient.
#[inline]
pub fn backward_in_place<T: Real>(a: &[T], gradient: &mut [T], width: usize) {
    for (a, g) in a.chunks_exact(width).zip(gradient.chunks_exact_mut(width)) {
        let dot = a.iter().zip(g.iter()).fold(T::zero(), |s, (&a, &g)| s + a * g);
        for (g, &a) in g.iter_mut().zip(a) {
            *g = a * (*g - dot);
        }
    }
}

/// `∂L/∂z = a ⊙ (∂L/∂a − ⟨∂L/∂a, a⟩)` per sample, into a separate buffer.
#[inline]
pub fn backward<T: Real>(a: &[T], grad_output: &[T], grad_input: &mut [T], width: usize) {
    grad_input.copy_from_slice(grad_output);
    backward_in_place(a, grad_input, width);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // in place and out of place run the same arithmetic: equality is the claim
    fn sums_to_one_and_survives_huge_logits() {
        let z = [1000.0_f64, 1001.0, 1002.0, -5.0, 0.0, 5.0];
        let mut a = [0.0; 6];
        forward(&z, &mut a, 3);
        for sample in a.chunks(3) {
            assert!((sample.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        }
        // e^0, e^1, e^2 normalised: 1/(1 + e + e²) = 0.0900305731703805.
        assert!((a[0] - 0.090_030_573_170_380_5).abs() < 1e-15);
        // (−5, 0, 5): the largest gets 1/(1 + e⁻⁵ + e⁻¹⁰) = 0.9932623568421745.
        assert!((a[5] - 0.993_262_356_842_174_5).abs() < 1e-15);
        let mut in_place = z;
        forward_in_place(&mut in_place, 3);
        if cfg!(miri) {
            // Miri perturbs `exp` by a few ulp on every call, so two passes agree closely.
            assert!(in_place.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-15));
        } else {
            assert_eq!(in_place, a);
        }
    }
}
