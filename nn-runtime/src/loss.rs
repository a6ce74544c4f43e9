//! Loss functions: each computes the mean-reduced loss of a batch and, in the same pass,
//! its gradient with respect to the network's output.
//!
//! Predictions and targets are column-major with one sample per column: a batch of `N`
//! samples with `K` outputs is a slice of `K·N` values, sample `n` at `n·K .. n·K + K`.

use crate::Real;

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
    /// A target value outside the loss's domain.
    #[error("sample {sample}: target {value} is not valid here: {reason}")]
    InvalidTarget {
        /// Index of the sample in the batch.
        sample: usize,
        /// The offending value.
        value: f64,
        /// What the loss requires.
        reason: &'static str,
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
