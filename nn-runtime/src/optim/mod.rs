//! Optimizers: a config struct with PyTorch's defaults plus a `step` over the flat parameter
//! and gradient buffers.
//!
//! A network keeps all its parameters in one contiguous buffer and its gradients in a buffer
//! of the same layout, so a step is one fused loop over three slices: it reads the
//! parameters and gradients and writes the updated parameters elsewhere, checking as it goes
//! that they are finite. A step that overflows is then dropped whole, and the trainer keeps
//! the last finite parameters at no extra cost (it swaps the buffers). State (momentum
//! buffers, moments) is sized once by [`Optimizer::prepare`] from the network's parameter
//! count; a step never allocates.

mod adam;
mod rmsprop;
mod rprop;
mod sgd;

pub use adam::{Adam, AdamConfig, AdamW};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use rprop::{Rprop, RpropConfig};
pub use sgd::{Sgd, SgdConfig};

use crate::Real;

/// Updates parameters from their gradients.
pub trait Optimizer<T: Real> {
    /// Sizes the optimizer's state for `parameters` values. Called once by the trainer.
    fn prepare(&mut self, parameters: usize);

    /// One update: writes into `updated` the parameters after a step from `parameters` along
    /// `gradients` (all three the same length and layout), advances the optimizer's state,
    /// and returns whether every gradient and every updated value is finite. `updated` holds
    /// stale values on entry (the trainer passes the parameters of the step before): write
    /// every one, even where a parameter does not move.
    ///
    /// The built-in optimizers check in the update's own loop. They check the updated values
    /// only, since a NaN or infinite gradient always makes its update NaN or infinite there
    /// (`∞ − ∞`, `0·∞`, `∞/∞`), except in [`Rprop`], which moves by the gradient's sign and
    /// checks the gradients too.
    ///
    /// # Panics
    ///
    /// When the three buffers differ in length.
    #[must_use = "an update that is not finite must not replace the parameters"]
    fn step(&mut self, parameters: &[T], gradients: &[T], updated: &mut [T]) -> bool;

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (for schedules).
    fn set_learning_rate(&mut self, learning_rate: f64);
}

/// 1 when `value` is NaN or infinite. OR-ed over a step's loop, it is an integer reduction
/// that vectorises (a `bool` `&=` vectorises worse, and a float sum not at all), so the check
/// costs no pass of its own.
#[inline(always)]
fn not_finite<T: Real>(value: T) -> u32 {
    u32::from(!value.is_finite())
}

/// Checks the one precondition of [`Optimizer::step`], naming the lengths.
fn check_lengths<T>(parameters: &[T], gradients: &[T], updated: &[T]) {
    assert!(
        parameters.len() == gradients.len() && gradients.len() == updated.len(),
        "an optimizer step needs buffers of one length, not {} parameters, {} gradients and {} updated values",
        parameters.len(),
        gradients.len(),
        updated.len()
    );
}
