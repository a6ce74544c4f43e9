//! A progress display for [`Trainer::fit_with`](crate::Trainer::fit_with), as Keras's
//! `fit`: a bar through each epoch with the running loss and accuracy, then one table row
//! per epoch. The bar draws only on a terminal; the table always prints.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::train::{Callback, Control, EpochRecord};

/// Shows training progress; pass it to `fit_with`.
#[derive(Debug)]
pub struct Progress {
    epochs: usize,
    bar: Option<ProgressBar>,
    header_printed: bool,
}

impl Progress {
    /// A display for a run of `epochs` epochs.
    #[must_use]
    pub fn new(epochs: usize) -> Self {
        Self { epochs, bar: None, header_printed: false }
    }

    fn row(record: &EpochRecord) -> String {
        let percent =
            |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", 100.0 * v));
        let validation_loss = record.validation.map_or_else(|| "-".to_owned(), |v| format!("{:.4}", v.loss));
        let validation_accuracy = percent(record.validation.and_then(|v| v.accuracy));
        format!(
            "{:>5}  {:>9.4}  {:>9}  {:>9}  {:>9}  {:>9.2e}  {:>6.2}s",
            record.epoch,
            record.loss,
            percent(record.accuracy),
            validation_loss,
            validation_accuracy,
            record.learning_rate,
            record.seconds
        )
    }
}

impl Callback for Progress {
    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        if !self.header_printed {
            println!(
                "{:>5}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>7}",
                "epoch", "loss", "accuracy", "val loss", "val acc", "lr", "time"
            );
            self.header_printed = true;
        }
        let bar = ProgressBar::new(batches as u64);
        if let Ok(style) = ProgressStyle::with_template("{prefix:>11} [{bar:30.cyan/blue}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(format!("epoch {epoch}/{}", self.epochs));
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bar = Some(bar);
    }

    fn on_batch_end(&mut self, batch: usize, loss: f64, accuracy: Option<f64>) {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64);
            let accuracy = accuracy.map(|a| format!("  accuracy {:.2}%", 100.0 * a)).unwrap_or_default();
            bar.set_message(format!("loss {loss:.4}{accuracy}"));
        }
    }

    fn on_epoch_end(&mut self, record: &EpochRecord) -> crate::train::EpochOutcome {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!("{}", Self::row(record));
        Ok(Control::Continue)
    }
}
