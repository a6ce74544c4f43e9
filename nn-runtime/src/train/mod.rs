//! The trainer: minibatch gradient descent on any [`Network`], monomorphised for it.
//!
//! One [`Trainer::step`] is `forward_train → loss → backward → clip → optimizer step`. The
//! optimizer writes the next parameters over the gradients, beside the current parameters,
//! and they are swapped in only when finite, so a step that diverges (a NaN or infinite loss,
//! gradient or update) stops with an error naming it and leaves the last finite parameters.
//! Every buffer a step touches (the minibatch, the workspace, the gradients, the optimizer
//! state) is owned by the trainer and reused, so once warm a step allocates nothing.
//! [`Trainer::fit_with`] adds epochs of shuffled minibatches, validation, early stopping,
//! learning-rate schedules and callbacks.

mod callback;
mod record;

use core::marker::PhantomData;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

pub use callback::{Callback, CallbackError, Control, EachEpoch, EpochOutcome, NoCallback};
pub use record::{EpochRecord, Evaluation, History};

use crate::Real;
use crate::buffer::{Lines, filled};
use crate::clip::Clip;
use crate::data::{DataError, Dataset};
use crate::loss::{Loss, LossError};
use crate::network::{BatchError, Gradients, Network, Workspace};
use crate::optim::Optimizer;
use crate::schedule::Schedule;

/// Why training stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The data does not fit the network (checked before the first step).
    #[error(transparent)]
    Data(#[from] DataError),
    /// The data's targets are not as wide as the loss needs.
    #[error("{origin}: the loss needs {expected} target values per sample, but the data has {found}")]
    TargetWidth {
        /// Where the data came from.
        origin: String,
        /// Target values the loss needs per sample.
        expected: usize,
        /// The data's target values per sample.
        found: usize,
    },
    /// A batch the network cannot run on: not a whole number of samples, too small for
    /// batch normalisation, or holding an id outside an embedding's vocabulary.
    #[error("step {step}: {source}")]
    Batch {
        /// Steps taken before this one.
        step: u64,
        /// Why.
        source: BatchError,
    },
    /// The loss rejected a target.
    #[error("step {step}: {source}")]
    Loss {
        /// Steps taken before this one.
        step: u64,
        /// What the loss said.
        source: LossError,
    },
    /// The loss became NaN or infinite. The parameters are those before the failing step.
    #[error(
        "training diverged in epoch {epoch}, at step {step}: the loss is {loss}; the parameters are kept as they were before this step (try a smaller learning rate)"
    )]
    Diverged {
        /// The epoch under way, from 1.
        epoch: usize,
        /// Steps taken before this one.
        step: u64,
        /// The non-finite loss.
        loss: f64,
    },
    /// A gradient became NaN or infinite while the loss was finite (an overflow in the
    /// backward pass). The parameters are those before the failing step; the optimizer
    /// starts afresh (its state had taken the step).
    #[error(
        "training diverged in epoch {epoch}, at step {step}: the gradient of `{tensor}` is not finite; the parameters are kept as they were before this step (try a smaller learning rate, or gradient clipping)"
    )]
    NonFiniteGradient {
        /// The epoch under way, from 1.
        epoch: usize,
        /// Steps taken before this one.
        step: u64,
        /// The first parameter tensor with a non-finite gradient.
        tensor: &'static str,
    },
    /// An optimizer step from finite gradients would make a parameter NaN or infinite (the
    /// update overflowed). The step was dropped: the parameters are those before it, and the
    /// optimizer starts afresh (its state had taken the step).
    #[error(
        "training diverged in epoch {epoch}, at step {step}: the update of `{tensor}` is not finite; the parameters are kept as they were before this step (try a smaller learning rate)"
    )]
    NonFiniteUpdate {
        /// The epoch under way, from 1.
        epoch: usize,
        /// Steps taken before this one.
        step: u64,
        /// The first parameter tensor whose update is not finite.
        tensor: &'static str,
    },
    /// A callback failed at the end of an epoch (a checkpoint it could not write). Training
    /// stopped there; the network holds that epoch's parameters.
    #[error("epoch {epoch}: a callback failed, so training stopped with this epoch's parameters: {source}")]
    Callback {
        /// The epoch that had just ended, from 1.
        epoch: usize,
        /// What the callback could not do.
        source: CallbackError,
    },
    /// A schedule gave a learning rate that is not a finite number of at least 0. Nothing
    /// was changed.
    #[error(
        "epoch {epoch}: the schedule gives a learning rate of {rate}; a rate must be finite and at least 0"
    )]
    LearningRate {
        /// The epoch it was for, from 1.
        epoch: usize,
        /// The rate.
        rate: f64,
    },
    /// `fit` was asked for batches of zero samples.
    #[error("the batch size must be at least 1")]
    ZeroBatchSize,
    /// Early stopping watches validation data that was not given.
    #[error("early stopping watches the validation data: pass some to `fit_with`")]
    NoValidationData,
}

/// The name of the parameter tensor that holds the parameter at `position`.
fn tensor_at<T: Real, N: Network<T>>(position: usize) -> &'static str {
    let spec =
        N::parameter_specs().iter().find(|spec| (spec.offset..spec.offset + spec.len()).contains(&position));
    spec.map_or("?", |spec| spec.name)
}

/// What early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// The validation loss; lower is better.
    ValidationLoss,
    /// The validation accuracy (classification losses); higher is better.
    ValidationAccuracy,
}

/// Stop when the monitored validation metric has not improved by more than `min_delta` for
/// `patience` epochs, as Keras's `EarlyStopping`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The metric watched.
    pub monitor: Monitor,
    /// Epochs without improvement tolerated.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Put back the parameters (and running statistics) of the best epoch when training
    /// ends.
    pub restore_best: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self { monitor: Monitor::ValidationLoss, patience: 5, min_delta: 0.0, restore_best: true }
    }
}

/// How [`Trainer::fit`] runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per minibatch (the last one of an epoch may be smaller).
    pub batch_size: usize,
    /// Shuffle the samples before every epoch (from the trainer's seeded RNG).
    pub shuffle: bool,
    /// Stop early on a validation metric.
    pub early_stopping: Option<EarlyStopping>,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self { epochs: 10, batch_size: 32, shuffle: true, early_stopping: None }
    }
}

/// The targets of one minibatch: real values, or class indices (for softmax cross-entropy)
/// as integers, so labels never have to be written as floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Targets<'a, T> {
    /// One value per output (or a class index already held as `T`), column-major.
    Values(&'a [T]),
    /// One class index per sample.
    Classes(&'a [u32]),
}

impl<'a, T> From<&'a [T]> for Targets<'a, T> {
    fn from(values: &'a [T]) -> Self {
        Self::Values(values)
    }
}

impl<'a, T> From<&'a Vec<T>> for Targets<'a, T> {
    fn from(values: &'a Vec<T>) -> Self {
        Self::Values(values)
    }
}

impl<'a, T, const N: usize> From<&'a [T; N]> for Targets<'a, T> {
    fn from(values: &'a [T; N]) -> Self {
        Self::Values(values)
    }
}

impl<'a, T: Real> From<&'a [u32]> for Targets<'a, T> {
    fn from(classes: &'a [u32]) -> Self {
        Self::Classes(classes)
    }
}

impl<'a, T: Real> From<&'a Vec<u32>> for Targets<'a, T> {
    fn from(classes: &'a Vec<u32>) -> Self {
        Self::Classes(classes)
    }
}

impl<'a, T: Real, const N: usize> From<&'a [u32; N]> for Targets<'a, T> {
    fn from(classes: &'a [u32; N]) -> Self {
        Self::Classes(classes)
    }
}

/// A network's parameters and state (running statistics), as early stopping keeps them.
type Snapshot<T> = (Vec<T>, Vec<T>);

/// Samples per batch when evaluating.
const EVALUATION_BATCH: usize = 256;

/// Trains a network with a loss and an optimizer.
///
/// The trainer's RNG (seeded, [`Trainer::with_seed`]) drives shuffling and dropout, so a run
/// is reproducible.
pub struct Trainer<T: Real, N: Network<T>, L: Loss<T>, O: Optimizer<T>> {
    network: N,
    loss: L,
    optimizer: O,
    workspace: N::Workspace,
    evaluation_workspace: N::Workspace,
    /// The gradients, on whole cache lines ([`Lines`]), over which the optimizer writes the
    /// next parameters; swapped with the network's when they are all finite, so that between
    /// steps it holds the parameters before the last one.
    gradients: Lines<T>,
    /// A copy of each step's gradients, when the trainer keeps them
    /// ([`Trainer::keeping_gradients`]).
    kept_gradients: Option<Lines<T>>,
    rng: ChaCha8Rng,
    batch_inputs: Vec<N::Input>,
    batch_targets: Vec<T>,
    /// Class-index targets of [`Trainer::step`] as `T`.
    class_targets: Vec<T>,
    order: Vec<usize>,
    steps: u64,
    epochs: usize,
    clip: Option<Clip>,
    schedule: Option<(Box<dyn Schedule + Send>, f64)>,
    last_metric: Option<f64>,
    scalar: PhantomData<T>,
}

impl<T: Real, N: Network<T>, L: Loss<T>, O: Optimizer<T>> Trainer<T, N, L, O> {
    /// A trainer with RNG seed 0.
    pub fn new(network: N, loss: L, mut optimizer: O) -> Self {
        optimizer.prepare(N::PARAMETERS);
        Self {
            network,
            loss,
            optimizer,
            workspace: N::Workspace::default(),
            evaluation_workspace: N::Workspace::default(),
            gradients: filled(T::zero(), N::PARAMETERS),
            kept_gradients: None,
            rng: crate::init::seeded_rng(0),
            batch_inputs: Vec::new(),
            batch_targets: Vec::new(),
            class_targets: Vec::new(),
            order: Vec::new(),
            steps: 0,
            epochs: 0,
            clip: None,
            schedule: None,
            last_metric: None,
            scalar: PhantomData,
        }
    }

    /// Reseeds the RNG behind shuffling and dropout.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = crate::init::seeded_rng(seed);
        self
    }

    /// Clips the gradients before every optimizer step.
    #[must_use]
    pub fn with_clipping(mut self, clip: Clip) -> Self {
        self.clip = Some(clip);
        self
    }

    /// Keeps a copy of each step's gradients for [`Trainer::gradients`] (after clipping),
    /// and of a failed step's. Without it a step writes the next parameters over its
    /// gradients, and keeps no copy: that costs a pass over memory the size of the
    /// parameters (W4's training step, 670k parameters, ran 1.09–1.17× faster when the next
    /// parameters stopped going to a buffer of their own).
    #[must_use]
    pub fn keeping_gradients(mut self) -> Self {
        self.kept_gradients = Some(filled(T::zero(), N::PARAMETERS));
        self
    }

    /// Sets the learning rate at the start of every epoch of [`Trainer::fit`] from a
    /// schedule; the optimizer's current rate is the base rate. [`ReduceOnPlateau`] watches
    /// the previous epoch's validation loss, or its training loss without validation data.
    ///
    /// [`ReduceOnPlateau`]: crate::schedule::ReduceOnPlateau
    #[must_use]
    pub fn with_schedule(mut self, schedule: impl Schedule + Send + 'static) -> Self {
        let base = self.optimizer.learning_rate();
        self.schedule = Some((Box::new(schedule), base));
        self
    }

    /// The network being trained.
    pub fn network(&self) -> &N {
        &self.network
    }

    /// The network being trained, mutably.
    pub fn network_mut(&mut self) -> &mut N {
        &mut self.network
    }

    /// Ends training, returning the network.
    pub fn into_network(self) -> N {
        self.network
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, mutably (to change its learning rate, say).
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The gradients of the last step (after clipping), laid out like the parameters, when
    /// the trainer keeps them ([`Trainer::keeping_gradients`]); `None` when it does not.
    pub fn gradients(&self) -> Option<&[T]> {
        self.kept_gradients.as_deref()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One optimizer step on one minibatch (column-major inputs and targets), returning the
    /// loss before the step.
    ///
    /// # Errors
    ///
    /// When the batch is malformed, the loss rejects a target, or the loss, a gradient or
    /// the update is not finite; the parameters are then left as they were.
    ///
    /// Targets are real values (`&[T]`, `&Vec<T>`, `&[T; N]`) or class indices (`&[u32]`,
    /// `&Vec<u32>`, `&[u32; N]`, e.g. `&[2, 0, 1]`), which are converted into a buffer the
    /// trainer reuses, so a warm step still allocates nothing.
    pub fn step<'t>(
        &mut self,
        inputs: &[N::Input],
        targets: impl Into<Targets<'t, T>>,
    ) -> Result<T, TrainError> {
        match targets.into() {
            Targets::Values(values) => self.step_values(inputs, values),
            Targets::Classes(classes) => {
                let mut values = core::mem::take(&mut self.class_targets);
                values.clear();
                values.extend(classes.iter().map(|&class| T::from_float(f64::from(class))));
                let outcome = self.step_values(inputs, &values);
                self.class_targets = values;
                outcome
            }
        }
    }

    /// [`Trainer::step`] on real-valued targets.
    fn step_values(&mut self, inputs: &[N::Input], targets: &[T]) -> Result<T, TrainError> {
        let (epoch, step) = (self.epochs + 1, self.steps);
        let (loss, clip, kept, optimizer) =
            (&self.loss, self.clip, &mut self.kept_gradients, &mut self.optimizer);
        let (value, finite) = self.network.train_borrowing(
            inputs,
            &mut self.workspace,
            &mut self.rng,
            &mut self.gradients,
            |source| TrainError::Batch { step, source },
            |output, output_gradient| {
                let value = loss
                    .evaluate(output, targets, output_gradient, N::OUTPUTS)
                    .map_err(|source| TrainError::Loss { step, source })?;
                if !value.is_finite() {
                    return Err(TrainError::Diverged { epoch, step, loss: value.to_f64() });
                }
                Ok(value)
            },
            update(clip, kept, optimizer),
        )?;
        if !finite {
            return Err(self.drop_step(inputs, targets, (epoch, step)));
        }
        self.network.swap_parameters(&mut self.gradients);
        self.steps += 1;
        Ok(value)
    }

    /// The gradients of the batch in the workspace, clipped when the trainer clips: a dropped
    /// step's, computed again.
    fn backward_and_clip(&mut self, inputs: &[N::Input]) {
        self.network.backward_borrowing(inputs, &mut self.workspace, &mut self.gradients);
        clipped(self.clip, &mut self.gradients);
    }

    /// The error of a step whose gradients or update were not finite: the parameters stay
    /// as they were, and the optimizer, whose state took the step, starts afresh. The
    /// optimizer wrote over the gradients, so they are computed again to tell which failed:
    /// the backward pass leaves the forward pass's values as they were, so with the loss's
    /// gradient written again it gives the same gradients, bit for bit (tested on every
    /// fixture).
    #[cold]
    fn drop_step(&mut self, inputs: &[N::Input], targets: &[T], (epoch, step): (usize, u64)) -> TrainError {
        self.optimizer.prepare(N::PARAMETERS);
        // Where the optimizer's first next value that is not finite went (a gradient that is
        // not finite, found below, takes precedence).
        let failed_update = self.gradients.iter().position(|value| !value.is_finite()).unwrap_or(0);
        let (output, output_gradient) = self.workspace.output_and_gradient();
        // The loss accepted these values a moment ago.
        let _ = self.loss.evaluate(output, targets, output_gradient, N::OUTPUTS);
        self.backward_and_clip(inputs);
        match self.gradients.iter().position(|gradient| !gradient.is_finite()) {
            Some(position) => {
                TrainError::NonFiniteGradient { epoch, step, tensor: tensor_at::<T, N>(position) }
            }
            None => TrainError::NonFiniteUpdate { epoch, step, tensor: tensor_at::<T, N>(failed_update) },
        }
    }

    /// Trains for `config.epochs` passes over `data` in minibatches.
    ///
    /// # Errors
    ///
    /// As [`Trainer::fit_with`].
    pub fn fit(&mut self, data: &Dataset<T, N::Input>, config: &FitConfig) -> Result<History, TrainError> {
        self.fit_with(data, None, config, &mut NoCallback)
    }

    /// Trains for `config.epochs` passes over `data` in minibatches, evaluating on
    /// `validation` after every epoch, calling `callback` as it goes.
    ///
    /// # Errors
    ///
    /// Before the first step: the data's features do not match the network's input, a
    /// class label is outside the network's outputs, targets are the wrong width, the batch
    /// size is 0, or early stopping has no validation data (each naming the file and line
    /// where there is one). During training: as [`Trainer::step`].
    pub fn fit_with(
        &mut self,
        data: &Dataset<T, N::Input>,
        validation: Option<&Dataset<T, N::Input>>,
        config: &FitConfig,
        callback: &mut impl Callback,
    ) -> Result<History, TrainError> {
        for dataset in core::iter::once(data).chain(validation) {
            self.check(dataset)?;
        }
        if config.batch_size == 0 {
            return Err(TrainError::ZeroBatchSize);
        }
        if config.early_stopping.is_some() && validation.is_none() {
            return Err(TrainError::NoValidationData);
        }
        let mut history = History { epochs: Vec::with_capacity(config.epochs), ..History::default() };
        let mut best: Option<(f64, usize, Snapshot<T>)> = None;
        let mut waited = 0;
        self.order.clear();
        self.order.extend(0..data.len());
        for _ in 0..config.epochs {
            let record = self.epoch(data, validation, config, callback)?;
            history.epochs.push(record);
            let mut control = match callback.on_epoch_end(&record) {
                Ok(control) => control,
                Err(source) => {
                    callback.on_train_end(&history);
                    return Err(TrainError::Callback { epoch: record.epoch, source });
                }
            };
            if let (Some(stopping), Some(evaluation)) = (config.early_stopping, record.validation) {
                let score = match stopping.monitor {
                    Monitor::ValidationLoss => -evaluation.loss,
                    Monitor::ValidationAccuracy => evaluation.accuracy.unwrap_or(f64::NEG_INFINITY),
                };
                if best.as_ref().is_none_or(|(best_score, ..)| score > best_score + stopping.min_delta) {
                    let state = if stopping.restore_best {
                        (self.network.parameters().to_vec(), self.network.buffers().to_vec())
                    } else {
                        (Vec::new(), Vec::new())
                    };
                    best = Some((score, record.epoch, state));
                    waited = 0;
                } else {
                    waited += 1;
                    if waited >= stopping.patience {
                        control = Control::Stop;
                    }
                }
            }
            if control == Control::Stop {
                history.stopped_early = history.epochs.len() < config.epochs;
                break;
            }
        }
        if let (Some(stopping), Some((_, epoch, (parameters, buffers)))) = (config.early_stopping, best)
            && stopping.restore_best
        {
            self.network.parameters_mut().copy_from_slice(&parameters);
            self.network.buffers_mut().copy_from_slice(&buffers);
            history.restored_epoch = Some(epoch);
        }
        callback.on_train_end(&history);
        Ok(history)
    }

    /// Checks that a dataset fits the network and the loss, before any step.
    fn check(&self, data: &Dataset<T, N::Input>) -> Result<(), TrainError> {
        data.check_shape(N::INPUT_SHAPE)?;
        let target_width = self.loss.target_width(N::OUTPUTS);
        if data.target_width() != target_width {
            return Err(TrainError::TargetWidth {
                origin: data.describe(),
                expected: target_width,
                found: data.target_width(),
            });
        }
        // One target value for several outputs is a class index (softmax cross-entropy).
        if target_width == 1 && N::OUTPUTS > 1 {
            data.check_classes(N::OUTPUTS)?;
        }
        Ok(())
    }

    /// One epoch of minibatches, then validation.
    fn epoch(
        &mut self,
        data: &Dataset<T, N::Input>,
        validation: Option<&Dataset<T, N::Input>>,
        config: &FitConfig,
        callback: &mut impl Callback,
    ) -> Result<EpochRecord, TrainError> {
        let started = Instant::now();
        if let Some((schedule, base)) = &mut self.schedule {
            let rate = schedule.learning_rate(*base, self.epochs, self.last_metric);
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(TrainError::LearningRate { epoch: self.epochs + 1, rate });
            }
            self.optimizer.set_learning_rate(rate);
        }
        let learning_rate = self.optimizer.learning_rate();
        if config.shuffle {
            self.order.shuffle(&mut self.rng);
        }
        let batches = data.len().div_ceil(config.batch_size);
        callback.on_epoch_start(self.epochs + 1, batches);
        // The minibatch buffers and the sample order leave the trainer for the epoch, so
        // `step` can borrow it whole; they come back (capacity and all) even on an error.
        let mut buffers = (
            core::mem::take(&mut self.order),
            core::mem::take(&mut self.batch_inputs),
            core::mem::take(&mut self.batch_targets),
        );
        let outcome = self.run_batches(data, config.batch_size, &mut buffers, callback);
        (self.order, self.batch_inputs, self.batch_targets) = buffers;
        let (total, seen, correct, counted) = outcome?;
        self.epochs += 1;
        let loss = total / seen.max(1) as f64;
        let validation = validation.map(|data| self.evaluate(data)).transpose()?;
        self.last_metric = Some(validation.map_or(loss, |v| v.loss));
        Ok(EpochRecord {
            epoch: self.epochs,
            loss,
            accuracy: (counted > 0).then(|| correct as f64 / counted as f64),
            learning_rate,
            validation,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The minibatches of one epoch, in `order`; returns the summed loss, the samples seen,
    /// and the correct and counted predictions for the accuracy.
    fn run_batches(
        &mut self,
        data: &Dataset<T, N::Input>,
        batch_size: usize,
        (order, inputs, targets): &mut (Vec<usize>, Vec<N::Input>, Vec<T>),
        callback: &mut impl Callback,
    ) -> Result<(f64, usize, usize, usize), TrainError> {
        let (mut total, mut seen, mut correct, mut counted) = (0.0, 0, 0, 0);
        for (batch, chunk) in order.chunks(batch_size).enumerate() {
            inputs.clear();
            targets.clear();
            for &n in chunk {
                inputs.extend_from_slice(data.input(n));
                targets.extend_from_slice(data.target(n));
            }
            let value = self.step_values(inputs, targets)?;
            total += value.to_f64() * chunk.len() as f64;
            seen += chunk.len();
            if let Some((right, out_of)) = self.loss.correct(self.workspace.output(), targets, N::OUTPUTS) {
                correct += right;
                counted += out_of;
            }
            let accuracy = (counted > 0).then(|| correct as f64 / counted as f64);
            callback.on_batch_end(batch + 1, total / seen as f64, accuracy);
        }
        Ok((total, seen, correct, counted))
    }

    /// The loss (and accuracy, for classification losses) of the network on `data`, in
    /// inference mode (dropout off).
    ///
    /// # Errors
    ///
    /// When the data does not fit the network or the loss.
    pub fn evaluate(&mut self, data: &Dataset<T, N::Input>) -> Result<Evaluation, TrainError> {
        self.check(data)?;
        let (mut total, mut correct, mut counted) = (0.0, 0, 0);
        let target_width = data.target_width();
        let samples = data.inputs().chunks(EVALUATION_BATCH * N::INPUTS);
        let targets = data.targets().chunks(EVALUATION_BATCH * target_width);
        for (inputs, targets) in samples.zip(targets) {
            let output = self
                .network
                .infer(inputs, &mut self.evaluation_workspace)
                .map_err(|source| TrainError::Batch { step: self.steps, source })?;
            let value = self
                .loss
                .value(output, targets, N::OUTPUTS)
                .map_err(|source| TrainError::Loss { step: self.steps, source })?;
            total += value.to_f64() * (targets.len() / target_width) as f64;
            if let Some((right, out_of)) = self.loss.correct(output, targets, N::OUTPUTS) {
                correct += right;
                counted += out_of;
            }
        }
        Ok(Evaluation {
            loss: total / data.len().max(1) as f64,
            accuracy: (counted > 0).then(|| correct as f64 / counted as f64),
        })
    }

    /// The network's outputs for every sample of `data` (inference mode), column-major.
    ///
    /// # Errors
    ///
    /// When the data's samples are not as wide as the network's input.
    pub fn predict(&mut self, data: &Dataset<T, N::Input>) -> Result<Vec<T>, TrainError> {
        data.check_shape(N::INPUT_SHAPE)?;
        let mut outputs = Vec::with_capacity(data.len() * N::OUTPUTS);
        for inputs in data.inputs().chunks(EVALUATION_BATCH * N::INPUTS) {
            let output = self
                .network
                .infer(inputs, &mut self.evaluation_workspace)
                .map_err(|source| TrainError::Batch { step: self.steps, source })?;
            outputs.extend_from_slice(output);
        }
        Ok(outputs)
    }
}

/// A training step's update, as [`Network::train_borrowing`] takes it: the gradients clipped
/// when the trainer clips (`clip`) and copied when it keeps them (`kept`), then `optimizer`'s
/// step on them where they are: in the gradient buffer ([`Optimizer::step`]) or in a local
/// array of the step ([`Optimizer::step_from`]).
#[inline(always)]
fn update<'a, T: Real, O: Optimizer<T>>(
    clip: Option<Clip>,
    kept: &'a mut Option<Lines<T>>,
    optimizer: &'a mut O,
) -> impl FnOnce(&[T], Gradients<'_, T>) -> bool + 'a {
    #[inline(always)]
    move |parameters, gradients| match gradients {
        Gradients::Stored(values) => {
            kept_after_clipping(clip, kept, values);
            optimizer.step(parameters, values)
        }
        Gradients::Local { gradients, values } => {
            kept_after_clipping(clip, kept, gradients);
            optimizer.step_from(parameters, gradients, values)
        }
    }
}

/// Clips `gradients` when the trainer clips, then copies them into `kept` when it keeps them.
#[inline(always)]
fn kept_after_clipping<T: Real>(clip: Option<Clip>, kept: &mut Option<Lines<T>>, gradients: &mut [T]) {
    clipped(clip, gradients);
    if let Some(kept) = kept {
        kept.copy_from_slice(gradients);
    }
}

/// Clips `gradients` when the trainer clips (`clip`).
#[inline(always)]
fn clipped<T: Real>(clip: Option<Clip>, gradients: &mut [T]) {
    if let Some(clip) = clip {
        clip.apply(gradients);
    }
}
