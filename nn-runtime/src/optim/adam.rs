//! Adam (with AMSGrad) and AdamW, `torch.optim` semantics.

use super::{Buffers, Optimizer, in_parts};
use crate::Real;
use crate::buffer::{Lines, filled, lines};

/// Hyperparameters of [`Adam`] and [`AdamW`], with PyTorch's defaults (AdamW's default
/// weight decay is 0.01; [`AdamW::new`] sets it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate `η`.
    pub learning_rate: f64,
    /// Decay rates `(β₁, β₂)` of the first and second moment estimates.
    pub betas: (f64, f64),
    /// `ε`, added to `√v̂` in the denominator.
    pub epsilon: f64,
    /// Weight decay `λ`: Adam adds `λ·p` to the gradient (L2); AdamW decays the parameters.
    pub weight_decay: f64,
    /// Use the running maximum of `v̂` (AMSGrad).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { learning_rate: 1e-3, betas: (0.9, 0.999), epsilon: 1e-8, weight_decay: 0.0, amsgrad: false }
    }
}

/// The moments both Adam variants keep.
#[derive(Clone, Debug)]
struct Moments<T> {
    first: Lines<T>,
    second: Lines<T>,
    second_max: Lines<T>,
    steps: i32,
}

impl<T: Real> Moments<T> {
    /// No moments yet: [`Moments::prepare`] sizes them.
    fn empty() -> Self {
        Self { first: lines(), second: lines(), second_max: lines(), steps: 0 }
    }

    fn prepare(&mut self, parameters: usize, amsgrad: bool) {
        self.first = filled(T::zero(), parameters);
        self.second = filled(T::zero(), parameters);
        self.second_max = if amsgrad { filled(T::zero(), parameters) } else { lines() };
        self.steps = 0;
    }

    /// The Adam update of parameters decayed to `decay·p`, with gradient `g + l2·p`
    /// (Algorithm 1 of Kingma & Ba, ε after the bias-corrected `√v̂`, as PyTorch):
    ///
    /// ```text
    /// m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²
    /// p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
    /// ```
    ///
    /// Writes the next parameters over the gradients in `values`; returns whether every one
    /// is finite.
    fn update(
        &mut self,
        config: &AdamConfig,
        (decay, l2): (f64, f64),
        parameters: &[T],
        values: &mut [T],
    ) -> bool {
        super::check_lengths(parameters, values);
        if self.first.len() != parameters.len() {
            self.prepare(parameters.len(), config.amsgrad);
        }
        // AMSGrad switched on after `prepare`: its maximum starts from zero now.
        if config.amsgrad && self.second_max.len() != parameters.len() {
            self.second_max = filled(T::zero(), parameters.len());
        }
        self.steps += 1;
        let (beta1, beta2) = config.betas;
        let step_size = T::from_float(config.learning_rate / (1.0 - beta1.powi(self.steps)));
        let correction2 = T::from_float((1.0 - beta2.powi(self.steps)).sqrt());
        let (one_minus_beta1, beta2, one_minus_beta2) =
            (T::from_float(1.0 - beta1), T::from_float(beta2), T::from_float(1.0 - beta2));
        let (epsilon, l2, decay) = (T::from_float(config.epsilon), T::from_float(l2), T::from_float(decay));
        let amsgrad = config.amsgrad;
        let state = [&mut self.first[..], &mut self.second[..], &mut self.second_max[..]];
        let buffers = Buffers::new(parameters, values, state);
        in_parts(
            buffers,
            #[inline(always)]
            |part| {
                let Buffers { parameters, values, state: [first, second, second_max], reading } = part;
                // The decayed parameter and the first moment, after both moments advance.
                let advance = |p: T, gradient: T, m: &mut T, v: &mut T| {
                    let p = p * decay;
                    let g = gradient + l2 * p;
                    *m += (g - *m) * one_minus_beta1;
                    *v = beta2 * *v + one_minus_beta2 * g * g;
                    (p, *m)
                };
                let moved =
                    |p: T, m: T, v_used: T| p - step_size * m / (v_used.sqrt() / correction2 + epsilon);
                let values = values.iter_mut().zip(parameters).zip(first.iter_mut().zip(second.iter_mut()));
                let mut not_finite = 0;
                // One loop for each variant: with AMSGrad's maximum looked up by index inside
                // one loop, the loop ran scalar (old and new alternated, Adam's whole training
                // step: W3 981.6–1036.7 → 343.9–387.5 µs, W4 3684–3721 → 2130–2185).
                if amsgrad {
                    for (((value, &p), (m, v)), max) in values.zip(second_max.iter_mut()) {
                        let gradient = reading.gradient(value);
                        let (p, m) = advance(p, gradient, m, v);
                        *max = max.max(*v);
                        *value = moved(p, m, *max);
                        not_finite |= super::not_finite(*value);
                    }
                } else {
                    for ((value, &p), (m, v)) in values {
                        let gradient = reading.gradient(value);
                        let (p, m) = advance(p, gradient, m, v);
                        *value = moved(p, m, *v);
                        not_finite |= super::not_finite(*value);
                    }
                }
                not_finite == 0
            },
        )
    }
}

/// Adam, `torch.optim.Adam`: weight decay, when set, is an L2 term added to the gradient.
///
/// See [`AdamW`] for decoupled weight decay.
#[derive(Clone, Debug)]
pub struct Adam<T> {
    /// Hyperparameters.
    pub config: AdamConfig,
    moments: Moments<T>,
}

impl<T: Real> Adam<T> {
    /// An optimizer with the given hyperparameters.
    #[must_use]
    pub fn new(config: AdamConfig) -> Self {
        Self { config, moments: Moments::empty() }
    }

    /// The first moment `m` (PyTorch's `exp_avg`).
    #[must_use]
    pub fn first_moment(&self) -> &[T] {
        &self.moments.first
    }

    /// The second moment `v` (PyTorch's `exp_avg_sq`).
    #[must_use]
    pub fn second_moment(&self) -> &[T] {
        &self.moments.second
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn prepare(&mut self, parameters: usize) {
        self.moments.prepare(parameters, self.config.amsgrad);
    }

    fn step(&mut self, parameters: &[T], values: &mut [T]) -> bool {
        let config = self.config;
        self.moments.update(&config, (1.0, config.weight_decay), parameters, values)
    }

    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.learning_rate = learning_rate;
    }
}

/// AdamW, `torch.optim.AdamW`: decoupled weight decay `p ← p·(1 − η·λ)`, applied first and
/// to every parameter (biases too), then the Adam update with the raw gradient.
#[derive(Clone, Debug)]
pub struct AdamW<T> {
    /// Hyperparameters.
    pub config: AdamConfig,
    moments: Moments<T>,
}

impl<T: Real> AdamW<T> {
    /// An optimizer with the given hyperparameters.
    #[must_use]
    pub fn new(config: AdamConfig) -> Self {
        Self { config, moments: Moments::empty() }
    }

    /// PyTorch's defaults: Adam's, with weight decay 0.01.
    #[must_use]
    pub fn with_learning_rate(learning_rate: f64) -> Self {
        Self::new(AdamConfig { learning_rate, weight_decay: 0.01, ..AdamConfig::default() })
    }

    /// The first moment `m` (PyTorch's `exp_avg`).
    #[must_use]
    pub fn first_moment(&self) -> &[T] {
        &self.moments.first
    }

    /// The second moment `v` (PyTorch's `exp_avg_sq`).
    #[must_use]
    pub fn second_moment(&self) -> &[T] {
        &self.moments.second
    }
}

impl<T: Real> Optimizer<T> for AdamW<T> {
    fn prepare(&mut self, parameters: usize) {
        self.moments.prepare(parameters, self.config.amsgrad);
    }

    fn step(&mut self, parameters: &[T], values: &mut [T]) -> bool {
        let config = self.config;
        let decay = 1.0 - config.learning_rate * config.weight_decay;
        self.moments.update(&config, (decay, 0.0), parameters, values)
    }

    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.learning_rate = learning_rate;
    }
}
