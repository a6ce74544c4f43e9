//! What `network!` implements for every declared network, so generic code (the
//! [`Trainer`](crate::train::Trainer), optimizers, losses, I/O) works on any of them and is
//! monomorphised for each.

use crate::Real;

/// One named tensor inside a network's flat parameter buffer or its flat buffer of
/// non-trained state (running statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParameterSpec {
    /// PyTorch-style name: `hidden.weight`, `hidden.bias`, `0.weight`, `1.running_mean`, …
    pub name: &'static str,
    /// Shape in PyTorch's layout: a weight is `[out, in]` (row-major), a bias `[out]`, a
    /// scalar `[]`.
    pub shape: &'static [usize],
    /// Index of the first value in the flat buffer.
    pub offset: usize,
    /// Whether it is a count, held as a real number but saved as `int64` as PyTorch saves it
    /// (batch normalisation's `num_batches_tracked`; exact up to 2²⁴ in `f32`, 2⁵³ in `f64`).
    pub integer: bool,
}

impl ParameterSpec {
    /// Number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor holds no values (never, for a checked network).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// This tensor's values inside a flat buffer laid out like the parameters.
    #[must_use]
    pub fn slice<'a, T>(&self, buffer: &'a [T]) -> &'a [T] {
        &buffer[self.offset..self.offset + self.len()]
    }

    /// This tensor's values inside a flat buffer laid out like the parameters, mutably.
    #[must_use]
    pub fn slice_mut<'a, T>(&self, buffer: &'a mut [T]) -> &'a mut [T] {
        &mut buffer[self.offset..self.offset + self.len()]
    }
}

/// A batch whose length is not a whole number of samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a batch of {len} values is not a whole number of samples of {width} values each")]
pub struct BatchShapeError {
    /// Values given.
    pub len: usize,
    /// Values per sample.
    pub width: usize,
}

/// A parameter or state buffer of the wrong length for a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the network has {expected} {what}, but {found} values were given")]
pub struct ParameterCountError {
    /// The network's count.
    pub expected: usize,
    /// Values given.
    pub found: usize,
    /// What was counted: `parameters` or `buffer values`.
    pub what: &'static str,
}

/// A batch the training pass cannot run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The batch is not a whole number of samples.
    #[error(transparent)]
    Shape(#[from] BatchShapeError),
    /// A layer that normalises over the batch got too few samples (PyTorch raises "expected
    /// more than 1 value per channel when training"). Nothing was changed.
    #[error(
        "layer `{layer}` normalises over the batch, so training needs at least {minimum} samples per batch, but this batch has {batch}"
    )]
    TooSmall {
        /// The layer's name.
        layer: &'static str,
        /// The fewest samples it can train on.
        minimum: usize,
        /// Samples in the batch.
        batch: usize,
    },
    /// A single sample of the wrong length.
    #[error("a sample has {expected} values, but {found} were given")]
    SampleLength {
        /// Values per sample.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// An id outside an embedding's vocabulary. Nothing was changed.
    #[error(
        "sample {sample}, position {position}: id {id} is outside the vocabulary of layer `{layer}`, ids 0 to {}",
        vocabulary - 1
    )]
    IdOutOfRange {
        /// The sample in the batch (0-based).
        sample: usize,
        /// The id's position in the sample (0-based).
        position: usize,
        /// The id.
        id: u32,
        /// The embedding layer's name.
        layer: &'static str,
        /// Its vocabulary size.
        vocabulary: usize,
    },
}

/// What a network's input holds: real features, or integer ids for a network that begins
/// with an embedding. Ids never travel as floats.
pub trait Element: Copy + Default + PartialEq + core::fmt::Debug + Send + Sync + 'static {}

impl Element for u32 {}
impl<T: Real> Element for T {}

/// Returns the number of samples in a column-major batch of `width`-value samples.
///
/// # Errors
///
/// When `len` is not a multiple of `width`.
#[inline]
pub fn batch_size(len: usize, width: usize) -> Result<usize, BatchShapeError> {
    if len.is_multiple_of(width) { Ok(len / width) } else { Err(BatchShapeError { len, width }) }
}

/// The one sample a buffer of one sample holds, as an array: the first value of the
/// one-sample training pass, which keeps every value on the stack.
#[inline(always)]
#[must_use]
pub fn one_sample<T: Copy, const N: usize>(values: &[T]) -> [T; N] {
    values.as_chunks::<N>().0[0]
}

/// The first `B` samples of `N` values a buffer holds, feature by feature (`[i][n]`, value
/// `i` of sample `n`): the first value of the few-sample training pass, which keeps every
/// value on the stack with its samples in lanes.
///
/// # Panics
///
/// When `values` holds fewer than `B·N`.
#[inline(always)]
#[must_use]
pub fn few_samples<T: Copy, const N: usize, const B: usize>(values: &[T]) -> [[T; B]; N] {
    let samples = &values.as_chunks::<N>().0[..B];
    core::array::from_fn(|i| core::array::from_fn(|n| samples[n][i]))
}

/// Values held feature by feature ([`few_samples`]) sample by sample again, as a batch's
/// buffers hold them.
#[inline(always)]
#[must_use]
pub fn samples_of<T: Copy, const N: usize, const B: usize>(values: &[[T; B]; N]) -> [[T; N]; B] {
    core::array::from_fn(|n| core::array::from_fn(|i| values[i][n]))
}

/// The first `N` values as an array, borrowed: one sample's values where a batch's buffer
/// holds them.
///
/// # Panics
///
/// When `values` holds fewer than `N`.
#[inline(always)]
#[must_use]
pub fn one_sample_ref<T, const N: usize>(values: &[T]) -> &[T; N] {
    &values.as_chunks::<N>().0[0]
}

#[cfg(feature = "std")]
pub use with_std::{Gradients, LOCAL_GRADIENTS_UP_TO, Network, Workspace, train_in_turn};

/// How a network holds its parameter and state buffers: on the heap with `std` (a large
/// network does not fit on a stack), inline without (no allocator; a `no_std` program keeps
/// a small network in a `static` or on its stack, or borrows baked weights through a view).
#[cfg(feature = "std")]
pub type Storage<T, const N: usize> = crate::buffer::Buffer<T, N>;

/// How a network holds its parameter and state buffers (see the `std` variant).
#[cfg(not(feature = "std"))]
pub type Storage<T, const N: usize> = [T; N];

/// A buffer holding a copy of `values`.
#[must_use]
pub fn stored_copy<T: Real, const N: usize>(values: &[T; N]) -> Storage<T, N> {
    #[cfg(feature = "std")]
    {
        let mut buffer = crate::buffer::zeroed_parameters::<T, N>();
        buffer.copy_from_slice(values);
        buffer
    }
    #[cfg(not(feature = "std"))]
    {
        *values
    }
}

#[cfg(feature = "std")]
mod with_std {
    use rand::Rng;

    use super::{BatchError, Element, ParameterCountError, ParameterSpec};
    use crate::Real;

    /// The reusable buffers of a training step: every layer's output, what its backward pass
    /// needs, and the gradient flowing back through it.
    ///
    /// Buffers grow to the largest batch seen and are then reused: once warm, a training step
    /// allocates nothing.
    pub trait Workspace<T: Real>: Default {
        /// Samples in the current batch.
        fn batch(&self) -> usize;

        /// The network's output for the current batch, `OUTPUTS × batch`, column-major.
        fn output(&self) -> &[T];

        /// The output and the buffer the loss writes `∂L/∂output` into, before
        /// [`Network::backward`].
        fn output_and_gradient(&mut self) -> (&[T], &mut [T]);
    }

    /// A network declared with `network!`.
    ///
    /// Batches are column-major slices: `batch` samples of `INPUTS` values are `INPUTS·batch`
    /// values, sample `n` at `n·INPUTS .. (n + 1)·INPUTS`.
    pub trait Network<T: Real>: Sized {
        /// Values per input sample.
        const INPUTS: usize;
        /// Values per output sample.
        const OUTPUTS: usize;
        /// The shape of one input sample, row-major: `[F]` features, or `[L]` ids.
        const INPUT_SHAPE: &'static [usize];
        /// The shape of one output sample, row-major: `[F]`, or `[L, D]` for a sequence.
        const OUTPUT_SHAPE: &'static [usize];
        /// Values in the parameter buffer.
        const PARAMETERS: usize;
        /// Values in the buffer of non-trained state: running statistics, counters.
        const BUFFERS: usize;

        /// What one input value is: `T` (features), or `u32` (ids, for a network that begins
        /// with an embedding).
        type Input: Element;

        /// The buffers of a training step.
        type Workspace: Workspace<T>;

        /// Every parameter tensor, in buffer order.
        fn parameter_specs() -> &'static [ParameterSpec];

        /// Every state tensor (running statistics), in buffer order.
        fn buffer_specs() -> &'static [ParameterSpec];

        /// A network whose layers are initialised as declared, drawing from `rng`.
        fn initialise<R: Rng + ?Sized>(rng: &mut R) -> Self;

        /// A network with the given parameter buffer and its state at its initial values
        /// (running means 0, running variances 1).
        ///
        /// # Errors
        ///
        /// When the buffer's length is not [`Network::PARAMETERS`].
        fn from_parameters(parameters: Vec<T>) -> Result<Self, ParameterCountError>;

        /// A network with the given parameters and state.
        ///
        /// # Errors
        ///
        /// When a length is not [`Network::PARAMETERS`] or [`Network::BUFFERS`].
        fn from_state(parameters: Vec<T>, buffers: Vec<T>) -> Result<Self, ParameterCountError>;

        /// The flat buffer of non-trained state, laid out as [`Network::buffer_specs`] says.
        fn buffers(&self) -> &[T];

        /// The flat buffer of non-trained state, mutably.
        fn buffers_mut(&mut self) -> &mut [T];

        /// The flat parameter buffer.
        fn parameters(&self) -> &[T];

        /// The flat parameter buffer, mutably.
        fn parameters_mut(&mut self) -> &mut [T];

        /// Exchanges the parameter buffer with `other` in O(1) (no copy, no allocation): the
        /// trainer's way to take the next parameters an optimizer wrote over the gradients.
        ///
        /// # Panics
        ///
        /// When `other` does not hold [`Network::PARAMETERS`] values.
        fn swap_parameters(&mut self, other: &mut crate::buffer::Lines<T>);

        /// Inference on a batch (dropout off, running statistics), returning the output inside
        /// the workspace.
        ///
        /// # Errors
        ///
        /// When `inputs` is not a whole number of samples, or holds an id outside an
        /// embedding's vocabulary.
        fn infer<'w>(
            &self,
            inputs: &[Self::Input],
            workspace: &'w mut Self::Workspace,
        ) -> Result<&'w [T], BatchError>;

        /// Training forward on a batch (dropout on, masks drawn from `rng`, normalisation over
        /// the batch), recording what [`Network::backward`] needs and updating the running
        /// statistics. Inference ([`Network::infer`], `forward`, `forward_batch`) takes `&self`
        /// and never sees batch statistics.
        ///
        /// # Errors
        ///
        /// When `inputs` is not a whole number of samples, a layer that normalises over the
        /// batch gets too few samples, or an id is outside an embedding's vocabulary; the
        /// network is then unchanged.
        fn forward_train<R: Rng + ?Sized>(
            &mut self,
            inputs: &[Self::Input],
            workspace: &mut Self::Workspace,
            rng: &mut R,
        ) -> Result<(), BatchError>;

        /// Backpropagates the output gradient the loss wrote into the workspace (see
        /// [`Workspace::output_and_gradient`]), writing `∂L/∂p` for every parameter into
        /// `gradients` (same layout as the parameters; overwritten, not accumulated, every
        /// value: the trainer passes a buffer that holds old parameters). It leaves the
        /// forward pass's values as they were, so with the loss's gradient written again a
        /// second call gives the same gradients, bit for bit: how the trainer tells which
        /// tensor of a dropped step failed (both tested on every fixture).
        ///
        /// # Panics
        ///
        /// When `gradients` does not hold exactly [`Network::PARAMETERS`] values (the message
        /// names both counts).
        fn backward(&self, workspace: &mut Self::Workspace, gradients: &mut [T]);

        /// [`Network::forward_train`] without keeping a copy of `inputs` in the workspace: the
        /// caller passes the same `inputs` to [`Network::backward_borrowing`]. The trainer's
        /// way: without the copy, W3's training step (64 samples) went 250 → 242 µs on one
        /// thread and 188 → 158–165 on two, where the other thread had read the copy's lines
        /// the step before and each rewrite had to take them back.
        ///
        /// # Errors
        ///
        /// As [`Network::forward_train`].
        #[doc(hidden)]
        fn forward_train_borrowing<R: Rng + ?Sized>(
            &mut self,
            inputs: &[Self::Input],
            workspace: &mut Self::Workspace,
            rng: &mut R,
        ) -> Result<(), BatchError> {
            self.forward_train(inputs, workspace, rng)
        }

        /// [`Network::backward`] after [`Network::forward_train_borrowing`] on `inputs`.
        ///
        /// # Panics
        ///
        /// As [`Network::backward`].
        #[doc(hidden)]
        fn backward_borrowing(
            &self,
            inputs: &[Self::Input],
            workspace: &mut Self::Workspace,
            gradients: &mut [T],
        ) {
            let _ = inputs;
            self.backward(workspace, gradients);
        }

        /// A training step's passes on `inputs`, as the trainer runs them:
        /// [`Network::forward_train_borrowing`] (its error mapped by `batch_error`), `loss` on
        /// the output, which writes `∂L/∂output` into its second argument and returns the
        /// loss or an error that ends the step there, [`Network::backward_borrowing`], then
        /// `update` on the parameters and the gradients, which it replaces with the next
        /// parameters, returning whether they are finite. Returns the loss and `update`'s
        /// answer; `gradients` then holds what `update` left.
        ///
        /// A small network's form for one sample or four ([`train_in_turn`] otherwise) hands
        /// the output to `loss`, and its gradient and the layers' outputs to the backward
        /// pass, as local arrays, which stay in registers; the workspace still receives them
        /// all. Through the workspace each was stored and loaded back on the step's chain of
        /// dependent operations (W1's one-sample step on an AMD EPYC, Zen 3: 66.8 → 63.9 ns,
        /// 70.3 → 63.0 built for the CPU). A tiny one's ([`LOCAL_GRADIENTS_UP_TO`]
        /// parameters) hands `update` its gradients as a local array too
        /// ([`Gradients::Local`]).
        ///
        /// # Errors
        ///
        /// `batch_error`'s, as [`Network::forward_train`]'s, or `loss`'s.
        ///
        /// # Panics
        ///
        /// As [`Network::backward`].
        #[doc(hidden)]
        #[inline(always)]
        #[allow(clippy::inline_always)]
        fn train_borrowing<R: Rng + ?Sized, E>(
            &mut self,
            inputs: &[Self::Input],
            workspace: &mut Self::Workspace,
            rng: &mut R,
            gradients: &mut [T],
            batch_error: impl FnOnce(BatchError) -> E,
            loss: impl FnOnce(&[T], &mut [T]) -> Result<T, E>,
            update: impl FnOnce(&[T], Gradients<'_, T>) -> bool,
        ) -> Result<(T, bool), E> {
            train_in_turn(self, inputs, workspace, rng, gradients, batch_error, loss, update)
        }

        /// Saves the parameters as safetensors, atomically (see [`crate::io`]).
        ///
        /// # Errors
        ///
        /// When the file cannot be written; an existing file is then left as it was.
        fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), crate::io::IoError> {
            crate::io::save(self, path)
        }

        /// Loads a network saved with [`Network::save`] or by PyTorch (see [`crate::io`]).
        ///
        /// # Errors
        ///
        /// When the file cannot be read, or its tensors are not exactly this network's.
        fn load(path: impl AsRef<std::path::Path>) -> Result<Self, crate::io::IoError> {
            crate::io::load(path)
        }

        /// A parameter tensor by its PyTorch-style name (`hidden.weight`).
        fn parameter(&self, name: &str) -> Option<&[T]> {
            let spec = Self::parameter_specs().iter().find(|s| s.name == name)?;
            Some(spec.slice(self.parameters()))
        }

        /// A state tensor (`1.running_mean`) by its PyTorch-style name.
        fn buffer(&self, name: &str) -> Option<&[T]> {
            let spec = Self::buffer_specs().iter().find(|s| s.name == name)?;
            Some(spec.slice(self.buffers()))
        }

        /// A parameter tensor by name, mutably.
        fn parameter_mut(&mut self, name: &str) -> Option<&mut [T]> {
            let spec = Self::parameter_specs().iter().find(|s| s.name == name)?;
            Some(spec.slice_mut(self.parameters_mut()))
        }
    }

    /// Where a training step's update finds the gradients ([`Network::train_borrowing`]).
    #[doc(hidden)]
    #[derive(Debug)]
    pub enum Gradients<'a, T> {
        /// In the buffer, which the backward pass has just written, and which the update
        /// overwrites with the next parameters: [`crate::optim::Optimizer::step`].
        Stored(&'a mut [T]),
        /// In a local array of the step, the next parameters to go into `values`:
        /// [`crate::optim::Optimizer::step_from`].
        Local { gradients: &'a mut [T], values: &'a mut [T] },
    }

    /// Parameters up to which a network's training step on the stack (one sample or four)
    /// hands its update the gradients as a local array ([`Gradients::Local`]): those whose
    /// update reads stored gradients one by one ([`crate::optim`]'s `FEW_VALUES`). Their
    /// round trip through the buffer was a store and a load on the step's chain of
    /// dependent operations.
    #[doc(hidden)]
    pub const LOCAL_GRADIENTS_UP_TO: usize = crate::optim::FEW_VALUES;

    /// [`Network::train_borrowing`] through the workspace: the forward pass, `loss` on the
    /// output the workspace holds, writing its gradient there, the backward pass, then
    /// `update` on the gradients it stored.
    ///
    /// # Errors
    ///
    /// As [`Network::train_borrowing`].
    #[doc(hidden)]
    #[inline(always)]
    #[allow(clippy::inline_always, clippy::too_many_arguments)]
    pub fn train_in_turn<T: Real, N: Network<T>, R: Rng + ?Sized, E>(
        network: &mut N,
        inputs: &[N::Input],
        workspace: &mut N::Workspace,
        rng: &mut R,
        gradients: &mut [T],
        batch_error: impl FnOnce(BatchError) -> E,
        loss: impl FnOnce(&[T], &mut [T]) -> Result<T, E>,
        update: impl FnOnce(&[T], Gradients<'_, T>) -> bool,
    ) -> Result<(T, bool), E> {
        network.forward_train_borrowing(inputs, workspace, rng).map_err(batch_error)?;
        let (output, output_gradient) = workspace.output_and_gradient();
        let value = loss(output, output_gradient)?;
        network.backward_borrowing(inputs, workspace, gradients);
        Ok((value, update(network.parameters(), Gradients::Stored(gradients))))
    }
}

/// Which values a network's parameters hold: a number drawn afresh from a process-wide
/// counter whenever they may change (every `&mut` access, and a trainer's swap of the next
/// parameters into a network that keeps weights in another layout), so that a copy derived
/// from them — a streaming state's transposed recurrent weights, a workspace's weights
/// packed for batched inference ([`crate::gemm::Prepacked`]) — knows when to be rebuilt.
/// A clone keeps its revision (same values); two networks never share one after either
/// changes. It takes no part in equality: two networks are equal when their values are.
#[derive(Clone, Debug)]
pub struct Revision(u64);

/// The next revision; 0 is never drawn, so it can mean "derived from nothing yet".
#[cfg(target_has_atomic = "64")]
static NEXT_REVISION: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// The next revision, on a target without 64-bit atomics (a Cortex-M, a 32-bit RISC-V): a
/// counter of the pointer's width, which would take 2³² parameter changes to come round.
#[cfg(not(target_has_atomic = "64"))]
static NEXT_REVISION: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(1);

/// Draws the next revision, from a block of [`REVISION_BLOCK`] this thread took from the
/// counter: one atomic add per block rather than per draw (a `lock xadd` on every training
/// step was a tenth of W1's 70 ns step). Blocks are disjoint, so revisions stay unique.
#[cfg(all(feature = "std", target_has_atomic = "64"))]
fn next_revision() -> u64 {
    use std::cell::Cell;
    thread_local! {
        /// The next revision of this thread's block and the block's end.
        static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    BLOCK.with(|block| {
        let (next, end) = block.get();
        let (next, end) = if next == end {
            let first = NEXT_REVISION.fetch_add(REVISION_BLOCK, core::sync::atomic::Ordering::Relaxed);
            (first, first + REVISION_BLOCK)
        } else {
            (next, end)
        };
        block.set((next + 1, end));
        next
    })
}

/// Revisions a thread takes from the process-wide counter at a time.
#[cfg(all(feature = "std", target_has_atomic = "64"))]
const REVISION_BLOCK: u64 = 1 << 20;

/// Draws the next revision.
#[cfg(all(not(feature = "std"), target_has_atomic = "64"))]
fn next_revision() -> u64 {
    NEXT_REVISION.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// Draws the next revision.
#[cfg(all(not(target_has_atomic = "64"), target_has_atomic = "ptr"))]
fn next_revision() -> u64 {
    NEXT_REVISION.fetch_add(1, core::sync::atomic::Ordering::Relaxed) as u64
}

/// Draws the next revision on a target with no atomic read-modify-write (a Cortex-M0, an
/// RV32IMC): a load and a store, so two revisions drawn at once, by the main loop and an
/// interrupt handler, could coincide (a streaming state would then miss one rebuild).
#[cfg(not(target_has_atomic = "ptr"))]
fn next_revision() -> u64 {
    use core::sync::atomic::Ordering;
    let revision = NEXT_REVISION.load(Ordering::Relaxed);
    NEXT_REVISION.store(revision.wrapping_add(1).max(1), Ordering::Relaxed);
    revision as u64
}

impl Revision {
    /// The revision of every baked network's weights, which never change; the counter
    /// never reaches it.
    pub const BAKED: u64 = u64::MAX;

    /// A revision no network has had.
    #[must_use]
    pub fn new() -> Self {
        Self(next_revision())
    }

    /// Marks the parameters as (possibly) changed.
    pub fn bump(&mut self) {
        *self = Self::new();
    }

    /// The revision's number, never 0.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.0
    }
}

impl Default for Revision {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Revision {
    /// Always: a revision is bookkeeping, not a value of the network.
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Revision;

    /// Revisions drawn on several threads at once (each from its own block) are never 0 and
    /// never repeat.
    #[test]
    fn revisions_are_unique_across_threads() {
        let drawn: Vec<u64> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..10_000).map(|_| Revision::new().get()).collect::<Vec<_>>()))
                .collect();
            threads.into_iter().flat_map(|thread| thread.join().unwrap()).collect()
        });
        let mut sorted = drawn.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), drawn.len(), "a revision was drawn twice");
        assert!(sorted[0] > 0 && *sorted.last().unwrap() < Revision::BAKED);
    }
}
