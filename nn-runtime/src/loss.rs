//! Loss functions: each computes the mean-reduced loss of a batch and, in the same pass,
//! its gradient with respect to the network's output.
//!
//! Predictions and targets are column-major with one sample per column: a batch of `N`
//! samples with `K` outputs is a slice of `K·N` values, sample `n` at `n·K .. n·K + K`.

use crate::Real;
use crate::activation::{Activation, Sigmoid, Sign};

/// A batch-mean loss `L(ŷ, y)` and its gradient `∂L/∂ŷ`.
pub trait Loss<T: Real> {
    /// Values per sample in the target: `outputs` for regression losses, `1` for a class
    /// index.
    fn target_width(&self, outputs: usize) -> usize {
        outputs
    }

    /// The loss of a batch, writing `∂L/∂ŷ` into `gradient` (same shape as `prediction`).
    ///
    /// # Errors
    ///
    /// When a target is not valid for this loss (a class index out of range, say), naming
    /// the sample.
    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError>;

    /// The loss of a batch without its gradient.
    ///
    /// # Errors
    ///
    /// As [`Loss::evaluate`].
    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError>;
}

/// A target a loss cannot use.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LossError {
    /// The prediction and target buffers do not describe the same batch.
    #[error("the target holds {target_len} values, but {batch} samples need {expected} for this loss")]
    TargetShape {
        /// Samples in the batch.
        batch: usize,
        /// Target values the loss expects.
        expected: usize,
        /// Target values given.
        target_len: usize,
    },
    /// A class-index target that is not a whole number from 0 to `classes − 1`.
    #[error("sample {sample}: target {value} is not a class index (a whole number from 0 to {})", classes - 1)]
    ClassIndex {
        /// Index of the sample in the batch.
        sample: usize,
        /// The offending target.
        value: f64,
        /// Classes the network distinguishes (its output size).
        classes: usize,
    },
    /// A target outside `[0, 1]` for a binary cross-entropy.
    #[error("sample {sample}: target {value} is not a probability in [0, 1]")]
    Probability {
        /// Index of the sample in the batch.
        sample: usize,
        /// The offending target.
        value: f64,
    },
}

fn check_shape<T>(
    prediction: &[T],
    target: &[T],
    outputs: usize,
    target_width: usize,
) -> Result<usize, LossError> {
    let batch = prediction.len() / outputs.max(1);
    if target.len() == batch * target_width {
        Ok(batch)
    } else {
        Err(LossError::TargetShape { batch, expected: batch * target_width, target_len: target.len() })
    }
}

/// Mean squared error, PyTorch's `MSELoss()`: `L = 1/(N·K) Σₙ Σₖ (ŷₙₖ − yₙₖ)²`,
/// `∂L/∂ŷ = 2(ŷ − y)/(N·K)`.
///
/// # Example
///
/// ```
/// use nn_runtime::loss::{Loss, MeanSquaredError};
/// let mut gradient = [0.0; 2];
/// let loss = MeanSquaredError.evaluate(&[1.0, 3.0], &[0.0, 1.0], &mut gradient, 2).unwrap();
/// assert_eq!(loss, 2.5); // (1 + 4) / 2
/// assert_eq!(gradient, [1.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanSquaredError;

impl<T: Real> Loss<T> for MeanSquaredError {
    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let scale = T::one() / T::from_float(prediction.len() as f64);
        let two_scale = scale + scale;
        let mut sum = T::zero();
        for ((g, &p), &y) in gradient.iter_mut().zip(prediction).zip(target) {
            let d = p - y;
            sum += d * d;
            *g = two_scale * d;
        }
        Ok(sum * scale)
    }

    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let sum = prediction.iter().zip(target).fold(T::zero(), |s, (&p, &y)| s + (p - y) * (p - y));
        Ok(sum / T::from_float(prediction.len() as f64))
    }
}

/// The seeds' quadratic cost `C = 1/(2N) Σₙ ‖aₙ − yₙ‖²`, `∂C/∂a = (a − y)/N`.
///
/// It equals [`MeanSquaredError`]`·K/2`: the two agree only for two outputs.
///
/// # Example
///
/// ```
/// use nn_runtime::loss::{Loss, QuadraticCost};
/// let mut gradient = [0.0; 2];
/// // One sample, K = 2: C = ((1 − 0)² + (3 − 1)²) / 2.
/// let cost = QuadraticCost.evaluate(&[1.0, 3.0], &[0.0, 1.0], &mut gradient, 2).unwrap();
/// assert_eq!(cost, 2.5);
/// assert_eq!(gradient, [1.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuadraticCost;

impl<T: Real> Loss<T> for QuadraticCost {
    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError> {
        let batch = check_shape(prediction, target, outputs, outputs)?;
        let scale = T::one() / T::from_float(batch as f64);
        let mut sum = T::zero();
        for ((g, &p), &y) in gradient.iter_mut().zip(prediction).zip(target) {
            let d = p - y;
            sum += d * d;
            *g = scale * d;
        }
        Ok(sum * scale / T::from_float(2.0))
    }

    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError> {
        let batch = check_shape(prediction, target, outputs, outputs)?;
        let sum = prediction.iter().zip(target).fold(T::zero(), |s, (&p, &y)| s + (p - y) * (p - y));
        Ok(sum / T::from_float(2.0 * batch as f64))
    }
}

/// The class index a target holds, or why it is not one.
fn class_index<T: Real>(target: T, sample: usize, classes: usize) -> Result<usize, LossError> {
    let value = target.to_f64();
    if value >= 0.0 && value < classes as f64 && value.fract() == 0.0 {
        Ok(value as usize)
    } else {
        Err(LossError::ClassIndex { sample, value, classes })
    }
}

/// Cross-entropy of softmax probabilities against class indices, computed from the logits,
/// PyTorch's `CrossEntropyLoss()`:
///
/// ```text
/// L = −1/N Σₙ log softmax(zₙ)[tₙ] = 1/N Σₙ (logsumexp(zₙ) − zₙ[tₙ])
/// ∂L/∂z = (softmax(z) − onehot(t)) / N
/// ```
///
/// `logsumexp(z) = max z + ln Σ e^(z − max z)` never overflows. The network's last layer
/// should have the identity activation (logits); targets are one value per sample, the
/// class index `0 ≤ t < K`, stored as a float.
///
/// # Example
///
/// ```
/// use nn_runtime::loss::{Loss, SoftmaxCrossEntropy};
/// let mut gradient = [0.0; 2];
/// // Equal logits: both classes have probability 1/2, L = ln 2.
/// let loss = SoftmaxCrossEntropy.evaluate(&[3.0, 3.0], &[1.0], &mut gradient, 2).unwrap();
/// assert!((loss - 2f64.ln()).abs() < 1e-15);
/// // ∂L/∂z = (softmax − onehot)/N = (1/2 − 0, 1/2 − 1).
/// assert!((gradient[0] - 0.5).abs() < 1e-15 && (gradient[1] + 0.5).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SoftmaxCrossEntropy;

impl SoftmaxCrossEntropy {
    /// `logsumexp(z)` of one sample.
    fn log_sum_exp<T: Real>(logits: &[T]) -> T {
        let max = logits.iter().fold(T::from_float(f64::NEG_INFINITY), |m, &v| if v > m { v } else { m });
        max + logits.iter().fold(T::zero(), |s, &z| s + (z - max).exp()).ln()
    }
}

impl<T: Real> Loss<T> for SoftmaxCrossEntropy {
    fn target_width(&self, _outputs: usize) -> usize {
        1
    }

    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError> {
        let batch = check_shape(prediction, target, outputs, 1)?;
        let scale = T::one() / T::from_float(batch as f64);
        let mut sum = T::zero();
        let samples = prediction.chunks_exact(outputs).zip(gradient.chunks_exact_mut(outputs));
        for (sample, ((logits, gradient), &t)) in samples.zip(target).enumerate() {
            let class = class_index(t, sample, outputs)?;
            let lse = Self::log_sum_exp(logits);
            sum += lse - logits[class];
            for (g, &z) in gradient.iter_mut().zip(logits) {
                *g = (z - lse).exp() * scale;
            }
            gradient[class] -= scale;
        }
        Ok(sum * scale)
    }

    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError> {
        let batch = check_shape(prediction, target, outputs, 1)?;
        let mut sum = T::zero();
        for (sample, (logits, &t)) in prediction.chunks_exact(outputs).zip(target).enumerate() {
            let class = class_index(t, sample, outputs)?;
            sum += Self::log_sum_exp(logits) - logits[class];
        }
        Ok(sum / T::from_float(batch as f64))
    }
}

/// A target that must be a probability.
fn probability<T: Real>(target: T, index: usize, outputs: usize) -> Result<T, LossError> {
    let value = target.to_f64();
    if (0.0..=1.0).contains(&value) {
        Ok(target)
    } else {
        Err(LossError::Probability { sample: index / outputs.max(1), value })
    }
}

/// Binary cross-entropy on probabilities, PyTorch's `BCELoss()` (for a sigmoid output):
///
/// ```text
/// L = −1/(N·K) Σ [y·ln p + (1 − y)·ln(1 − p)]      (each log clamped at −100, as PyTorch)
/// ∂L/∂p = (p − y) / max(p(1 − p), 1e-12) / (N·K)
/// ```
///
/// With a sigmoid before it, `∂L/∂z = (p − y)/(N·K)`; [`BinaryCrossEntropyWithLogits`]
/// computes the same from the logits without the round trip through `p`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BinaryCrossEntropy;

impl BinaryCrossEntropy {
    fn term<T: Real>(p: T, y: T) -> T {
        let floor = T::from_float(-100.0);
        let log_p = p.ln().max(floor);
        let log_q = (T::one() - p).ln().max(floor);
        -(y * log_p + (T::one() - y) * log_q)
    }
}

impl<T: Real> Loss<T> for BinaryCrossEntropy {
    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let scale = T::one() / T::from_float(prediction.len() as f64);
        let epsilon = T::from_float(1e-12);
        let mut sum = T::zero();
        for (index, ((g, &p), &y)) in gradient.iter_mut().zip(prediction).zip(target).enumerate() {
            let y = probability(y, index, outputs)?;
            sum += Self::term(p, y);
            *g = (p - y) / (p * (T::one() - p)).max(epsilon) * scale;
        }
        Ok(sum * scale)
    }

    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let mut sum = T::zero();
        for (index, (&p, &y)) in prediction.iter().zip(target).enumerate() {
            sum += Self::term(p, probability(y, index, outputs)?);
        }
        Ok(sum / T::from_float(prediction.len() as f64))
    }
}

/// Binary cross-entropy from logits, PyTorch's `BCEWithLogitsLoss()`: the sigmoid and the
/// cross-entropy in one stable step,
///
/// ```text
/// L = 1/(N·K) Σ [max(z, 0) − z·y + ln(1 + e^(−|z|))]
/// ∂L/∂z = (σ(z) − y)/(N·K)
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BinaryCrossEntropyWithLogits;

impl BinaryCrossEntropyWithLogits {
    fn term<T: Real>(z: T, y: T) -> T {
        z.max(T::zero()) - z * y + (-z.abs()).exp().ln_1p()
    }
}

impl<T: Real> Loss<T> for BinaryCrossEntropyWithLogits {
    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let scale = T::one() / T::from_float(prediction.len() as f64);
        let mut sum = T::zero();
        for (index, ((g, &z), &y)) in gradient.iter_mut().zip(prediction).zip(target).enumerate() {
            let y = probability(y, index, outputs)?;
            sum += Self::term(z, y);
            *g = (Sigmoid.f(z) - y) * scale;
        }
        Ok(sum * scale)
    }

    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let mut sum = T::zero();
        for (index, (&z, &y)) in prediction.iter().zip(target).enumerate() {
            sum += Self::term(z, probability(y, index, outputs)?);
        }
        Ok(sum / T::from_float(prediction.len() as f64))
    }
}

/// Mean absolute error, PyTorch's `L1Loss()`: `L = 1/(N·K) Σ |ŷ − y|`,
/// `∂L/∂ŷ = sign(ŷ − y)/(N·K)` (0 where `ŷ = y`, as PyTorch).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanAbsoluteError;

impl<T: Real> Loss<T> for MeanAbsoluteError {
    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let scale = T::one() / T::from_float(prediction.len() as f64);
        let mut sum = T::zero();
        for ((g, &p), &y) in gradient.iter_mut().zip(prediction).zip(target) {
            let d = p - y;
            sum += d.abs();
            *g = Sign.f(d) * scale;
        }
        Ok(sum * scale)
    }

    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let sum = prediction.iter().zip(target).fold(T::zero(), |s, (&p, &y)| s + (p - y).abs());
        Ok(sum / T::from_float(prediction.len() as f64))
    }
}

/// Huber loss, PyTorch's `HuberLoss(delta)`: quadratic near 0, linear beyond `δ`,
///
/// ```text
/// ℓ(d) = d²/2 if |d| < δ, else δ(|d| − δ/2);   L = 1/(N·K) Σ ℓ(ŷ − y)
/// ℓ'(d) = d if |d| < δ, else δ·sign(d)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    /// The threshold `δ` between the quadratic and the linear part (PyTorch's default 1).
    pub delta: f64,
}

impl Default for Huber {
    fn default() -> Self {
        Self { delta: 1.0 }
    }
}

impl Huber {
    fn term<T: Real>(d: T, delta: T) -> (T, T) {
        if d.abs() < delta {
            (T::from_float(0.5) * d * d, d)
        } else {
            (delta * (d.abs() - T::from_float(0.5) * delta), delta * Sign.f(d))
        }
    }
}

impl<T: Real> Loss<T> for Huber {
    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let (scale, delta) = (T::one() / T::from_float(prediction.len() as f64), T::from_float(self.delta));
        let mut sum = T::zero();
        for ((g, &p), &y) in gradient.iter_mut().zip(prediction).zip(target) {
            let (value, slope) = Self::term(p - y, delta);
            sum += value;
            *g = slope * scale;
        }
        Ok(sum * scale)
    }

    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError> {
        check_shape(prediction, target, outputs, outputs)?;
        let delta = T::from_float(self.delta);
        let sum = prediction.iter().zip(target).fold(T::zero(), |s, (&p, &y)| s + Self::term(p - y, delta).0);
        Ok(sum / T::from_float(prediction.len() as f64))
    }
}
