//! Optimizers: a config struct with PyTorch's defaults plus a `step` over the flat parameter
//! and gradient buffers.
//!
//! A network keeps all its parameters in one contiguous buffer and its gradients in a buffer
//! of the same layout, so a step is one fused loop over two slices. State (momentum
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

    /// One update of `parameters` from `gradients` (same length, same layout).
    fn step(&mut self, parameters: &mut [T], gradients: &[T]);

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (for schedules).
    fn set_learning_rate(&mut self, learning_rate: f64);
}
