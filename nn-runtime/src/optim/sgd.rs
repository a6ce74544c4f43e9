//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

use super::{Buffers, Optimizer, in_parts};
use crate::Real;
use crate::buffer::{Lines, filled, lines};

/// Hyperparameters of [`Sgd`], with PyTorch's defaults (but a learning rate of `0.01`, which
/// PyTorch leaves to the caller).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate `η`.
    pub learning_rate: f64,
    /// Momentum `μ` (0 disables it).
    pub momentum: f64,
    /// Dampening of the gradient added to the momentum buffer.
    pub dampening: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 penalty `λ` added to the gradient: `g ← g + λ·p`.
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self { learning_rate: 0.01, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }
}

/// Stochastic gradient descent, `torch.optim.SGD` semantics:
///
/// ```text
/// g ← ∂L/∂p + λ·p
/// b₁ = g,  bₜ = μ·bₜ₋₁ + (1 − dampening)·g     (when μ ≠ 0)
/// g ← g + μ·bₜ if nesterov, else bₜ
/// p ← p − η·g
/// ```
///
/// For a constant `η` this is the seeds' momentum `Δw ← αΔw − η∂L, w ← w + Δw` with
/// `Δw = −η·b`.
///
/// # Example
///
/// ```
/// use nn_runtime::optim::{Optimizer, Sgd, SgdConfig};
/// let mut sgd = Sgd::new(SgdConfig { learning_rate: 0.5, ..SgdConfig::default() });
/// let (p, mut values) = ([1.0_f64, 2.0], [0.5, -1.0]);
/// sgd.prepare(2);
/// assert!(sgd.step(&p, &mut values));
/// assert_eq!(values, [0.75, 2.5]);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    /// Hyperparameters.
    pub config: SgdConfig,
    momentum_buffer: Lines<T>,
    steps: u64,
}

impl<T: Real> Sgd<T> {
    /// An optimizer with the given hyperparameters.
    #[must_use]
    pub fn new(config: SgdConfig) -> Self {
        Self { config, momentum_buffer: lines(), steps: 0 }
    }

    /// Plain gradient descent `p ← p − η·∂L/∂p`.
    #[must_use]
    pub fn with_learning_rate(learning_rate: f64) -> Self {
        Self::new(SgdConfig { learning_rate, ..SgdConfig::default() })
    }

    /// The momentum buffer `bₜ` (empty until the first step with momentum).
    #[must_use]
    pub fn momentum_buffer(&self) -> &[T] {
        &self.momentum_buffer
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn prepare(&mut self, parameters: usize) {
        if self.config.momentum != 0.0 {
            self.momentum_buffer = filled(T::zero(), parameters);
        }
    }

    /// Plain descent (no momentum, no decay) is inlined into the caller's step, and the rest
    /// kept out of line: as one function of every case, the update was a call with a 344-byte
    /// stack frame and the conversions of all five hyperparameters (W1's training step at
    /// four samples 84.9–85.3 → 83.1–83.7 ns; at one sample level).
    #[inline]
    fn step(&mut self, parameters: &[T], values: &mut [T]) -> bool {
        super::check_lengths(parameters, values);
        self.steps += 1;
        if self.config.momentum == 0.0 && self.config.weight_decay == 0.0 {
            // Without decay its term drops out: a multiply and an add less between one
            // step's gradients and the next step's parameters (W1's step 55.8 → 54.7 ns).
            let lr = T::from_float(self.config.learning_rate);
            let buffers = Buffers::new(parameters, values, []);
            return in_parts(
                buffers,
                #[inline(always)]
                |part| descend(part, |p, g| p - lr * g),
            );
        }
        self.step_with_momentum_or_decay(parameters, values)
    }

    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.learning_rate = learning_rate;
    }
}

impl<T: Real> Sgd<T> {
    /// [`Optimizer::step`] with momentum or weight decay (the step count already taken).
    #[inline(never)]
    fn step_with_momentum_or_decay(&mut self, parameters: &[T], values: &mut [T]) -> bool {
        let SgdConfig { learning_rate, momentum, dampening, nesterov, weight_decay } = self.config;
        let (lr, mu, wd) =
            (T::from_float(learning_rate), T::from_float(momentum), T::from_float(weight_decay));
        let keep = T::from_float(1.0 - dampening);
        if momentum == 0.0 {
            let buffers = Buffers::new(parameters, values, []);
            return in_parts(
                buffers,
                #[inline(always)]
                |part| descend(part, |p, g| p - lr * (g + wd * p)),
            );
        }
        if self.momentum_buffer.len() != parameters.len() {
            self.prepare(parameters.len());
        }
        let first = self.steps == 1;
        let buffers = Buffers::new(parameters, values, [&mut self.momentum_buffer]);
        in_parts(
            buffers,
            #[inline(always)]
            |part| {
                let Buffers { parameters, values, state: [momentum_buffer], reading } = part;
                let mut not_finite = 0;
                for ((value, &p), b) in values.iter_mut().zip(parameters).zip(momentum_buffer.iter_mut()) {
                    let gradient = reading.gradient(value);
                    let g = gradient + wd * p;
                    *b = if first { g } else { mu * *b + keep * g };
                    let direction = if nesterov { g + mu * *b } else { *b };
                    *value = p - lr * direction;
                    not_finite |= super::not_finite(*value);
                }
                not_finite == 0
            },
        )
    }
}

/// `p ← step(p, g)` over one part, without state, over the gradients; whether every new
/// value is finite.
#[inline(always)]
fn descend<T: Real>(part: Buffers<'_, T, 0>, step: impl Fn(T, T) -> T) -> bool {
    let Buffers { parameters, values, reading, .. } = part;
    let mut not_finite = 0;
    for (value, &p) in values.iter_mut().zip(parameters) {
        *value = step(p, reading.gradient(value));
        not_finite |= super::not_finite(*value);
    }
    not_finite == 0
}
