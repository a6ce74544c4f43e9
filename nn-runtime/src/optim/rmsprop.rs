//! RMSprop, `torch.optim.RMSprop` semantics.

use super::{Buffers, Optimizer, in_parts};
use crate::Real;
use crate::buffer::{Lines, filled, lines};

/// Hyperparameters of [`RmsProp`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate `η`.
    pub learning_rate: f64,
    /// Smoothing constant `α` of the squared-gradient average.
    pub alpha: f64,
    /// `ε`, added to the root mean square.
    pub epsilon: f64,
    /// L2 penalty `λ` added to the gradient.
    pub weight_decay: f64,
    /// Momentum `μ` (0 disables it).
    pub momentum: f64,
    /// Normalise by the centred second moment (an estimate of the variance).
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        Self {
            learning_rate: 0.01,
            alpha: 0.99,
            epsilon: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

/// RMSprop:
///
/// ```text
/// g ← g + λp
/// s ← αs + (1 − α)g²
/// d ← √(s − ḡ²) + ε with ḡ ← αḡ + (1 − α)g when centred, else √s + ε
/// b ← μb + g/d, p ← p − ηb   (momentum), else p ← p − η·g/d
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp<T> {
    /// Hyperparameters.
    pub config: RmsPropConfig,
    square_average: Lines<T>,
    gradient_average: Lines<T>,
    momentum_buffer: Lines<T>,
}

impl<T: Real> RmsProp<T> {
    /// An optimizer with the given hyperparameters.
    #[must_use]
    pub fn new(config: RmsPropConfig) -> Self {
        Self { config, square_average: lines(), gradient_average: lines(), momentum_buffer: lines() }
    }
}

impl<T: Real> Optimizer<T> for RmsProp<T> {
    fn prepare(&mut self, parameters: usize) {
        self.square_average = filled(T::zero(), parameters);
        self.gradient_average = if self.config.centered { filled(T::zero(), parameters) } else { lines() };
        self.momentum_buffer =
            if self.config.momentum > 0.0 { filled(T::zero(), parameters) } else { lines() };
    }

    fn step(&mut self, parameters: &[T], values: &mut [T]) -> bool {
        super::check_lengths(parameters, values);
        if self.square_average.len() != parameters.len() {
            self.prepare(parameters.len());
        }
        // Centring or momentum switched on after `prepare`: their buffers start from zero now.
        if self.config.centered && self.gradient_average.len() != parameters.len() {
            self.gradient_average = filled(T::zero(), parameters.len());
        }
        if self.config.momentum > 0.0 && self.momentum_buffer.len() != parameters.len() {
            self.momentum_buffer = filled(T::zero(), parameters.len());
        }
        let RmsPropConfig { learning_rate, alpha, epsilon, weight_decay, momentum, centered } = self.config;
        let (lr, alpha_t, keep, eps) = (
            T::from_float(learning_rate),
            T::from_float(alpha),
            T::from_float(1.0 - alpha),
            T::from_float(epsilon),
        );
        let (wd, mu) = (T::from_float(weight_decay), T::from_float(momentum));
        let state =
            [&mut self.square_average[..], &mut self.gradient_average[..], &mut self.momentum_buffer[..]];
        let buffers = Buffers::new(parameters, values, state);
        in_parts(
            buffers,
            #[inline(always)]
            |part| {
                let Buffers {
                    parameters,
                    values,
                    state: [square_average, gradient_average, momentum_buffer],
                    reading,
                } = part;
                let mut not_finite = 0;
                for (index, (value, &p)) in values.iter_mut().zip(parameters).enumerate() {
                    let gradient = reading.gradient(value);
                    let g = gradient + wd * p;
                    let s = &mut square_average[index];
                    *s = alpha_t * *s + keep * g * g;
                    let denominator = if centered {
                        let average = &mut gradient_average[index];
                        *average += (g - *average) * keep;
                        (*s - *average * *average).sqrt() + eps
                    } else {
                        s.sqrt() + eps
                    };
                    *value = if momentum > 0.0 {
                        let b = &mut momentum_buffer[index];
                        *b = mu * *b + g / denominator;
                        p - lr * *b
                    } else {
                        p - lr * g / denominator
                    };
                    not_finite |= super::not_finite(*value);
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
