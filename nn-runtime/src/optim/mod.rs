//! Optimizers: a config struct with PyTorch's defaults plus a `step` over the flat parameter
//! and gradient buffers.
//!
//! A network keeps all its parameters in one contiguous buffer and its gradients in a buffer
//! of the same layout, so a step is one fused loop over two slices: it reads the parameters
//! and the gradients, and writes the next parameters over the gradients, checking as it goes
//! that they are finite. The trainer then swaps that buffer with the network's: the
//! parameters themselves are never written, so a step that overflows is dropped whole and the
//! last finite parameters stay, at no extra cost. Writing over the gradients rather than into
//! a buffer of its own saves a stream of memory: W4's update (670k parameters, through L3)
//! fetched every line of the copy it was about to write, and without it the training step
//! ran 1.09–1.17× faster (W3's 1.07–1.08×; smaller networks level). State (momentum buffers, moments) is sized once by
//! [`Optimizer::prepare`] from the network's parameter count; a step never allocates. The
//! update is elementwise, so where the matrix products run on several threads
//! ([`crate::gemm::set_threads`]) a large one runs on them too, in contiguous parts, with
//! results bit for bit those of one thread.

mod adam;
mod rmsprop;
mod rprop;
mod sgd;

pub use adam::{Adam, AdamConfig, AdamW};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use rprop::{Rprop, RpropConfig};
pub use sgd::{Sgd, SgdConfig};

use crate::{Real, gemm};

/// Updates parameters from their gradients.
pub trait Optimizer<T: Real> {
    /// Sizes the optimizer's state for `parameters` values. Called once by the trainer.
    fn prepare(&mut self, parameters: usize);

    /// One update: `values` holds the gradients on entry (the same length and layout as
    /// `parameters`); writes over each the parameter after a step from `parameters` along it,
    /// advances the optimizer's state, and returns whether every gradient and every next
    /// value is finite. Write every value, even where a parameter does not move: a gradient
    /// left in place would become that parameter. When they are not all finite, the trainer
    /// drops the step: what `values` then holds is not used as parameters, and the trainer
    /// finds which tensor failed itself.
    ///
    /// The built-in optimizers check in the update's own loop. They check the next values
    /// only, since a NaN or infinite gradient always makes its next value NaN or infinite
    /// there (`∞ − ∞`, `0·∞`, `∞/∞`), except in [`Rprop`], which moves by the gradient's sign
    /// and checks the gradients too.
    ///
    /// # Panics
    ///
    /// When the two buffers differ in length.
    #[must_use = "an update that is not finite must not replace the parameters"]
    fn step(&mut self, parameters: &[T], values: &mut [T]) -> bool;

    /// [`Optimizer::step`] with the gradients in a slice of their own, a local array of the
    /// training step that the compiler keeps in registers where the update inlines, and the
    /// next parameters written into `values` (whatever it held): a tiny network's step on
    /// one sample or four passes its gradients so
    /// ([`crate::network::Network::train_borrowing`]), not through a buffer the backward
    /// pass has just stored. The same update; by default `gradients` copied into `values`
    /// and then `step`.
    ///
    /// # Panics
    ///
    /// When the three slices differ in length.
    #[must_use = "an update that is not finite must not replace the parameters"]
    #[inline(always)]
    fn step_from(&mut self, parameters: &[T], gradients: &[T], values: &mut [T]) -> bool {
        values.copy_from_slice(gradients);
        self.step(parameters, values)
    }

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
fn check_lengths<T>(parameters: &[T], values: &[T]) {
    assert!(
        parameters.len() == values.len(),
        "an optimizer step needs a gradient for every parameter, not {} parameters and {} gradients",
        parameters.len(),
        values.len()
    );
}

/// Values from which an update is split across threads: SGD on two threads measured level
/// at 16 384 values (2.5 against 2.4 µs), 1.36× at 32 768 and 1.6× at 65 536; on W3's
/// 101 770 parameters 15.2 → 8.5 µs, and its whole training step 1.05× → 1.22× one
/// thread's, as the other thread's half of the weights stays in its cache.
const PARALLEL_UPDATE: usize = 1 << 15;

/// The buffers of one update, all of one length: the parameters, the values that hold the
/// gradients on entry and the next parameters on return, and the optimizer's `S` state
/// buffers (moments, momentum), each empty when unused; and how to read the gradients.
pub(crate) struct Buffers<'a, T, const S: usize> {
    pub parameters: &'a [T],
    pub values: &'a mut [T],
    pub state: [&'a mut [T]; S],
    pub reading: Reading,
}

/// Values up to which an update reads its gradients one by one ([`Reading::OneByOne`]).
///
/// In every build since the seventeenth pass of `BENCHMARKS.md`. With 16-byte vectors
/// (SSE2, the default target) W1's one load across stores was its gradients 8 to 11: on
/// the Ice Lake Xeon of the eleventh to sixteenth passes, building the vectors in registers
/// cost more than the wait it saved (the step 60.6 → 61.6 ns), but on the AMD EPYC (Zen 3)
/// of the seventeenth, where the step passes the loss's gradient in registers, it saves
/// more (63.9–64.0 → 62.7 ns; at four samples 102.3–103.0 → 101.6–101.9).
pub(crate) const FEW_VALUES: usize = 32;

/// How an update's loop reads the gradients, which the backward pass has just written.
///
/// A load that spans two stores still in the store buffer cannot take its value from them:
/// it waits until they reach the cache. A long update meets few such loads, but a tiny
/// network's backward pass writes its few gradients in pieces of 4, 8 and 16 bytes, as
/// LLVM packs them, and the update's first loads follow a few cycles later. W1 (13
/// parameters), built with AVX: its first eight gradients, two stores, were one 32-byte
/// load, and the instruction after it took a fifth of the trainer's samples. Read one by
/// one, the step went 65.1 → 63.2 ns (in the bench: 77.3 and 86.7 → 71.1 and 73.4 ns).
#[derive(Clone, Copy)]
pub(crate) enum Reading {
    /// In loads as wide as the loop's vectors.
    Wide,
    /// One value a load, each within a store; the loop still computes in vectors, built in
    /// registers.
    OneByOne,
}

impl Reading {
    /// The gradient `value` holds, read as `self` says.
    #[inline(always)]
    pub fn gradient<T: Copy>(self, value: &T) -> T {
        match self {
            Self::Wide => *value,
            // SAFETY: a reference is valid for reads and aligned. The read is volatile only
            // so that LLVM cannot merge neighbouring ones into one wide load.
            Self::OneByOne => unsafe { core::ptr::read_volatile(value) },
        }
    }
}

impl<'a, T, const S: usize> Buffers<'a, T, S> {
    /// The buffers of an update, its gradients read [`Reading::Wide`] until [`part`] says
    /// otherwise.
    pub fn new(parameters: &'a [T], values: &'a mut [T], state: [&'a mut [T]; S]) -> Self {
        Self { parameters, values, state, reading: Reading::Wide }
    }

    /// The values before `mid` and those from it, in every buffer (an empty state buffer
    /// stays empty in both).
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (parameters, parameters_rest) = self.parameters.split_at(mid);
        let (values, values_rest) = self.values.split_at_mut(mid);
        let mut halves = self.state.map(|buffer| {
            let (low, high) = buffer.split_at_mut(mid.min(buffer.len()));
            (Some(low), Some(high))
        });
        let state = core::array::from_fn(|i| halves[i].0.take().unwrap_or_default());
        let state_rest = core::array::from_fn(|i| halves[i].1.take().unwrap_or_default());
        let reading = self.reading;
        (
            Self { parameters, values, state, reading },
            Buffers { parameters: parameters_rest, values: values_rest, state: state_rest, reading },
        )
    }
}

/// Runs `update` over `buffers`, in as many contiguous parts as the products use threads
/// when there are [`PARALLEL_UPDATE`] values or more; returns whether every part's update
/// was finite.
#[inline(always)]
pub(crate) fn in_parts<T: Real, const S: usize>(
    buffers: Buffers<'_, T, S>,
    update: impl Fn(Buffers<'_, T, S>) -> bool + Sync,
) -> bool {
    if buffers.parameters.len() < PARALLEL_UPDATE || gemm::threads() == 1 {
        return part(buffers, &update);
    }
    split(buffers, gemm::threads(), &update)
}

/// Values from which an update's loop runs compiled for AVX2 where the CPU has it (below,
/// the check costs more than it saves: W1's 13 parameters).
const VECTORISED_UPDATE: usize = 1024;

/// `update(buffers)` on one thread: reading its gradients one by one when they are few,
/// vectorised for the CPU when the part is long enough.
#[inline(always)]
fn part<T: Real, const S: usize>(
    buffers: Buffers<'_, T, S>,
    update: &impl Fn(Buffers<'_, T, S>) -> bool,
) -> bool {
    if buffers.parameters.len() <= FEW_VALUES {
        return update(Buffers { reading: Reading::OneByOne, ..buffers });
    }
    if buffers.parameters.len() < VECTORISED_UPDATE {
        return update(buffers);
    }
    crate::isa::vectorised(
        #[inline(always)]
        || update(buffers),
    )
}

fn split<T: Real, const S: usize>(
    buffers: Buffers<'_, T, S>,
    parts: usize,
    update: &(impl Fn(Buffers<'_, T, S>) -> bool + Sync),
) -> bool {
    if parts <= 1 {
        return part(buffers, update);
    }
    // Parts start on a 64-byte line (16 `f32`), so no line is written by both threads.
    let len = buffers.parameters.len();
    let mid = (len / 2).next_multiple_of(16).min(len);
    let (low, high) = buffers.split_at(mid);
    let (mut low_finite, mut high_finite) = (false, false);
    gemm::join(
        parts,
        || low_finite = split(low, parts / 2, update),
        || high_finite = split(high, parts - parts / 2, update),
    );
    low_finite && high_finite
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three steps of `optimizer` on `len` parameters with seeded gradients; the parameters
    /// after each step. (The caller holds [`gemm::ThreadsForTest`].)
    fn trajectory(mut optimizer: impl Optimizer<f32>, len: usize, threads: usize) -> Vec<Vec<f32>> {
        gemm::set_threads(threads);
        optimizer.prepare(len);
        let mut parameters: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.37).sin()).collect();
        let mut after = Vec::new();
        for step in 0..3 {
            let mut values: Vec<f32> = (0..len).map(|i| ((i * (step + 2)) as f32 * 0.11).cos()).collect();
            assert!(optimizer.step(&parameters, &mut values));
            parameters = values;
            after.push(parameters.clone());
        }
        after
    }

    /// Every optimizer, named, with every buffer of state it may keep: its [`trajectory`]
    /// over `len` parameters on `threads` threads.
    fn trajectories(len: usize, threads: usize) -> Vec<(&'static str, Vec<Vec<f32>>)> {
        let sgd = SgdConfig {
            learning_rate: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.01,
            dampening: 0.1,
        };
        let adam = AdamConfig { amsgrad: true, weight_decay: 0.01, ..AdamConfig::default() };
        let rmsprop =
            RmsPropConfig { momentum: 0.5, centered: true, weight_decay: 0.01, ..RmsPropConfig::default() };
        vec![
            ("SGD", trajectory(Sgd::with_learning_rate(0.1), len, threads)),
            ("SGD with momentum", trajectory(Sgd::new(sgd), len, threads)),
            ("Adam", trajectory(Adam::new(adam), len, threads)),
            ("AdamW", trajectory(AdamW::new(adam), len, threads)),
            ("RMSprop", trajectory(RmsProp::new(rmsprop), len, threads)),
            ("Rprop", trajectory(Rprop::new(RpropConfig::default()), len, threads)),
        ]
    }

    /// Every optimizer updates bit for bit the same on two threads as on one: at a size that
    /// splits, into uneven parts (an odd count), and at one that does not.
    #[test]
    fn updates_on_two_threads_are_those_of_one() {
        let _threads = gemm::ThreadsForTest::hold();
        for len in [PARALLEL_UPDATE + 1001, 999] {
            for ((name, one), (_, two)) in trajectories(len, 1).into_iter().zip(trajectories(len, 2)) {
                assert!(one == two, "{name} at {len} parameters differs on two threads");
            }
        }
    }

    /// Few values update bit for bit as the same values at the head of a long update, for
    /// every optimizer: the few read one by one ([`FEW_VALUES`]) and the many in vectors.
    #[test]
    fn few_values_update_as_many_do() {
        let _threads = gemm::ThreadsForTest::hold();
        let (few, many) = (13, VECTORISED_UPDATE + 3);
        for ((name, short), (_, long)) in trajectories(few, 1).into_iter().zip(trajectories(many, 1)) {
            for (step, (short, long)) in short.iter().zip(&long).enumerate() {
                assert!(
                    short[..] == long[..few],
                    "{name} at step {step}: {short:?} against {:?}",
                    &long[..few]
                );
            }
        }
    }

    /// Plain SGD's `step_from` (the gradients in their own slice) updates bit for bit as its
    /// `step` at every length up to past [`FEW_VALUES`], and answers alike when an update
    /// overflows.
    #[test]
    fn sgd_steps_from_a_slice_of_gradients_as_in_place() {
        for len in 0..=FEW_VALUES + 5 {
            let parameters: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.37).sin()).collect();
            let mut gradients: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            for overflow in [false, true] {
                if overflow && len > 0 {
                    gradients[len - 1] = f32::MAX;
                }
                let (mut in_place, mut from) = (Sgd::with_learning_rate(10.0), Sgd::with_learning_rate(10.0));
                let mut expected = gradients.clone();
                let finite = in_place.step(&parameters, &mut expected);
                let mut values = vec![f32::NAN; len];
                assert_eq!(from.step_from(&parameters, &gradients, &mut values), finite, "{len}, {overflow}");
                let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&values), bits(&expected), "{len} values");
            }
        }
    }

    /// A part that is not finite fails the whole update, whichever thread ran it.
    #[test]
    fn a_non_finite_value_in_either_part_fails_the_update() {
        let len = PARALLEL_UPDATE * 2;
        let _threads = gemm::ThreadsForTest::hold();
        gemm::set_threads(2);
        for at in [3, len - 3] {
            let mut values = vec![0.5_f32; len];
            values[at] = f32::INFINITY;
            assert!(!Sgd::with_learning_rate(0.1).step(&vec![1.0; len], &mut values), "at {at}");
        }
    }
}
