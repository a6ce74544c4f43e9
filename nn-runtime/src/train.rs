//! The trainer: minibatch gradient descent on any [`Network`], monomorphised for it.
//!
//! One [`Trainer::step`] is `forward_train → loss → backward → optimizer step`. Every
//! buffer it touches (the minibatch, the workspace, the gradients, the optimizer state) is
//! owned by the trainer and reused, so once warm a step allocates nothing.

use core::marker::PhantomData;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::Real;
use crate::clip::Clip;
use crate::data::Dataset;
use crate::loss::{Loss, LossError};
use crate::network::{BatchShapeError, Network, Workspace};
use crate::optim::Optimizer;
use crate::schedule::Schedule;

/// Why training stopped.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// The data's samples are not as wide as the network's input.
    #[error("the network takes {expected} inputs per sample, but the data has {found}")]
    InputWidth {
        /// The network's input size.
        expected: usize,
        /// The data's features per sample.
        found: usize,
    },
    /// The data's targets are not as wide as the loss needs.
    #[error("the loss needs {expected} target values per sample, but the data has {found}")]
    TargetWidth {
        /// Target values the loss needs per sample.
        expected: usize,
        /// The data's target values per sample.
        found: usize,
    },
    /// A batch is not a whole number of samples.
    #[error(transparent)]
    BatchShape(#[from] BatchShapeError),
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
        "training diverged at step {step}: the loss is {loss}; the parameters are kept as they were before this step (try a smaller learning rate)"
    )]
    Diverged {
        /// Steps taken before this one.
        step: u64,
        /// The non-finite loss.
        loss: f64,
    },
    /// `fit` was asked for batches of zero samples.
    #[error("the batch size must be at least 1")]
    ZeroBatchSize,
}

/// How [`Trainer::fit`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FitConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per minibatch (the last one of an epoch may be smaller).
    pub batch_size: usize,
    /// Shuffle the samples before every epoch (from the trainer's seeded RNG).
    pub shuffle: bool,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self { epochs: 10, batch_size: 32, shuffle: true }
    }
}

/// What [`Trainer::fit`] measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Mean training loss of each epoch (each step's loss weighted by its batch size).
    pub loss: Vec<f64>,
    /// The learning rate of each epoch.
    pub learning_rate: Vec<f64>,
}

/// Trains a network with a loss and an optimizer.
///
/// The trainer's RNG (seeded, [`Trainer::with_seed`]) drives shuffling and dropout, so a run
/// is reproducible.
pub struct Trainer<T: Real, N: Network<T>, L: Loss<T>, O: Optimizer<T>> {
    network: N,
    loss: L,
    optimizer: O,
    workspace: N::Workspace,
    gradients: Vec<T>,
    rng: ChaCha8Rng,
    batch_inputs: Vec<T>,
    batch_targets: Vec<T>,
    order: Vec<usize>,
    steps: u64,
    epochs: usize,
    clip: Option<Clip>,
    schedule: Option<(Box<dyn Schedule + Send>, f64)>,
    last_epoch_loss: Option<f64>,
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
            gradients: vec![T::zero(); N::PARAMETERS],
            rng: ChaCha8Rng::seed_from_u64(0),
            batch_inputs: Vec::new(),
            batch_targets: Vec::new(),
            order: Vec::new(),
            steps: 0,
            epochs: 0,
            clip: None,
            schedule: None,
            last_epoch_loss: None,
            scalar: PhantomData,
        }
    }

    /// Clips the gradients before every optimizer step.
    #[must_use]
    pub fn with_clipping(mut self, clip: Clip) -> Self {
        self.clip = Some(clip);
        self
    }

    /// Sets the learning rate at the start of every epoch of [`Trainer::fit`] from a
    /// schedule; the optimizer's current rate is the base rate. [`ReduceOnPlateau`] watches
    /// the previous epoch's mean training loss.
    ///
    /// [`ReduceOnPlateau`]: crate::schedule::ReduceOnPlateau
    #[must_use]
    pub fn with_schedule(mut self, schedule: impl Schedule + Send + 'static) -> Self {
        let base = self.optimizer.learning_rate();
        self.schedule = Some((Box::new(schedule), base));
        self
    }

    /// Reseeds the RNG behind shuffling and dropout.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
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

    /// The gradients of the last step, laid out like the parameters.
    pub fn gradients(&self) -> &[T] {
        &self.gradients
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
    /// When the batch is malformed, the loss rejects a target, or the loss is not finite;
    /// the parameters are then left as they were.
    pub fn step(&mut self, inputs: &[T], targets: &[T]) -> Result<T, TrainError> {
        Self::step_on(
            &mut self.network,
            &self.loss,
            &mut self.optimizer,
            &mut self.workspace,
            &mut self.gradients,
            &mut self.rng,
            &mut self.steps,
            self.clip,
            inputs,
            targets,
        )
    }

    #[inline]
    fn step_on(
        network: &mut N,
        loss: &L,
        optimizer: &mut O,
        workspace: &mut N::Workspace,
        gradients: &mut [T],
        rng: &mut ChaCha8Rng,
        steps: &mut u64,
        clip: Option<Clip>,
        inputs: &[T],
        targets: &[T],
    ) -> Result<T, TrainError> {
        network.forward_train(inputs, workspace, rng)?;
        let (output, output_gradient) = workspace.output_and_gradient();
        let value = loss
            .evaluate(output, targets, output_gradient, N::OUTPUTS)
            .map_err(|source| TrainError::Loss { step: *steps, source })?;
        if !value.is_finite() {
            return Err(TrainError::Diverged { step: *steps, loss: value.to_f64() });
        }
        network.backward(workspace, gradients);
        if let Some(clip) = clip {
            clip.apply(gradients);
        }
        optimizer.step(network.parameters_mut(), gradients);
        *steps += 1;
        Ok(value)
    }

    /// Trains for `config.epochs` passes over `data` in minibatches, returning the mean loss
    /// of every epoch.
    ///
    /// # Errors
    ///
    /// When the data does not fit the network or the loss (checked before the first step),
    /// or a step fails (see [`Trainer::step`]).
    pub fn fit(&mut self, data: &Dataset<T>, config: &FitConfig) -> Result<History, TrainError> {
        if data.features() != N::INPUTS {
            return Err(TrainError::InputWidth { expected: N::INPUTS, found: data.features() });
        }
        let target_width = self.loss.target_width(N::OUTPUTS);
        if data.target_width() != target_width {
            return Err(TrainError::TargetWidth { expected: target_width, found: data.target_width() });
        }
        if config.batch_size == 0 {
            return Err(TrainError::ZeroBatchSize);
        }
        let mut history = History {
            loss: Vec::with_capacity(config.epochs),
            learning_rate: Vec::with_capacity(config.epochs),
        };
        self.order.clear();
        self.order.extend(0..data.len());
        for _ in 0..config.epochs {
            if let Some((schedule, base)) = &mut self.schedule {
                let rate = schedule.learning_rate(*base, self.epochs, self.last_epoch_loss);
                self.optimizer.set_learning_rate(rate);
            }
            history.learning_rate.push(self.optimizer.learning_rate());
            if config.shuffle {
                self.order.shuffle(&mut self.rng);
            }
            let mut total = 0.0;
            for chunk in self.order.chunks(config.batch_size) {
                self.batch_inputs.clear();
                self.batch_targets.clear();
                for &n in chunk {
                    self.batch_inputs.extend_from_slice(data.input(n));
                    self.batch_targets.extend_from_slice(data.target(n));
                }
                let value = Self::step_on(
                    &mut self.network,
                    &self.loss,
                    &mut self.optimizer,
                    &mut self.workspace,
                    &mut self.gradients,
                    &mut self.rng,
                    &mut self.steps,
                    self.clip,
                    &self.batch_inputs,
                    &self.batch_targets,
                )?;
                total += value.to_f64() * chunk.len() as f64;
            }
            let epoch_loss = total / data.len().max(1) as f64;
            history.loss.push(epoch_loss);
            self.last_epoch_loss = Some(epoch_loss);
            self.epochs += 1;
        }
        Ok(history)
    }
}
