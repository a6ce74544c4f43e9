//! What training measured: one record per epoch, and the history of a run.

/// A loss and, for classification losses, an accuracy, measured on a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss over the samples.
    pub loss: f64,
    /// The fraction of correct predictions, for classification losses.
    pub accuracy: Option<f64>,
}

/// One epoch's measurements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochRecord {
    /// The epoch's number, from 1.
    pub epoch: usize,
    /// The mean training loss (each step's loss weighted by its batch size).
    pub loss: f64,
    /// The training accuracy over the epoch's steps (parameters change during the epoch,
    /// so this trails the accuracy at its end).
    pub accuracy: Option<f64>,
    /// The learning rate of the epoch.
    pub learning_rate: f64,
    /// The evaluation on the validation data, at the end of the epoch.
    pub validation: Option<Evaluation>,
    /// Wall-clock seconds the epoch took.
    pub seconds: f64,
}

/// Everything [`Trainer::fit`](super::Trainer::fit) measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One record per epoch run.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose parameters the network has at the end, when early stopping restored
    /// the best ones.
    pub restored_epoch: Option<usize>,
    /// Whether early stopping or a callback ended the run before its last epoch.
    pub stopped_early: bool,
}

impl History {
    /// The training loss of every epoch.
    #[must_use]
    pub fn losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.loss).collect()
    }

    /// The learning rate of every epoch.
    #[must_use]
    pub fn learning_rates(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.learning_rate).collect()
    }
}
