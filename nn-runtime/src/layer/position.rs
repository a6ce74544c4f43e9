//! Position encodings added to a sequence `[T, E]`: a learned table (`positional`, a
//! `weight` `[T, E]`, as an `nn.Embedding(T, E)` read at positions `0 … T−1`) or the fixed
//! sinusoids of Vaswani et al. (`sinusoidal`).
//!
//! ```text
//! a[t] = x[t] + P[t]
//! sinusoidal:  P[t][2i] = sin(t·ω_i),  P[t][2i+1] = cos(t·ω_i),  ω_i = 10000^(−2i/E)
//! backward:    ∂L/∂x = ∂L/∂a,  ∂L/∂P[t] = Σ_n ∂L/∂a[n][t]  (learned)
//! ```

use nalgebra::SVector;

use crate::Real;
use crate::real::math;

/// `a[n] = x[n] + table` for every sample of a batch (`table` is one sample's `[T, E]`).
#[inline]
pub fn forward<T: Real>(table: &[T], x: &[T], output: &mut [T]) {
    for (out, sample) in output.chunks_exact_mut(table.len()).zip(x.chunks_exact(table.len())) {
        for ((o, &x), &p) in out.iter_mut().zip(sample).zip(table) {
            *o = x + p;
        }
    }
}

/// `∂L/∂x = ∂L/∂a` (when asked) and, for a learned table, `∂L/∂P = Σ_n ∂L/∂a[n]`
/// (overwritten).
#[inline]
pub fn backward<T: Real>(grad_output: &[T], grad_table: Option<&mut [T]>, grad_input: Option<&mut [T]>) {
    if let Some(grad_table) = grad_table {
        grad_table.fill(T::zero());
        let size = grad_table.len();
        for sample in grad_output.chunks_exact(size) {
            for (g, &d) in grad_table.iter_mut().zip(sample) {
                *g += d;
            }
        }
    }
    if let Some(grad_input) = grad_input {
        grad_input.copy_from_slice(grad_output);
    }
}

/// Writes the sinusoidal table `[T, E]` (`E = table.len() / T`) into `table`.
#[inline]
pub fn sinusoids<T: Real>(table: &mut [T], embed: usize) {
    for (t, row) in table.chunks_exact_mut(embed).enumerate() {
        for (index, value) in row.iter_mut().enumerate() {
            let pair = (index / 2 * 2) as f64;
            let angle = t as f64 * math::pow(10000.0, -pair / embed as f64);
            *value = T::from_float(if index % 2 == 0 { math::sin(angle) } else { math::cos(angle) });
        }
    }
}

/// One sample with a learned table (`S = T·E`).
#[inline]
#[must_use]
pub fn learned_one<T: Real, const S: usize>(table: &[T], x: &SVector<T, S>) -> SVector<T, S> {
    x + SVector::<T, S>::from_column_slice(&table[..S])
}

/// One sample with the sinusoidal table (`S = T·E`).
#[inline]
#[must_use]
pub fn sinusoidal_one<T: Real, const S: usize>(embed: usize, x: &SVector<T, S>) -> SVector<T, S> {
    let mut table = SVector::<T, S>::zeros();
    sinusoids(table.as_mut_slice(), embed);
    x + table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinusoids_follow_the_transformer_paper() {
        let mut table = [0.0; 3 * 4];
        sinusoids::<f64>(&mut table, 4);
        // Position 0: sin 0, cos 0 in every pair.
        assert_eq!(&table[..4], &[0.0, 1.0, 0.0, 1.0]);
        // Position 2, pair 1: ω = 10000^(−2/4) = 0.01.
        assert!((table[8 + 2] - (0.02_f64).sin()).abs() < 1e-15);
        assert!((table[8 + 3] - (0.02_f64).cos()).abs() < 1e-15);
        assert!((table[8] - 2.0_f64.sin()).abs() < 1e-15);
    }
}
