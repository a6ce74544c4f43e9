//! Hooks into [`Trainer::fit_with`](super::Trainer::fit_with): progress displays, logging,
//! custom stopping rules.

use super::record::{EpochRecord, History};

/// Whether training goes on after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Run the next epoch.
    Continue,
    /// Stop now (early stopping still restores the best parameters, if configured).
    Stop,
}

/// Called by the trainer as it goes. Every method has an empty default.
pub trait Callback {
    /// An epoch (numbered from 1) of `batches` minibatches begins.
    fn on_epoch_start(&mut self, _epoch: usize, _batches: usize) {}

    /// Minibatch `batch` (from 1) ended; `loss` and `accuracy` are the epoch's running means.
    fn on_batch_end(&mut self, _batch: usize, _loss: f64, _accuracy: Option<f64>) {}

    /// An epoch ended, validation included.
    fn on_epoch_end(&mut self, _record: &EpochRecord) -> Control {
        Control::Continue
    }

    /// Training ended (normally, early, or by [`Control::Stop`]).
    fn on_train_end(&mut self, _history: &History) {}
}

/// No callback.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCallback;

impl Callback for NoCallback {}

/// A closure run after every epoch.
///
/// ```
/// use nn_runtime::train::{Control, EachEpoch};
/// let mut log = EachEpoch(|record: &nn_runtime::train::EpochRecord| {
///     println!("epoch {}: loss {:.4}", record.epoch, record.loss);
///     Control::Continue
/// });
/// # let _ = &mut log;
/// ```
pub struct EachEpoch<F>(pub F);

impl<F: FnMut(&EpochRecord) -> Control> Callback for EachEpoch<F> {
    fn on_epoch_end(&mut self, record: &EpochRecord) -> Control {
        (self.0)(record)
    }
}

/// A callback lent for one run, so the caller keeps it (and what it gathered).
impl<C: Callback + ?Sized> Callback for &mut C {
    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        (**self).on_epoch_start(epoch, batches);
    }

    fn on_batch_end(&mut self, batch: usize, loss: f64, accuracy: Option<f64>) {
        (**self).on_batch_end(batch, loss, accuracy);
    }

    fn on_epoch_end(&mut self, record: &EpochRecord) -> Control {
        (**self).on_epoch_end(record)
    }

    fn on_train_end(&mut self, history: &History) {
        (**self).on_train_end(history);
    }
}

/// Two callbacks, both called; training stops if either says so.
impl<A: Callback, B: Callback> Callback for (A, B) {
    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        self.0.on_epoch_start(epoch, batches);
        self.1.on_epoch_start(epoch, batches);
    }

    fn on_batch_end(&mut self, batch: usize, loss: f64, accuracy: Option<f64>) {
        self.0.on_batch_end(batch, loss, accuracy);
        self.1.on_batch_end(batch, loss, accuracy);
    }

    fn on_epoch_end(&mut self, record: &EpochRecord) -> Control {
        let (first, second) = (self.0.on_epoch_end(record), self.1.on_epoch_end(record));
        if first == Control::Stop || second == Control::Stop { Control::Stop } else { Control::Continue }
    }

    fn on_train_end(&mut self, history: &History) {
        self.0.on_train_end(history);
        self.1.on_train_end(history);
    }
}
