//! Recurrent layers, PyTorch's `nn.RNN`, `nn.GRU` and `nn.LSTM` with `batch_first=True`:
//! a cell ([`Rnn`], [`Gru`], [`Lstm`]) run over the `T` steps of a sequence, from a zero
//! state, forward and, for a bidirectional layer, a second time in reverse with its own
//! weights. A sample is `[T][F]` row-major; the output is `[T][D·H]`, the reverse half of
//! step `t` being the reverse state after reading `x[T−1] … x[t]`.
//!
//! Each cell stacks `G` gate blocks of `H` rows in PyTorch's order (`W_ih` `[G·H, F]`,
//! `W_hh` `[G·H, H]`, `b_ih`, `b_hh` `[G·H]`), and a step is
//!
//! ```text
//! gi_t = W_ih·x_t + b_ih                     (every step at once: one product over N·T rows)
//! gh_t = W_hh·h_{t−1} + b_hh                 (one product over the N samples per step)
//! h_t  = cell(gi_t, gh_t, h_{t−1})
//! ```
//!
//! Backpropagation through time runs the steps in reverse, carrying `∂L/∂h_{t−1} =
//! direct_t + W_hhᵀ·∂L/∂gh_t` (and the LSTM's `∂L/∂c_{t−1}`); the weight gradients are then
//! whole-sequence products: `∂L/∂W_ih = Σ_{n,t} ∂L/∂gi_t · x_tᵀ`, `∂L/∂W_hh = Σ_{n,t}
//! ∂L/∂gh_t · h_{t−1}ᵀ`, `∂L/∂x_t = W_ihᵀ·∂L/∂gi_t`. The cells keep what their backward
//! pass reads (the *tape*), each `[N][T][·]` in the fixtures' layout.
//!
//! [`step`] runs one step of one sample with every size a constant: the streaming path.

mod gru;
mod lstm;
mod rnn;

pub use gru::Gru;
pub use lstm::Lstm;
pub use rnn::Rnn;

use nalgebra::SVector;

use crate::Real;
use crate::activation::Identity;
#[cfg(feature = "std")]
use crate::gemm::{self, Strided};
#[cfg(feature = "std")]
use crate::isa::vectorised;
use crate::layer::dense;

/// The sizes of a recurrent layer, as the generated code writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sequence {
    /// Steps `T`.
    pub steps: usize,
    /// Input features per step `F`.
    pub inputs: usize,
    /// Hidden units `H`.
    pub hidden: usize,
    /// `D`: 2 for a bidirectional layer, else 1.
    pub directions: usize,
}

impl Sequence {
    /// Output features per step, `D·H`.
    #[must_use]
    pub const fn width(self) -> usize {
        self.directions * self.hidden
    }
}

/// Which way a direction reads the sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `t = 0 … T−1`, the output's first half.
    Forward,
    /// `t = T−1 … 0`, the output's second half.
    Reverse,
}

impl Direction {
    /// The position step `s` of this direction reads.
    #[inline]
    const fn position(self, step: usize, steps: usize) -> usize {
        match self {
            Self::Forward => step,
            Self::Reverse => steps - 1 - step,
        }
    }

    /// Where the direction's features start in an output step.
    #[inline]
    const fn offset(self, hidden: usize) -> usize {
        match self {
            Self::Forward => 0,
            Self::Reverse => hidden,
        }
    }
}

/// A recurrent cell: its gate equations, forward beside backward, for one sample and step.
pub trait Cell<T: Real>: Copy {
    /// Gate blocks stacked in the weights: 1 (RNN), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o).
    const GATES: usize;
    /// Whether `gh` is kept apart from `gi` (the GRU, whose reset gate scales part of it);
    /// else it is added into `gi`, which then holds the cell's pre-activations.
    const SEPARATE_HIDDEN: bool;
    /// Values kept per step and unit besides `h`: the GRU's r, z, n; the LSTM's i, f, g, o, c.
    const KEPT: usize;
    /// Whether the cell carries a memory `c` beside `h` (the LSTM): the last block of its
    /// kept values, and part of its streaming state.
    const MEMORY: bool;

    /// One step: `pre` (`G·H`, with `gh` added unless separate), `gh`, the previous step's
    /// `h` and memory `c` (empty without one; `None` at the first step: a zero state) →
    /// `kept`, `h`.
    fn forward(self, pre: &[T], gh: &[T], previous: Option<(&[T], &[T])>, kept: &mut [T], h: &mut [T]);

    /// [`Cell::forward`] from a previous state `(h, c)` (`c` empty without a memory) in
    /// `before`, for the streaming step, where every size is a constant.
    #[inline(always)]
    fn stream(self, pre: &[T], gh: &[T], before: (&[T], &[T]), kept: &mut [T], h: &mut [T]) {
        self.forward(pre, gh, Some(before), kept, h);
    }

    /// One step back (`previous` as in [`Cell::forward`]): `dh` holds `∂L/∂h_t` and leaves holding the part of `∂L/∂h_{t−1}` that
    /// does not go through `W_hh`; `dc` (LSTM) the same for the cell. Writes `∂L/∂gi` into
    /// `dpre` and, when separate, `∂L/∂gh` into `dgh`.
    fn backward(
        self,
        carried: (&mut [T], &mut [T]),
        projections: (&[T], &[T]),
        previous: Option<(&[T], &[T])>,
        kept: &[T],
        deltas: (&mut [T], &mut [T]),
    );
}

/// The first `K` blocks of `units` values of a step's row (its gate blocks), each of exact
/// length, so the cells' loops over them need no bounds checks and vectorise.
#[inline(always)]
fn blocks<T, const K: usize>(values: &[T], units: usize) -> [&[T]; K] {
    let mut chunks = values[..K * units].chunks_exact(units);
    core::array::from_fn(|_| chunks.next().unwrap_or_default())
}

/// [`blocks`], mutably.
#[inline(always)]
fn blocks_mut<T, const K: usize>(values: &mut [T], units: usize) -> [&mut [T]; K] {
    let mut chunks = values[..K * units].chunks_exact_mut(units);
    core::array::from_fn(|_| chunks.next().unwrap_or_default())
}

/// The memory `c` among a step's kept values (empty for a cell without one).
#[inline]
fn memory<T: Real, C: Cell<T>>(kept: &[T], hidden: usize) -> &[T] {
    if C::MEMORY { &kept[(C::KEPT - 1) * hidden..][..hidden] } else { &[] }
}

/// One direction's parameters, in PyTorch's layout.
#[derive(Clone, Copy)]
pub struct Weights<'a, T> {
    /// `W_ih` `[G·H, F]`.
    pub input: &'a [T],
    /// `W_hh` `[G·H, H]`.
    pub hidden: &'a [T],
    /// `b_ih` `[G·H]`.
    pub input_bias: &'a [T],
    /// `b_hh` `[G·H]`.
    pub hidden_bias: &'a [T],
}

/// One direction's parameter gradients, as [`Weights`], overwritten by [`backward`].
pub struct Gradients<'a, T> {
    /// `∂L/∂W_ih`.
    pub input: &'a mut [T],
    /// `∂L/∂W_hh`.
    pub hidden: &'a mut [T],
    /// `∂L/∂b_ih`.
    pub input_bias: &'a mut [T],
    /// `∂L/∂b_hh`.
    pub hidden_bias: &'a mut [T],
}

/// What one direction keeps for its backward pass, each `[N][T][·]`: written by
/// [`forward`] (`S = &mut [T]`), read by [`backward`] (`S = &[T]`).
pub struct Tape<S> {
    /// `gi` (`G·H`), plus `gh` unless the cell keeps it apart.
    pub pre: S,
    /// `gh` (`G·H`) when the cell keeps it apart, else empty.
    pub gh: S,
    /// The cell's kept values (`KEPT·H`).
    pub kept: S,
}

/// Where `∂L/∂output` comes from.
#[derive(Clone, Copy)]
pub enum Upstream<'a, T> {
    /// The whole sequence `[N][T][D·H]`.
    Sequence(&'a [T]),
    /// Only each direction's final state, `[N][D·H]` (a layer declared with `last`).
    Last(&'a [T]),
}

/// The backward pass's working buffers, shared by the directions.
pub struct Work<'a, T> {
    /// `∂L/∂gi` `[N][T][G·H]`.
    pub dpre: &'a mut [T],
    /// `∂L/∂gh` `[N][T][G·H]` for a cell that keeps `gh` apart, else empty.
    pub dgh: &'a mut [T],
    /// `∂L/∂h` carried between steps, `[N][H]`.
    pub carry: &'a mut [T],
    /// `∂L/∂c` carried between steps, `[N][H]` (LSTM), else empty.
    pub carry_cell: &'a mut [T],
}

/// A read-only slice at `read` and a mutable one at `write` of one buffer (disjoint).
#[cfg(feature = "std")]
fn read_write<T>(buffer: &mut [T], read: usize, write: usize, len: usize) -> (&[T], &mut [T]) {
    if read < write {
        let (low, high) = buffer.split_at_mut(write);
        (&low[read..read + len], &mut high[..len])
    } else {
        let (low, high) = buffer.split_at_mut(read);
        (&high[..len], &mut low[write..write + len])
    }
}

/// The training forward of one direction: writes its half of `sequence` (`[N][T][D·H]`)
/// and its tape.
#[cfg(feature = "std")]
#[inline]
pub fn forward<T: Real, C: Cell<T>>(
    cell: C,
    shape: Sequence,
    direction: Direction,
    weights: Weights<'_, T>,
    x: &[T],
    sequence: &mut [T],
    tape: Tape<&mut [T]>,
) {
    vectorised(
        #[inline(always)]
        || forward_direction(cell, shape, direction, weights, x, sequence, tape),
    );
}

/// [`forward`], inlined into the code compiled for the CPU's vector instructions.
#[cfg(feature = "std")]
#[inline(always)]
fn forward_direction<T: Real, C: Cell<T>>(
    cell: C,
    shape: Sequence,
    direction: Direction,
    weights: Weights<'_, T>,
    x: &[T],
    sequence: &mut [T],
    tape: Tape<&mut [T]>,
) {
    let Sequence { steps, inputs, hidden, .. } = shape;
    let (gates, width) = (C::GATES * hidden, shape.width());
    let (kept, offset) = (C::KEPT * hidden, direction.offset(hidden));
    let batch = x.len() / (steps * inputs);
    let Tape { pre: tape_pre, gh: tape_gh, kept: tape_kept } = tape;
    super::project(tape_pre, x, (weights.input, weights.input_bias), (batch * steps, gates, inputs));
    for step in 0..steps {
        let at = direction.position(step, steps);
        let previous = (step > 0).then(|| direction.position(step - 1, steps));
        let target = if C::SEPARATE_HIDDEN { &mut *tape_gh } else { &mut *tape_pre };
        recurrent_projection::<T, C>(target, sequence, weights, (at, previous), (shape, offset, batch));
        for n in 0..batch {
            let row = n * steps + at;
            let pre = &tape_pre[row * gates..][..gates];
            let gh = if C::SEPARATE_HIDDEN { &tape_gh[row * gates..][..gates] } else { &[][..] };
            let h_at = row * width + offset;
            match previous {
                None => cell.forward(
                    pre,
                    gh,
                    None,
                    &mut tape_kept[row * kept..][..kept],
                    &mut sequence[h_at..][..hidden],
                ),
                Some(p) => {
                    let back = n * steps + p;
                    let (h_prev, h) = read_write(sequence, back * width + offset, h_at, hidden);
                    let (kept_prev, kept_now) = read_write(tape_kept, back * kept, row * kept, kept);
                    cell.forward(pre, gh, Some((h_prev, memory::<T, C>(kept_prev, hidden))), kept_now, h);
                }
            }
        }
    }
}

/// `gh = W_hh·h_prev + b_hh` for every sample at position `at`, into `target`'s rows
/// (added to them unless the cell keeps `gh` apart); `b_hh` alone at the first step.
#[cfg(feature = "std")]
fn recurrent_projection<T: Real, C: Cell<T>>(
    target: &mut [T],
    sequence: &[T],
    weights: Weights<'_, T>,
    (at, previous): (usize, Option<usize>),
    (shape, offset, batch): (Sequence, usize, usize),
) {
    let (steps, hidden) = (shape.steps, shape.hidden);
    let gates = C::GATES * hidden;
    let rows = &mut target[at * gates..];
    if let Some(p) = previous {
        let states = Strided::rows(&sequence[p * shape.width() + offset..], steps * shape.width());
        let weight = Strided { data: weights.hidden, row: 1, col: hidden };
        gemm::multiply(rows, steps * gates, states, weight, (batch, gates, hidden), !C::SEPARATE_HIDDEN);
    }
    for n in 0..batch {
        let row = &mut rows[n * steps * gates..][..gates];
        if previous.is_none() && C::SEPARATE_HIDDEN {
            row.copy_from_slice(weights.hidden_bias);
        } else {
            for (value, &b) in row.iter_mut().zip(weights.hidden_bias) {
                *value += b;
            }
        }
    }
}

/// The final state of each direction, `[N][D·H]`: `h_{T−1}` forward and `h_0` (after
/// reading the whole sequence) in reverse, as PyTorch's `h_n`.
#[inline]
pub fn last<T: Real>(shape: Sequence, sequence: &[T], output: &mut [T]) {
    let (steps, hidden, width) = (shape.steps, shape.hidden, shape.width());
    for (n, out) in output.chunks_exact_mut(width).enumerate() {
        for direction in [Direction::Forward, Direction::Reverse].into_iter().take(shape.directions) {
            let (at, offset) = (direction.position(steps - 1, steps), direction.offset(hidden));
            out[offset..offset + hidden]
                .copy_from_slice(&sequence[(n * steps + at) * width + offset..][..hidden]);
        }
    }
}

/// The backward pass of one direction: overwrites its parameter gradients and writes
/// `∂L/∂x` (added to what is there when `accumulate`, the second direction).
#[cfg(feature = "std")]
#[allow(clippy::too_many_arguments)] // one direction's parameters, values, tape and gradients
#[inline]
pub fn backward<T: Real, C: Cell<T>>(
    cell: C,
    (shape, direction): (Sequence, Direction),
    weights: Weights<'_, T>,
    (x, sequence): (&[T], &[T]),
    tape: &Tape<&[T]>,
    upstream: Upstream<'_, T>,
    work: Work<'_, T>,
    gradients: Gradients<'_, T>,
    input_gradient: Option<(&mut [T], bool)>,
) {
    vectorised(
        #[inline(always)]
        || {
            backward_direction(
                cell,
                (shape, direction),
                weights,
                (x, sequence),
                tape,
                upstream,
                work,
                gradients,
                input_gradient,
            );
        },
    );
}

/// [`backward`], inlined into the code compiled for the CPU's vector instructions.
#[cfg(feature = "std")]
#[allow(clippy::too_many_arguments)] // as `backward`
#[inline(always)]
fn backward_direction<T: Real, C: Cell<T>>(
    cell: C,
    (shape, direction): (Sequence, Direction),
    weights: Weights<'_, T>,
    (x, sequence): (&[T], &[T]),
    tape: &Tape<&[T]>,
    upstream: Upstream<'_, T>,
    work: Work<'_, T>,
    gradients: Gradients<'_, T>,
    input_gradient: Option<(&mut [T], bool)>,
) {
    let Sequence { steps, inputs, hidden, .. } = shape;
    let gates = C::GATES * hidden;
    let batch = x.len() / (steps * inputs);
    let Work { dpre, dgh, carry, carry_cell } = work;
    carry.fill(T::zero());
    carry_cell.fill(T::zero());
    for step in (0..steps).rev() {
        let at = direction.position(step, steps);
        let previous = (step > 0).then(|| direction.position(step - 1, steps));
        for n in 0..batch {
            let dh = &mut carry[n * hidden..][..hidden];
            receive(dh, upstream, (shape, direction), (n, at, step));
            let dc =
                if carry_cell.is_empty() { &mut [][..] } else { &mut carry_cell[n * hidden..][..hidden] };
            backward_step(
                cell,
                (shape, direction),
                (sequence, tape),
                (n, at, previous),
                (dh, dc),
                (&mut *dpre, &mut *dgh),
            );
        }
        if previous.is_some() {
            let source = if C::SEPARATE_HIDDEN { &*dgh } else { &*dpre };
            let deltas = Strided::rows(&source[at * gates..], steps * gates);
            let weight = Strided::rows(weights.hidden, hidden);
            gemm::multiply(carry, hidden, deltas, weight, (batch, hidden, gates), true);
        }
    }
    let hidden_deltas = if C::SEPARATE_HIDDEN { &*dgh } else { &*dpre };
    let Gradients {
        input: grad_input_weight,
        hidden: grad_hidden,
        input_bias: grad_input_bias,
        hidden_bias: grad_hidden_bias,
    } = gradients;
    hidden_weight_gradient(grad_hidden, (shape, direction), hidden_deltas, sequence, batch, gates);
    super::column_sums(grad_hidden_bias, hidden_deltas);
    let deltas = Strided { data: &*dpre, row: 1, col: gates };
    gemm::multiply(
        grad_input_weight,
        inputs,
        deltas,
        Strided::rows(x, inputs),
        (gates, inputs, batch * steps),
        false,
    );
    super::column_sums(grad_input_bias, dpre);
    if let Some((gx, accumulate)) = input_gradient {
        let deltas = Strided::rows(&*dpre, gates);
        gemm::multiply(
            gx,
            inputs,
            deltas,
            Strided::rows(weights.input, inputs),
            (batch * steps, inputs, gates),
            accumulate,
        );
    }
}

/// Adds `∂L/∂h` from the layers above to `dh`: sample `n`, position `at`, the direction's
/// step `step` (a `last` layer's gradient reaches only the final step).
#[inline(always)]
#[cfg(feature = "std")]
fn receive<T: Real>(
    dh: &mut [T],
    upstream: Upstream<'_, T>,
    (shape, direction): (Sequence, Direction),
    (n, at, step): (usize, usize, usize),
) {
    let (width, offset) = (shape.width(), direction.offset(shape.hidden));
    let from = match upstream {
        Upstream::Sequence(gradient) => &gradient[(n * shape.steps + at) * width + offset..],
        Upstream::Last(gradient) if step == shape.steps - 1 => &gradient[n * width + offset..],
        Upstream::Last(_) => return,
    };
    for (d, &g) in dh.iter_mut().zip(from) {
        *d += g;
    }
}

/// The cell's backward for sample `n` at position `at`.
#[inline(always)]
#[cfg(feature = "std")]
fn backward_step<T: Real, C: Cell<T>>(
    cell: C,
    (shape, direction): (Sequence, Direction),
    (sequence, tape): (&[T], &Tape<&[T]>),
    (n, at, previous): (usize, usize, Option<usize>),
    carried: (&mut [T], &mut [T]),
    (dpre, dgh): (&mut [T], &mut [T]),
) {
    let (steps, hidden, width) = (shape.steps, shape.hidden, shape.width());
    let (gates, kept, offset) = (C::GATES * hidden, C::KEPT * hidden, direction.offset(hidden));
    let row = n * steps + at;
    let gh = if C::SEPARATE_HIDDEN { &tape.gh[row * gates..][..gates] } else { &[][..] };
    let dgh = if C::SEPARATE_HIDDEN { &mut dgh[row * gates..][..gates] } else { &mut [][..] };
    let before = previous.map(|p| {
        let back = n * steps + p;
        (
            &sequence[back * width + offset..][..hidden],
            memory::<T, C>(&tape.kept[back * kept..][..kept], hidden),
        )
    });
    cell.backward(
        carried,
        (&tape.pre[row * gates..][..gates], gh),
        before,
        &tape.kept[row * kept..][..kept],
        (&mut dpre[row * gates..][..gates], dgh),
    );
}

/// `∂L/∂W_hh = Σ_n Σ_t ∂L/∂gh_t · h_{t−1}ᵀ` over the steps that have a previous state.
#[cfg(feature = "std")]
fn hidden_weight_gradient<T: Real>(
    gradient: &mut [T],
    (shape, direction): (Sequence, Direction),
    deltas: &[T],
    sequence: &[T],
    batch: usize,
    gates: usize,
) {
    let (steps, hidden, width) = (shape.steps, shape.hidden, shape.width());
    gradient.fill(T::zero());
    if steps < 2 {
        return;
    }
    // Forward, step t pairs with the state at t − 1; in reverse with the one at t + 1.
    let (first_delta, first_state) = match direction {
        Direction::Forward => (1, 0),
        Direction::Reverse => (0, 1),
    };
    let offset = direction.offset(hidden);
    for n in 0..batch {
        let a = Strided { data: &deltas[(n * steps + first_delta) * gates..], row: 1, col: gates };
        let b = Strided::rows(&sequence[(n * steps + first_state) * width + offset..], width);
        gemm::multiply(gradient, hidden, a, b, (gates, hidden, steps - 1), true);
    }
}

/// `W_hh` `[G·H, H]` (row-major, PyTorch's) written column by column into `transposed`
/// (`[H][G·H]`): the layout [`step`]'s recurrent product reads, `H` full-width
/// multiply-adds of a column instead of `G·H` dot products that each end in a horizontal
/// sum.
#[inline]
pub fn transpose_hidden<T: Real>(hidden: &[T], units: usize, transposed: &mut [T]) {
    let rows = hidden.len() / units;
    for (o, row) in hidden.chunks_exact(units).enumerate() {
        for (i, &w) in row.iter().enumerate() {
            transposed[i * rows + o] = w;
        }
    }
}

/// `b + W_hh·h` from the transposed weight: each output's sum in the order `i = 0 … H−1`,
/// whatever the vector width, so every caller gets the same bits. The outputs go in blocks
/// of [`BLOCK`], whose sums stay in registers across the `H` columns.
#[inline(always)]
fn hidden_projection<T: Real, const H: usize, const GH: usize>(
    transposed: &[T],
    bias: &[T],
    h: &[T],
) -> [T; GH] {
    let (transposed, h) = (&transposed[..H * GH], &h[..H]);
    let mut sums = [T::zero(); GH];
    sums.copy_from_slice(&bias[..GH]);
    for (start, block) in sums.chunks_mut(BLOCK).enumerate().map(|(b, block)| (b * BLOCK, block)) {
        let mut acc = [T::zero(); BLOCK];
        let width = block.len();
        acc[..width].copy_from_slice(block);
        for (i, &x) in h.iter().enumerate() {
            let column = &transposed[i * GH + start..][..width];
            for (sum, &w) in acc[..width].iter_mut().zip(column) {
                *sum += w * x;
            }
        }
        block.copy_from_slice(&acc[..width]);
    }
    sums
}

/// Outputs per block of [`hidden_projection`]: 64 `f32` are four AVX-512 or eight AVX2
/// registers.
const BLOCK: usize = 64;

/// One step of one sample with every size a constant, the streaming path: `state` holds
/// `h` (`H` values) and, for a cell with a memory, `c`; it is updated in place and the new
/// `h` returned. `transposed` is `W_hh` as [`transpose_hidden`] writes it. `GH` is `G·H`,
/// `K` is `KEPT·H`.
#[inline(always)]
#[must_use]
pub fn step<T: Real, C: Cell<T>, const F: usize, const H: usize, const GH: usize, const K: usize>(
    cell: C,
    weights: Weights<'_, T>,
    transposed: &[T],
    state: &mut [T],
    x: &SVector<T, F>,
) -> SVector<T, H> {
    let (h_prev, c_prev) = state.split_at_mut(H);
    let mut pre = dense::forward_one::<T, _, F, GH>(&Identity, weights.input, weights.input_bias, x);
    let gh = hidden_projection::<T, H, GH>(transposed, weights.hidden_bias, h_prev);
    if !C::SEPARATE_HIDDEN {
        for (p, &g) in pre.iter_mut().zip(&gh) {
            *p += g;
        }
    }
    let gh = if C::SEPARATE_HIDDEN { &gh[..] } else { &[][..] };
    let mut kept = [T::zero(); K];
    let mut h = SVector::<T, H>::zeros();
    cell.stream(pre.as_slice(), gh, (&*h_prev, &*c_prev), &mut kept, h.as_mut_slice());
    h_prev.copy_from_slice(h.as_slice());
    c_prev.copy_from_slice(memory::<T, C>(&kept, H));
    h
}

/// The whole-sequence forward of one sample, every size a constant: each direction runs
/// [`step`] from a zero state, so it is the streaming path, bit for bit, with its `W_hh`
/// transposed into `transposed` (`G·H·H` values: the generated code passes a reused
/// thread-local buffer with `std`, a stack array without). `S` is the state's size, `H` or
/// `2H` with a memory; `IN = T·F`, `OUT` is `T·D·H`, or `D·H` when `last`.
#[inline]
#[must_use]
pub fn forward_one<
    T: Real,
    C: Cell<T>,
    const F: usize,
    const H: usize,
    const GH: usize,
    const K: usize,
    const S: usize,
    const IN: usize,
    const OUT: usize,
>(
    cell: C,
    (shape, last): (Sequence, bool),
    weights: &[Weights<'_, T>],
    x: &SVector<T, IN>,
    transposed: &mut [T],
) -> SVector<T, OUT> {
    let (steps, width) = (shape.steps, shape.width());
    let mut output = SVector::<T, OUT>::zeros();
    for (weights, direction) in weights.iter().zip([Direction::Forward, Direction::Reverse]) {
        let offset = direction.offset(H);
        let mut state = [T::zero(); S];
        transpose_hidden(weights.hidden, H, transposed);
        for s in 0..steps {
            let at = direction.position(s, steps);
            let x_t = SVector::<T, F>::from_column_slice(&x.as_slice()[at * F..][..F]);
            let h = step::<T, C, F, H, GH, K>(cell, *weights, transposed, &mut state, &x_t);
            if !last {
                output.as_mut_slice()[at * width + offset..][..H].copy_from_slice(h.as_slice());
            }
        }
        if last {
            output.as_mut_slice()[offset..offset + H].copy_from_slice(&state[..H]);
        }
    }
    output
}
