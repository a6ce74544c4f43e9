//! Resilient backpropagation, `torch.optim.Rprop` semantics (iRprop⁻, as FANN's
//! `FANN_TRAIN_RPROP`).

use super::{Buffers, Optimizer, in_parts};
use crate::Real;
use crate::buffer::{Lines, filled, lines};

/// Hyperparameters of [`Rprop`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RpropConfig {
    /// The initial step size of every parameter.
    pub learning_rate: f64,
    /// Factors `(η⁻, η⁺)` that shrink and grow a step.
    pub etas: (f64, f64),
    /// Bounds `(Δmin, Δmax)` of a step.
    pub step_sizes: (f64, f64),
}

impl Default for RpropConfig {
    fn default() -> Self {
        Self { learning_rate: 0.01, etas: (0.5, 1.2), step_sizes: (1e-6, 50.0) }
    }
}

/// Rprop: each parameter has its own step `Δ`, adapted from the sign of its gradient alone.
///
/// ```text
/// if gₜ·gₜ₋₁ > 0:  Δ ← min(Δ·η⁺, Δmax)
/// if gₜ·gₜ₋₁ < 0:  Δ ← max(Δ·η⁻, Δmin), and gₜ ← 0 (no move, and no sign flip next time)
/// p ← p − sign(gₜ)·Δ
/// ```
///
/// Meant for full-batch training: minibatch noise flips gradient signs at random.
/// [`Optimizer::set_learning_rate`] only changes the initial step, used at the next
/// [`Optimizer::prepare`].
#[derive(Clone, Debug)]
pub struct Rprop<T> {
    /// Hyperparameters.
    pub config: RpropConfig,
    previous: Lines<T>,
    step_size: Lines<T>,
}

impl<T: Real> Rprop<T> {
    /// An optimizer with the given hyperparameters.
    #[must_use]
    pub fn new(config: RpropConfig) -> Self {
        Self { config, previous: lines(), step_size: lines() }
    }

    /// Each parameter's current step `Δ`.
    #[must_use]
    pub fn step_sizes(&self) -> &[T] {
        &self.step_size
    }
}

impl<T: Real> Optimizer<T> for Rprop<T> {
    fn prepare(&mut self, parameters: usize) {
        self.previous = filled(T::zero(), parameters);
        self.step_size = filled(T::from_float(self.config.learning_rate), parameters);
    }

    fn step(&mut self, parameters: &[T], values: &mut [T]) -> bool {
        super::check_lengths(parameters, values);
        if self.step_size.len() != parameters.len() {
            self.prepare(parameters.len());
        }
        let RpropConfig { etas: (shrink, grow), step_sizes: (smallest, largest), .. } = self.config;
        let (shrink, grow) = (T::from_float(shrink), T::from_float(grow));
        let (smallest, largest) = (T::from_float(smallest), T::from_float(largest));
        let buffers = Buffers::new(parameters, values, [&mut self.previous[..], &mut self.step_size[..]]);
        in_parts(
            buffers,
            #[inline(always)]
            |part| {
                let Buffers { parameters, values, state: [previous, step_size], reading } = part;
                let state = previous.iter_mut().zip(step_size.iter_mut());
                let mut not_finite = 0;
                for ((value, &p), (previous, delta)) in values.iter_mut().zip(parameters).zip(state) {
                    let gradient = reading.gradient(value);
                    let g = gradient;
                    let agreement = g * *previous;
                    let g = if agreement > T::zero() {
                        *delta = (*delta * grow).min(largest);
                        g
                    } else if agreement < T::zero() {
                        *delta = (*delta * shrink).max(smallest);
                        T::zero()
                    } else {
                        g
                    };
                    *value = if g > T::zero() {
                        p - *delta
                    } else if g < T::zero() {
                        p + *delta
                    } else {
                        p
                    };
                    not_finite |= super::not_finite(gradient) | super::not_finite(*value);
                    *previous = g;
                }
                not_finite == 0
            },
        )
    }

    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.learning_rate = learning_rate;
    }
}
