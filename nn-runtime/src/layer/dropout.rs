//! Inverted dropout: in training each value is kept with probability `1 − p` and scaled by
//! `1/(1 − p)`, so inference is the identity and needs no rescaling (PyTorch's semantics).
//!
//! ```text
//! forward:   a = x ⊙ m,  mᵢ = 1/(1 − p) with probability 1 − p, else 0
//! backward:  ∂L/∂x = ∂L/∂a ⊙ m
//! ```

#[cfg(feature = "std")]
use rand::Rng;

use crate::Real;

/// Draws a fresh mask and applies it: `output = input ⊙ mask`.
#[cfg(feature = "std")]
#[inline]
pub fn forward_train<T: Real, R: Rng + ?Sized>(
    probability: f64,
    input: &[T],
    mask: &mut [T],
    output: &mut [T],
    rng: &mut R,
) {
    let scale = T::from_float(1.0 / (1.0 - probability));
    for ((m, o), &x) in mask.iter_mut().zip(output.iter_mut()).zip(input) {
        *m = if rng.random::<f64>() < probability { T::zero() } else { scale };
        *o = x * *m;
    }
}

/// `∂L/∂x = ∂L/∂a ⊙ mask`.
#[inline]
pub fn backward<T: Real>(mask: &[T], grad_output: &[T], grad_input: &mut [T]) {
    for ((gi, &go), &m) in grad_input.iter_mut().zip(grad_output).zip(mask) {
        *gi = go * m;
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn keeps_about_one_minus_p_and_preserves_the_mean() {
        let n = 100_000;
        let input = vec![1.0_f64; n];
        let (mut mask, mut output) = (vec![0.0; n], vec![0.0; n]);
        forward_train(0.3, &input, &mut mask, &mut output, &mut ChaCha8Rng::seed_from_u64(3));
        let kept = mask.iter().filter(|&&m| m != 0.0).count() as f64 / n as f64;
        assert!((kept - 0.7).abs() < 0.01, "kept {kept}");
        let mean = output.iter().sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.02, "mean {mean}");
        assert!(mask.iter().all(|&m| m == 0.0 || (m - 1.0 / 0.7).abs() < 1e-15));
    }

    #[test]
    #[allow(clippy::float_cmp)] // p = 0 scales by exactly 1: equality is the claim
    fn zero_probability_keeps_everything() {
        let input = [1.0_f32, -2.0, 3.0];
        let (mut mask, mut output) = ([0.0; 3], [0.0; 3]);
        forward_train(0.0, &input, &mut mask, &mut output, &mut ChaCha8Rng::seed_from_u64(0));
        assert_eq!(output, input);
        let mut grad = [0.0; 3];
        backward(&mask, &[1.0, 1.0, 1.0], &mut grad);
        assert_eq!(grad, [1.0; 3]);
    }
}
