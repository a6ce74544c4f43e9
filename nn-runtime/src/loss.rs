//! Loss functions: each computes the mean-reduced loss of a batch and, in the same pass,
//! its gradient with respect to the network's output.
//!
//! Predictions and targets are column-major with one sample per column: a batch of `N`
//! samples with `K` outputs is a slice of `K·N` values, sample `n` at `n·K .. n·K + K`.

use crate::Real;
use crate::activation::softmax::largest;
use crate::activation::{Activation, Sigmoid, Sign};

/// A batch-mean loss `L(ŷ, y)` and its gradient `∂L/∂ŷ`.
pub trait Loss<T: Real> {
    /// Values per sample in the target: `outputs` for regression losses, `1` for a class
    /// index.
    fn target_width(&self, outputs: usize) -> usize {
        outputs
    }

    /// For classification losses, `(correct, total)` predictions in a batch: the accuracy
    /// the trainer reports. `None` for regression losses.
    fn correct(&self, _prediction: &[T], _target: &[T], _outputs: usize) -> Option<(usize, usize)> {
        None
    }

    /// The loss of a batch and, when a buffer is given (same shape as `prediction`), its
    /// gradient `∂L/∂ŷ`.
    ///
    /// # Errors
    ///
    /// When the target does not fit the prediction, or a target is not valid for this loss
    /// (a class index out of range, say), naming the sample.
    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError>;

    /// The loss of a batch, writing `∂L/∂ŷ` into `gradient` (same shape as `prediction`).
    ///
    /// # Errors
    ///
    /// As [`Loss::compute`].
    fn evaluate(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: &mut [T],
        outputs: usize,
    ) -> Result<T, LossError> {
        self.compute(prediction, target, Some(gradient), outputs)
    }

    /// The loss of a batch without its gradient.
    ///
    /// # Errors
    ///
    /// As [`Loss::compute`].
    fn value(&self, prediction: &[T], target: &[T], outputs: usize) -> Result<T, LossError> {
        self.compute(prediction, target, None, outputs)
    }
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
    #[error("sample {sample}: target {value} is not a class index (a whole number from 0 to {})", classes.saturating_sub(1))]
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
    /// A target of one step of a sequence (a [`PerStep`] loss) that is not valid for the
    /// loss: `reason` is the step's own error, which counts the batch's steps as samples.
    #[error("sample {sample}, step {step}: {reason}")]
    Step {
        /// Index of the sequence in the batch.
        sample: usize,
        /// Index of the step in the sequence.
        step: usize,
        /// The error for that step, as the wrapped loss reports it.
        reason: Box<LossError>,
    },
    /// A prediction of no values per sample, on which no loss is defined.
    #[error("the prediction has 0 values per sample: a loss needs a network with at least one output")]
    NoOutputs,
}

fn check_shape<T>(
    prediction: &[T],
    target: &[T],
    outputs: usize,
    target_width: usize,
) -> Result<usize, LossError> {
    if outputs == 0 {
        return Err(LossError::NoOutputs);
    }
    let batch = prediction.len() / outputs;
    if target.len() == batch * target_width {
        Ok(batch)
    } else {
        Err(LossError::TargetShape { batch, expected: batch * target_width, target_len: target.len() })
    }
}

/// `L = 1/(N·K) Σᵢ ℓ(ŷᵢ, yᵢ)` and `∂L/∂ŷᵢ = ℓ'(ŷᵢ, yᵢ)/(N·K)`, for the losses that are a
/// mean of one term per output value. `term(i, ŷᵢ, yᵢ)` returns `(ℓ, ℓ')` or a target error.
fn mean_of_terms<T: Real>(
    prediction: &[T],
    target: &[T],
    gradient: Option<&mut [T]>,
    outputs: usize,
    term: impl Fn(usize, T, T) -> Result<(T, T), LossError>,
) -> Result<T, LossError> {
    check_shape(prediction, target, outputs, outputs)?;
    let scale = T::one() / T::from_float(prediction.len() as f64);
    let mut gradient = gradient.map(|gradient| &mut gradient[..prediction.len()]);
    let mut sum = T::zero();
    for (index, (&p, &y)) in prediction.iter().zip(target).enumerate() {
        let (value, slope) = term(index, p, y)?;
        sum += value;
        if let Some(gradient) = gradient.as_deref_mut() {
            gradient[index] = slope * scale;
        }
    }
    Ok(sum * scale)
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
    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError> {
        let two = T::from_float(2.0);
        mean_of_terms(prediction, target, gradient, outputs, |_, p, y| Ok(((p - y) * (p - y), two * (p - y))))
    }
}

/// The seeds' quadratic cost `C = 1/(2N) Σₙ ‖aₙ − yₙ‖²`, `∂C/∂a = (a − y)/N`.
///
/// It equals [`MeanSquaredError`]`·K/2`: the two agree only for two outputs. As a mean over
/// the `N·K` values, each term is `ℓ = K/2·(a − y)²`, `ℓ' = K·(a − y)`.
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
    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError> {
        let (k, half_k) = (T::from_float(outputs as f64), T::from_float(outputs as f64 / 2.0));
        mean_of_terms(prediction, target, gradient, outputs, |_, a, y| {
            Ok((half_k * (a - y) * (a - y), k * (a - y)))
        })
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
        let max = largest(logits);
        max + logits.iter().fold(T::zero(), |s, &z| s + (z - max).exp()).ln()
    }

    /// Writes one sample's `∂L/∂z = (softmax(z) − onehot(class))·scale` into `gradient` and
    /// returns its `logsumexp(z)`, taking each `e^(z − max z)` once, four logits at a time
    /// in vector lanes ([`Real::exp_vectorised`]; a plain loop over the logits, whose count
    /// is known only at run time, stayed scalar). The loss of W3's 64 samples went 4.9 µs
    /// (the platform's `expf`, twice per logit) → 3.6 (once, scalar) → 2.0.
    fn softmax_gradient<T: Real>(logits: &[T], class: usize, scale: T, gradient: &mut [T]) -> T {
        let max = largest(logits);
        let (whole, rest) = gradient.as_chunks_mut::<4>();
        let (logit_chunks, logit_rest) = logits.as_chunks::<4>();
        for (g, z) in whole.iter_mut().zip(logit_chunks) {
            for i in 0..4 {
                g[i] = (z[i] - max).exp_vectorised();
            }
        }
        for (g, &z) in rest.iter_mut().zip(logit_rest) {
            *g = (z - max).exp_vectorised();
        }
        let total = gradient.iter().fold(T::zero(), |s, &e| s + e);
        let factor = scale / total;
        for g in gradient.iter_mut() {
            *g *= factor;
        }
        gradient[class] -= scale;
        max + total.ln()
    }
}

impl<T: Real> Loss<T> for SoftmaxCrossEntropy {
    fn target_width(&self, _outputs: usize) -> usize {
        1
    }

    /// A sample is correct when its largest logit is its class.
    fn correct(&self, prediction: &[T], target: &[T], outputs: usize) -> Option<(usize, usize)> {
        if outputs == 0 {
            return None;
        }
        let samples = prediction.chunks_exact(outputs).zip(target);
        // Targets are validated class indices, so comparing as integers is exact.
        let correct = samples.filter(|&(logits, &t)| Some(argmax(logits)) == class_of(t)).count();
        Some((correct, target.len()))
    }

    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError> {
        let batch = check_shape(prediction, target, outputs, 1)?;
        let scale = T::one() / T::from_float(batch as f64);
        let mut sum = T::zero();
        let mut gradient = gradient.map(|g| g.chunks_exact_mut(outputs));
        for (sample, (logits, &t)) in prediction.chunks_exact(outputs).zip(target).enumerate() {
            let class = class_index(t, sample, outputs)?;
            let lse = match gradient.as_mut().and_then(Iterator::next) {
                Some(gradient) => Self::softmax_gradient(logits, class, scale, gradient),
                None => Self::log_sum_exp(logits),
            };
            sum += lse - logits[class];
        }
        Ok(sum * scale)
    }
}

/// `(correct, total)` binary predictions: a prediction above `threshold` (1/2 for a
/// probability, 0 for a logit) says 1, and is correct when the target is above 1/2.
fn binary_correct<T: Real>(prediction: &[T], target: &[T], threshold: T) -> (usize, usize) {
    let half = T::from_float(0.5);
    let correct = prediction.iter().zip(target).filter(|&(&p, &y)| (p > threshold) == (y > half)).count();
    (correct, target.len())
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
    /// `(ℓ, ℓ')` for one probability `p` and target `y`.
    fn term<T: Real>(p: T, y: T) -> (T, T) {
        let floor = T::from_float(-100.0);
        let log_p = p.ln().max(floor);
        let log_q = (T::one() - p).ln().max(floor);
        let slope = (p - y) / (p * (T::one() - p)).max(T::from_float(1e-12));
        (-(y * log_p + (T::one() - y) * log_q), slope)
    }
}

impl<T: Real> Loss<T> for BinaryCrossEntropy {
    /// A value is correct when the probability and the target fall on the same side of 1/2.
    fn correct(&self, prediction: &[T], target: &[T], _outputs: usize) -> Option<(usize, usize)> {
        Some(binary_correct(prediction, target, T::from_float(0.5)))
    }

    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError> {
        mean_of_terms(prediction, target, gradient, outputs, |index, p, y| {
            Ok(Self::term(p, probability(y, index, outputs)?))
        })
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
    /// `(ℓ, ℓ')` for one logit `z` and target `y`.
    fn term<T: Real>(z: T, y: T) -> (T, T) {
        (z.max(T::zero()) - z * y + (-z.abs()).exp().ln_1p(), Sigmoid.f(z) - y)
    }
}

impl<T: Real> Loss<T> for BinaryCrossEntropyWithLogits {
    /// A value is correct when the logit's sign matches the target's side of 1/2.
    fn correct(&self, prediction: &[T], target: &[T], _outputs: usize) -> Option<(usize, usize)> {
        Some(binary_correct(prediction, target, T::zero()))
    }

    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError> {
        mean_of_terms(prediction, target, gradient, outputs, |index, z, y| {
            Ok(Self::term(z, probability(y, index, outputs)?))
        })
    }
}

/// Mean absolute error, PyTorch's `L1Loss()`: `L = 1/(N·K) Σ |ŷ − y|`,
/// `∂L/∂ŷ = sign(ŷ − y)/(N·K)` (0 where `ŷ = y`, as PyTorch).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanAbsoluteError;

impl<T: Real> Loss<T> for MeanAbsoluteError {
    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError> {
        mean_of_terms(prediction, target, gradient, outputs, |_, p, y| Ok(((p - y).abs(), Sign.f(p - y))))
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
    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError> {
        let delta = T::from_float(self.delta);
        mean_of_terms(prediction, target, gradient, outputs, |_, p, y| Ok(Self::term(p - y, delta)))
    }
}

/// The class index a target holds, if it is one.
fn class_of<T: Real>(target: T) -> Option<usize> {
    let value = target.to_f64();
    (value >= 0.0 && value.fract() == 0.0).then_some(value as usize)
}

/// The index of the largest value (the first, on ties).
#[must_use]
pub fn argmax<T: Real>(values: &[T]) -> usize {
    let mut best = 0;
    for (index, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = index;
        }
    }
    best
}

/// A loss applied at every step of a sequence output `[T, C]` and averaged over the batch's
/// `N·T` steps: PyTorch's loss on the output reshaped to `[N·T, C]` (and class targets to
/// `[N·T]`). With a mean loss over every value (`MeanSquaredError`) this is the loss on the
/// whole output; with `SoftmaxCrossEntropy` it is one softmax per step, a class index per
/// step in the target, and the accuracy counts steps.
///
/// # Example
///
/// ```
/// use nn_runtime::loss::{Loss, PerStep, SoftmaxCrossEntropy};
/// // One sequence of 2 steps of 2 logits; classes 0 then 1.
/// let loss = PerStep::new(SoftmaxCrossEntropy, 2);
/// let value: f64 = loss.value(&[0.0, 0.0, 0.0, 0.0], &[0.0, 1.0], 4).unwrap();
/// assert!((value - 2.0_f64.ln()).abs() < 1e-15);
/// ```
// No `Default`: a sequence of 0 steps is not one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerStep<L> {
    loss: L,
    steps: usize,
}

impl<L> PerStep<L> {
    /// `loss` at every one of `steps` steps.
    ///
    /// # Panics
    ///
    /// When `steps` is 0.
    #[must_use]
    pub fn new(loss: L, steps: usize) -> Self {
        assert!(steps > 0, "a sequence has at least one step");
        Self { loss, steps }
    }

    /// One step's outputs from a sample's.
    fn per_step(&self, outputs: usize) -> usize {
        outputs / self.steps
    }

    /// A step's target error, naming the sequence and the step.
    fn locate(&self, error: LossError) -> LossError {
        let row = match error {
            LossError::ClassIndex { sample, .. } | LossError::Probability { sample, .. } => sample,
            other => return other,
        };
        LossError::Step { sample: row / self.steps, step: row % self.steps, reason: Box::new(error) }
    }
}

impl<T: Real, L: Loss<T>> Loss<T> for PerStep<L> {
    fn target_width(&self, outputs: usize) -> usize {
        self.steps * self.loss.target_width(self.per_step(outputs))
    }

    fn correct(&self, prediction: &[T], target: &[T], outputs: usize) -> Option<(usize, usize)> {
        self.loss.correct(prediction, target, self.per_step(outputs))
    }

    fn compute(
        &self,
        prediction: &[T],
        target: &[T],
        gradient: Option<&mut [T]>,
        outputs: usize,
    ) -> Result<T, LossError> {
        self.loss.compute(prediction, target, gradient, self.per_step(outputs)).map_err(|e| self.locate(e))
    }
}

#[cfg(test)]
mod tests {
    use super::{Loss, Real, SoftmaxCrossEntropy};

    /// The softmax cross-entropy and its gradient against their definitions in `f64`, for
    /// every number of classes around the four-logit chunks, with logits far apart.
    fn softmax_cross_entropy_matches_the_definition<T: Real>(tolerance: f64) {
        for classes in 1..=13 {
            let samples = 3;
            let logits: Vec<f64> =
                (0..classes * samples).map(|i| ((i * 37 % 23) as f64 - 11.0) * 0.9).collect();
            let targets: Vec<f64> = (0..samples).map(|n| ((n * 5) % classes) as f64).collect();
            let (mut value, mut gradient) = (0.0, vec![0.0; logits.len()]);
            for (n, z) in logits.chunks(classes).enumerate() {
                let total: f64 = z.iter().map(|v| v.exp()).sum();
                let class = targets[n] as usize;
                value += (total.ln() - z[class]) / samples as f64;
                for (o, v) in z.iter().enumerate() {
                    let onehot = if o == class { 1.0 } else { 0.0 };
                    gradient[n * classes + o] = (v.exp() / total - onehot) / samples as f64;
                }
            }
            let cast = |v: &[f64]| v.iter().map(|&x| T::from_float(x)).collect::<Vec<T>>();
            let mut got = vec![T::zero(); logits.len()];
            let loss =
                SoftmaxCrossEntropy.evaluate(&cast(&logits), &cast(&targets), &mut got, classes).unwrap();
            assert!(
                (loss.to_f64() - value).abs() <= tolerance * value.abs().max(1.0),
                "{classes} classes: loss"
            );
            for (i, (g, e)) in got.iter().zip(&gradient).enumerate() {
                assert!((g.to_f64() - e).abs() <= tolerance, "{classes} classes, value {i}: {g} against {e}");
            }
        }
    }

    #[test]
    fn softmax_cross_entropy_matches_the_definition_for_any_number_of_classes() {
        softmax_cross_entropy_matches_the_definition::<f64>(1e-15);
        softmax_cross_entropy_matches_the_definition::<f32>(1e-7);
    }
}
