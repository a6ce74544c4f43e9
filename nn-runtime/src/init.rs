//! Parameter initialisers, drawn from a seeded RNG so every run is reproducible.
//!
//! Draws are made in `f64` and rounded, so an `f32` and an `f64` network built from the same
//! seed start from the same values (to `f32` precision).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Real;

/// How a dense layer's weight `[out, in]` and bias `[out]` are initialised.
///
/// `fan_in` is the layer's input size, `fan_out` its output size.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Init {
    /// PyTorch's `nn.Linear` default (the default here too): weight and bias
    /// `~ U(−1/√fan_in, 1/√fan_in)`.
    #[default]
    TorchLinear,
    /// Xavier/Glorot uniform: weight `~ U(−a, a)`, `a = √(6/(fan_in + fan_out))`; bias 0.
    XavierUniform,
    /// Xavier/Glorot normal: weight `~ N(0, 2/(fan_in + fan_out))`; bias 0.
    XavierNormal,
    /// He/Kaiming uniform (ReLU gain): weight `~ U(−a, a)`, `a = √(6/fan_in)`; bias 0.
    HeUniform,
    /// He/Kaiming normal (ReLU gain): weight `~ N(0, 2/fan_in)`; bias 0.
    HeNormal,
    /// Every weight and bias 0.
    Zeros,
    /// Every weight the given value; bias 0.
    Constant(f64),
}

impl Init {
    /// Fills a dense layer's weight (`fan_out·fan_in` values) and bias (`fan_out` values).
    pub fn fill_dense<T: Real, R: Rng + ?Sized>(
        self,
        weight: &mut [T],
        bias: &mut [T],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        let fan_in_f = fan_in as f64;
        let fans = (fan_in + fan_out) as f64;
        match self {
            Self::TorchLinear => {
                let bound = 1.0 / fan_in_f.sqrt();
                fill_uniform(weight, bound, rng);
                fill_uniform(bias, bound, rng);
                return;
            }
            Self::XavierUniform => fill_uniform(weight, (6.0 / fans).sqrt(), rng),
            Self::XavierNormal => fill_normal(weight, (2.0 / fans).sqrt(), rng),
            Self::HeUniform => fill_uniform(weight, (6.0 / fan_in_f).sqrt(), rng),
            Self::HeNormal => fill_normal(weight, (2.0 / fan_in_f).sqrt(), rng),
            Self::Zeros => weight.fill(T::zero()),
            Self::Constant(value) => weight.fill(T::from_float(value)),
        }
        bias.fill(T::zero());
    }
}

/// Fills `values` with draws from `U(−bound, bound)` (a recurrent layer's default is
/// `bound = 1/√H`, as PyTorch's `nn.RNN`, `nn.GRU` and `nn.LSTM`).
pub fn fill_uniform<T: Real, R: Rng + ?Sized>(values: &mut [T], bound: f64, rng: &mut R) {
    for v in values {
        *v = T::from_float(rng.random_range(-bound..bound));
    }
}

/// Fills `values` with draws from `N(0, std²)` (an embedding's default is `std = 1`, as
/// PyTorch's `nn.Embedding`).
pub fn fill_normal<T: Real, R: Rng + ?Sized>(values: &mut [T], std: f64, rng: &mut R) {
    for v in values {
        let draw: f64 = StandardNormal.sample(rng);
        *v = T::from_float(std * draw);
    }
}

/// The RNG behind seeded construction: ChaCha8, whose stream for a seed is fixed across
/// platforms and versions.
#[must_use]
pub fn seeded_rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand::SeedableRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn uniform_initialisers_stay_in_their_bounds_and_are_seeded() {
        let (fan_in, fan_out) = (50, 30);
        for (init, bound) in [
            (Init::TorchLinear, (1.0 / 50.0_f64).sqrt()),
            (Init::XavierUniform, (6.0 / 80.0_f64).sqrt()),
            (Init::HeUniform, (6.0 / 50.0_f64).sqrt()),
        ] {
            let mut weight = vec![0.0_f64; fan_in * fan_out];
            let mut bias = vec![0.0_f64; fan_out];
            init.fill_dense(&mut weight, &mut bias, fan_in, fan_out, &mut ChaCha8Rng::seed_from_u64(7));
            assert!(weight.iter().all(|w| w.abs() < bound), "{init:?}");
            let max = weight.iter().fold(0.0_f64, |m, w| m.max(w.abs()));
            assert!(max > 0.9 * bound, "{init:?} should fill its range, max {max}");
            let mut again = vec![0.0_f64; fan_in * fan_out];
            init.fill_dense(&mut again, &mut bias, fan_in, fan_out, &mut ChaCha8Rng::seed_from_u64(7));
            assert_eq!(weight, again);
        }
    }

    #[test]
    fn normal_initialisers_have_their_variance() {
        let (fan_in, fan_out) = (400, 200);
        for (init, variance) in [(Init::XavierNormal, 2.0 / 600.0), (Init::HeNormal, 2.0 / 400.0)] {
            let mut weight = vec![0.0_f64; fan_in * fan_out];
            let mut bias = vec![1.0_f64; fan_out];
            init.fill_dense(&mut weight, &mut bias, fan_in, fan_out, &mut ChaCha8Rng::seed_from_u64(1));
            let n = weight.len() as f64;
            let mean = weight.iter().sum::<f64>() / n;
            let var = weight.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / n;
            assert!((var / variance - 1.0).abs() < 0.02, "{init:?}: {var} vs {variance}");
            assert!(mean.abs() < 0.01 * variance.sqrt() * 10.0);
            assert!(bias.iter().all(|&b| b == 0.0));
        }
    }
}
