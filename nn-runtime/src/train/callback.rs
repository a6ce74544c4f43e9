//! Hooks into [`Trainer::fit_with`](super::Trainer::fit_with): progress displays, logging,
//! custom stopping rules.

use super::record::{EpochRecord, History};

/// Why a callback could not go on: a checkpoint it could not write, a log it could not
/// send. `fit` stops with [`TrainError::Callback`](super::TrainError::Callback).
pub type CallbackError = Box<dyn std::error::Error + Send + Sync>;

/// What [`Callback::on_epoch_end`] returns: go on, stop, or fail.
pub type EpochOutcome = Result<Control, CallbackError>;

/// A plain [`Control`] is an outcome that cannot fail, so infallible callbacks and
/// [`EachEpoch`] closures return it as they are.
impl From<Control> for EpochOutcome {
    fn from(control: Control) -> Self {
        Ok(control)
    }
}

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

    /// An epoch ended, validation included: go on, stop, or fail (a checkpoint that cannot
    /// be written), which ends `fit` with [`TrainError::Callback`](super::TrainError::Callback)
    /// and the parameters of this epoch.
    ///
    /// # Errors
    ///
    /// Whatever the callback could not do.
    fn on_epoch_end(&mut self, _record: &EpochRecord) -> EpochOutcome {
        Ok(Control::Continue)
    }

    /// Training ended (normally, early, by [`Control::Stop`], or by a callback's error).
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

impl<F: FnMut(&EpochRecord) -> R, R: Into<EpochOutcome>> Callback for EachEpoch<F> {
    fn on_epoch_end(&mut self, record: &EpochRecord) -> EpochOutcome {
        (self.0)(record).into()
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

    fn on_epoch_end(&mut self, record: &EpochRecord) -> EpochOutcome {
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

    /// Both run; the first error wins.
    fn on_epoch_end(&mut self, record: &EpochRecord) -> EpochOutcome {
        let (first, second) = (self.0.on_epoch_end(record), self.1.on_epoch_end(record));
        let (first, second) = (first?, second?);
        Ok(if first == Control::Stop || second == Control::Stop { Control::Stop } else { Control::Continue })
    }

    fn on_train_end(&mut self, history: &History) {
        self.0.on_train_end(history);
        self.1.on_train_end(history);
    }
}
