//! Learning-rate schedules, per epoch, with PyTorch's formulas. Compose them with
//! [`Schedule::then`] (one after another) and [`Schedule::chain`] (one scaling the other).
//!
//! ```
//! use nn_runtime::schedule::{CosineAnnealing, LinearWarmup, Schedule};
//! // 5 epochs of warm-up from 0.1·η, then cosine annealing over 95 epochs down to 0.
//! let mut schedule = LinearWarmup { epochs: 5, start_factor: 0.1 }
//!     .then(5, CosineAnnealing { epochs: 95, minimum: 0.0 });
//! assert!((schedule.learning_rate(1.0, 0, None) - 0.1).abs() < 1e-15);
//! assert_eq!(schedule.learning_rate(1.0, 5, None), 1.0);
//! assert!(schedule.learning_rate(1.0, 100, None) < 1e-15);
//! ```

/// A learning rate for each epoch.
pub trait Schedule {
    /// The learning rate of epoch `epoch` (0-based) for base rate `base`; `metric` is the
    /// monitored value (a loss) of the previous epoch, if any, for [`ReduceOnPlateau`].
    fn learning_rate(&mut self, base: f64, epoch: usize, metric: Option<f64>) -> f64;

    /// This schedule for `epochs` epochs, then `next` (counting its epochs from 0), as
    /// PyTorch's `SequentialLR`.
    fn then<S: Schedule>(self, epochs: usize, next: S) -> Sequence<Self, S>
    where
        Self: Sized,
    {
        Sequence { first: self, epochs, next }
    }

    /// `next` applied to this schedule's rate, so their factors multiply, as PyTorch's
    /// `ChainedScheduler`.
    fn chain<S: Schedule>(self, next: S) -> Chain<Self, S>
    where
        Self: Sized,
    {
        Chain { first: self, next }
    }
}

/// The base rate, unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Constant;

impl Schedule for Constant {
    fn learning_rate(&mut self, base: f64, _epoch: usize, _metric: Option<f64>) -> f64 {
        base
    }
}

/// `η·γ^⌊t/s⌋`, PyTorch's `StepLR(step_size = s, gamma = γ)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay {
    /// Epochs between decays, `s`.
    pub every: usize,
    /// Factor per decay, `γ`.
    pub gamma: f64,
}

impl Schedule for StepDecay {
    fn learning_rate(&mut self, base: f64, epoch: usize, _metric: Option<f64>) -> f64 {
        base * self.gamma.powf((epoch / self.every.max(1)) as f64)
    }
}

/// `η·γᵗ`, PyTorch's `ExponentialLR(gamma = γ)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exponential {
    /// Factor per epoch, `γ`.
    pub gamma: f64,
}

impl Schedule for Exponential {
    fn learning_rate(&mut self, base: f64, epoch: usize, _metric: Option<f64>) -> f64 {
        base * self.gamma.powf(epoch as f64)
    }
}

/// `η_min + (η − η_min)·(1 + cos(π·t/T))/2` for `t ≤ T`, then `η_min`: the closed form of
/// PyTorch's `CosineAnnealingLR(T_max = T, eta_min)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealing {
    /// Epochs from the base rate down to the minimum, `T`.
    pub epochs: usize,
    /// The final rate, `η_min`.
    pub minimum: f64,
}

impl Schedule for CosineAnnealing {
    fn learning_rate(&mut self, base: f64, epoch: usize, _metric: Option<f64>) -> f64 {
        let progress = epoch.min(self.epochs) as f64 / self.epochs.max(1) as f64;
        self.minimum + (base - self.minimum) * (1.0 + (core::f64::consts::PI * progress).cos()) / 2.0
    }
}

/// A linear ramp from `start_factor·η` to `η` over `epochs` epochs, then `η`: PyTorch's
/// `LinearLR(start_factor, end_factor = 1, total_iters = epochs)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearWarmup {
    /// Epochs of the ramp.
    pub epochs: usize,
    /// The first epoch's fraction of the base rate.
    pub start_factor: f64,
}

impl Schedule for LinearWarmup {
    fn learning_rate(&mut self, base: f64, epoch: usize, _metric: Option<f64>) -> f64 {
        let progress = epoch.min(self.epochs) as f64 / self.epochs.max(1) as f64;
        base * (self.start_factor + (1.0 - self.start_factor) * progress)
    }
}

/// Multiplies the rate by `factor` once the metric has not improved for more than
/// `patience` epochs: PyTorch's `ReduceLROnPlateau` (mode `min`, relative threshold).
///
/// An epoch improves when `metric < best·(1 − threshold)`. After a reduction, `cooldown`
/// epochs pass before bad epochs count again. The rate never falls below `minimum`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReduceOnPlateau {
    /// Factor of each reduction.
    pub factor: f64,
    /// Epochs without improvement tolerated before a reduction.
    pub patience: usize,
    /// Relative improvement that counts.
    pub threshold: f64,
    /// Epochs to wait after a reduction.
    pub cooldown: usize,
    /// The smallest rate.
    pub minimum: f64,
    best: f64,
    bad_epochs: usize,
    cooling: usize,
    scale: f64,
}

impl Default for ReduceOnPlateau {
    fn default() -> Self {
        Self::new(0.1, 10)
    }
}

impl ReduceOnPlateau {
    /// PyTorch's defaults with the given factor and patience (threshold 1e-4, no cooldown,
    /// no minimum).
    #[must_use]
    pub fn new(factor: f64, patience: usize) -> Self {
        Self {
            factor,
            patience,
            threshold: 1e-4,
            cooldown: 0,
            minimum: 0.0,
            best: f64::INFINITY,
            bad_epochs: 0,
            cooling: 0,
            scale: 1.0,
        }
    }
}

impl Schedule for ReduceOnPlateau {
    fn learning_rate(&mut self, base: f64, _epoch: usize, metric: Option<f64>) -> f64 {
        if let Some(metric) = metric {
            if metric < self.best * (1.0 - self.threshold) {
                self.best = metric;
                self.bad_epochs = 0;
            } else {
                self.bad_epochs += 1;
            }
            if self.cooling > 0 {
                self.cooling -= 1;
                self.bad_epochs = 0;
            }
            if self.bad_epochs > self.patience {
                let reduced = (base * self.scale * self.factor).max(self.minimum);
                self.scale = reduced / base;
                self.cooling = self.cooldown;
                self.bad_epochs = 0;
            }
        }
        (base * self.scale).max(self.minimum)
    }
}

/// One schedule, then another: see [`Schedule::then`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sequence<A, B> {
    first: A,
    epochs: usize,
    next: B,
}

impl<A: Schedule, B: Schedule> Schedule for Sequence<A, B> {
    fn learning_rate(&mut self, base: f64, epoch: usize, metric: Option<f64>) -> f64 {
        if epoch < self.epochs {
            self.first.learning_rate(base, epoch, metric)
        } else {
            self.next.learning_rate(base, epoch - self.epochs, metric)
        }
    }
}

/// One schedule scaling another: see [`Schedule::chain`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chain<A, B> {
    first: A,
    next: B,
}

impl<A: Schedule, B: Schedule> Schedule for Chain<A, B> {
    fn learning_rate(&mut self, base: f64, epoch: usize, metric: Option<f64>) -> f64 {
        let rate = self.first.learning_rate(base, epoch, metric);
        self.next.learning_rate(rate, epoch, metric)
    }
}
