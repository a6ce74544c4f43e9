//! Feature scaling, fitted on the training data only and then applied to every split, so no
//! information leaks from the test set.

use super::Dataset;
use crate::Real;

/// Standardisation, scikit-learn's `StandardScaler`: `x ← (x − μ)/σ` per feature, with the
/// population standard deviation; a constant feature (σ = 0) is only centred.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    /// Each feature's mean `μ`.
    pub mean: Vec<f64>,
    /// Each feature's standard deviation `σ` (1 where it was 0).
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits the means and deviations of `data`'s features.
    #[must_use]
    pub fn fit<T: Real>(data: &Dataset<T>) -> Self {
        let (features, n) = (data.features(), data.len().max(1) as f64);
        let mut mean = vec![0.0; features];
        for sample in data.inputs().chunks_exact(features) {
            for (m, &x) in mean.iter_mut().zip(sample) {
                *m += x.to_f64() / n;
            }
        }
        let mut variance = vec![0.0; features];
        for sample in data.inputs().chunks_exact(features) {
            for ((v, &x), m) in variance.iter_mut().zip(sample).zip(&mean) {
                *v += (x.to_f64() - m).powi(2) / n;
            }
        }
        let scale = variance.iter().map(|&v| if v > 0.0 { v.sqrt() } else { 1.0 }).collect();
        Self { mean, scale }
    }

    /// Standardises `data`'s features in place.
    pub fn apply<T: Real>(&self, data: &mut Dataset<T>) {
        let features = data.features();
        for sample in data.inputs_mut().chunks_exact_mut(features) {
            for ((x, m), s) in sample.iter_mut().zip(&self.mean).zip(&self.scale) {
                *x = T::from_float((x.to_f64() - m) / s);
            }
        }
    }
}

/// Min-max scaling, scikit-learn's `MinMaxScaler`: `x ← (x − min)/(max − min)` per feature,
/// mapping the training range to `[0, 1]`; a constant feature maps to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler {
    /// Each feature's minimum.
    pub min: Vec<f64>,
    /// Each feature's maximum.
    pub max: Vec<f64>,
}

impl MinMaxScaler {
    /// Fits the ranges of `data`'s features.
    #[must_use]
    pub fn fit<T: Real>(data: &Dataset<T>) -> Self {
        let features = data.features();
        let (mut min, mut max) = (vec![f64::INFINITY; features], vec![f64::NEG_INFINITY; features]);
        for sample in data.inputs().chunks_exact(features) {
            for ((low, high), &x) in min.iter_mut().zip(max.iter_mut()).zip(sample) {
                *low = low.min(x.to_f64());
                *high = high.max(x.to_f64());
            }
        }
        Self { min, max }
    }

    /// Scales `data`'s features in place.
    pub fn apply<T: Real>(&self, data: &mut Dataset<T>) {
        let features = data.features();
        for sample in data.inputs_mut().chunks_exact_mut(features) {
            for ((x, low), high) in sample.iter_mut().zip(&self.min).zip(&self.max) {
                let range = high - low;
                *x = T::from_float(if range > 0.0 { (x.to_f64() - low) / range } else { 0.0 });
            }
        }
    }
}
