//! A network's flat parameter and state buffers ([`Buffer`]: `[T; N]` on the heap, with `N`
//! known at compile time so the generated code's constant-range slices need no bounds
//! checks), and the buffers the kernels write most; all of them on whole cache lines
//! ([`Lines`]).

use core::fmt::{self, Debug};
use core::ops::{Deref, DerefMut};

use crate::Real;
use crate::network::ParameterCountError;

/// Bytes in a cache line: where a [`Lines`] buffer starts.
pub const LINE: usize = 64;

/// A growable buffer that starts on a cache line: the trainer's gradients, a workspace's
/// layer outputs and gradients and the optimizers' state, which the matrix products store
/// to and the optimizers read and write in 64-byte vectors. From the allocator they started
/// 16 bytes into a line (a large block starts 16 bytes past a page), so every such access
/// was split across two lines, and a line was written by both threads where a split
/// product's halves meet. Old and new binaries alternated, four runs each: W3's training
/// step 222.5–224.7 → 214.0–219.3 µs on one thread and 139.3–144.8 → 132.3–137.6 on two,
/// W4's 2051–2062 → 1867–1885 on one.
pub type Lines<T> = aligned_vec::AVec<T, aligned_vec::ConstAlign<LINE>>;

/// An empty [`Lines`] buffer.
#[must_use]
pub fn lines<T>() -> Lines<T> {
    Lines::new(LINE)
}

/// A [`Lines`] buffer of `len` copies of `value`.
#[must_use]
pub fn filled<T: Clone>(value: T, len: usize) -> Lines<T> {
    Lines::from_iter(LINE, core::iter::repeat_n(value, len))
}

/// A network's parameter or state buffer: `[T; N]` on the heap, from the start of a cache
/// line. From the allocator a buffer started 16 bytes into a line or on one, depending on
/// what had been allocated before it, and a one-sample pass over the weights' rows in
/// 32-byte vectors ran 14% slower when they were split across lines (1 → 64 → 64 → 1 tanh,
/// built native: 146.3 against 128.3 ns, the machine code byte for byte the same).
#[derive(Clone)]
pub struct Buffer<T, const N: usize>(Lines<T>);

impl<T, const N: usize> Deref for Buffer<T, N> {
    type Target = [T; N];

    #[inline]
    fn deref(&self) -> &[T; N] {
        debug_assert_eq!(self.0.len(), N);
        // SAFETY: a `Buffer` holds exactly `N` values: every constructor makes `N`, and
        // `swap_parameters` checks the length of what it swaps in; nothing else reaches the
        // field. (A checked conversion left a compare and a branch in every pass: W1's
        // one-sample inference 15.3 → 15.5 ns.)
        unsafe { &*self.0.as_ptr().cast::<[T; N]>() }
    }
}

impl<T, const N: usize> DerefMut for Buffer<T, N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T; N] {
        debug_assert_eq!(self.0.len(), N);
        // SAFETY: as in `deref`.
        unsafe { &mut *self.0.as_mut_ptr().cast::<[T; N]>() }
    }
}

impl<T: PartialEq, const N: usize> PartialEq for Buffer<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Debug, const N: usize> Debug for Buffer<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// `N` zeros on the heap, never on the stack (a `dense(784 -> 512)` layer alone is 1.6 MB).
#[must_use]
pub fn zeroed_parameters<T: Real, const N: usize>() -> Buffer<T, N> {
    Buffer(filled(T::zero(), N))
}

/// A parameter buffer from a vector of exactly `N` values.
///
/// # Errors
///
/// When the vector's length is not `N`.
pub fn parameters_from_vec<T, const N: usize>(values: Vec<T>) -> Result<Buffer<T, N>, ParameterCountError> {
    state_from_vec(values, "parameters")
}

/// A buffer of `N` values of `what` from a vector of exactly `N` values.
///
/// # Errors
///
/// When the vector's length is not `N`.
pub fn state_from_vec<T, const N: usize>(
    values: Vec<T>,
    what: &'static str,
) -> Result<Buffer<T, N>, ParameterCountError> {
    let found = values.len();
    if found != N {
        return Err(ParameterCountError { expected: N, found, what });
    }
    Ok(Buffer(Lines::from_iter(LINE, values)))
}

/// The initial state buffer: zeros, with each `(start, end, value)` range filled (a running
/// variance starts at 1).
#[must_use]
pub fn initial_buffers<T: Real, const N: usize>(fills: &[(usize, usize, f64)]) -> Buffer<T, N> {
    let mut buffers = zeroed_parameters::<T, N>();
    for &(start, end, value) in fills {
        buffers[start..end].fill(T::from_float(value));
    }
    buffers
}

/// Exchanges a network's parameter buffer with `other` in O(1), without copying or
/// allocating: how a trainer puts in place the next parameters an optimizer wrote over the
/// gradients.
///
/// # Panics
///
/// When `other.len() != N`.
pub fn swap_parameters<T, const N: usize>(own: &mut Buffer<T, N>, other: &mut Lines<T>) {
    let len = other.len();
    assert_eq!(len, N, "the buffer to swap in holds {len} values, but the network has {N} parameters");
    core::mem::swap(&mut own.0, other);
}

/// Views a gradient buffer as `[T; N]`.
///
/// # Panics
///
/// When `gradients.len() != N`: a gradient buffer must be laid out like the parameters.
#[must_use]
pub fn gradient_buffer<T, const N: usize>(gradients: &mut [T]) -> &mut [T; N] {
    let len = gradients.len();
    assert_eq!(len, N, "the gradient buffer holds {len} values, but the network has {N} parameters");
    gradients.first_chunk_mut::<N>().expect("checked above")
}

/// A buffer laid out like some parameters, cut into consecutive tensors of the given
/// lengths: a layer's `[weight, bias]`, each mutable on its own.
///
/// # Panics
///
/// When the lengths add up to more than the buffer holds.
#[inline]
#[must_use]
pub fn split_tensors<T, const K: usize>(values: &mut [T], lengths: [usize; K]) -> [&mut [T]; K] {
    let mut rest = values;
    lengths.map(|length| {
        let (tensor, tail) = core::mem::take(&mut rest).split_at_mut(length);
        rest = tail;
        tensor
    })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // whole values, copied, not computed
mod tests {
    use super::*;

    /// Every way a buffer comes about starts it on a cache line with its `N` values, and a
    /// swap exchanges the values and keeps both buffers on lines.
    #[test]
    fn buffers_start_on_a_line_and_swap_their_values() {
        let on_a_line = |values: &[f32]| (values.as_ptr() as usize).is_multiple_of(LINE);
        let mut zeros = zeroed_parameters::<f32, 13>();
        assert!(on_a_line(&zeros[..]) && *zeros == [0.0; 13]);
        let filled_in = initial_buffers::<f32, 13>(&[(2, 5, 1.0)]);
        assert!(on_a_line(&filled_in[..]) && filled_in[1..6] == [0.0, 1.0, 1.0, 1.0, 0.0]);
        let counted = parameters_from_vec::<f32, 13>((0..13).map(|k| k as f32).collect());
        assert!(counted.is_ok_and(|buffer| on_a_line(&buffer[..]) && buffer[12] == 12.0));
        let mut other = filled(7.0_f32, 13);
        swap_parameters(&mut zeros, &mut other);
        assert!(*zeros == [7.0; 13] && other[..] == [0.0; 13]);
        assert!(on_a_line(&zeros[..]) && on_a_line(&other));
        let empty = zeroed_parameters::<f32, 0>();
        assert!(empty.is_empty());
    }

    #[test]
    fn a_vector_of_the_wrong_length_is_an_error() {
        let error = parameters_from_vec::<f32, 13>(vec![0.0; 12]).unwrap_err();
        assert_eq!((error.expected, error.found, error.what), (13, 12, "parameters"));
    }

    #[test]
    #[should_panic(expected = "holds 12 values, but the network has 13 parameters")]
    fn swapping_in_a_buffer_of_the_wrong_length_panics() {
        swap_parameters(&mut zeroed_parameters::<f32, 13>(), &mut filled(0.0, 12));
    }
}
