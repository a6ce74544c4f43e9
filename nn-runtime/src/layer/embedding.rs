//! An embedding, PyTorch's `nn.Embedding(V, D)`: each id selects a row of a `[V, D]`
//! table. A sample of `L` ids becomes `L` rows, `[L, D]`, row-major.
//!
//! ```text
//! forward:   a[n][t] = W[id[n][t]]
//! backward:  ∂L/∂W[r] = Σ_{(n, t) : id[n][t] = r} ∂L/∂a[n][t]     (0 for rows no id uses)
//! ```
//!
//! The backward pass scatter-adds: an id that appears twice, in one sample or in two,
//! collects both gradients. Ids are checked before anything is read, so an id outside the
//! vocabulary is a typed error naming the sample, the position and the id, never a panic.

use nalgebra::SVector;

use crate::Real;
use crate::network::BatchError;

/// Checks every id of a batch of samples of `length` ids against a vocabulary of
/// `vocabulary` (`layer` names the embedding in the error).
///
/// # Errors
///
/// [`BatchError::IdOutOfRange`] for the first id that is not below `vocabulary`.
#[inline]
pub fn check(ids: &[u32], length: usize, vocabulary: usize, layer: &'static str) -> Result<(), BatchError> {
    match ids.iter().position(|&id| id as usize >= vocabulary) {
        None => Ok(()),
        Some(at) => Err(BatchError::IdOutOfRange {
            sample: at / length,
            position: at % length,
            id: ids[at],
            layer,
            vocabulary,
        }),
    }
}

/// `a = W[id]` for every id of a batch (checked with [`check`] first).
#[inline]
pub fn forward<T: Real, const D: usize>(weight: &[T], ids: &[u32], output: &mut [T]) {
    let table = weight.as_chunks::<D>().0;
    for (row, &id) in output.as_chunks_mut::<D>().0.iter_mut().zip(ids) {
        *row = table[id as usize];
    }
}

/// One sample of `N = L·D` values on the stack (its ids checked with [`check`] first).
#[inline]
#[must_use]
pub fn forward_one<T: Real, const D: usize, const N: usize>(weight: &[T], ids: &[u32]) -> SVector<T, N> {
    let mut output = SVector::<T, N>::zeros();
    forward::<T, D>(weight, ids, output.as_mut_slice());
    output
}

/// `∂L/∂W`, overwritten: every row the batch's ids select collects their gradients.
#[inline]
pub fn backward<T: Real, const D: usize>(ids: &[u32], grad_output: &[T], grad_weight: &mut [T]) {
    grad_weight.fill(T::zero());
    let table = grad_weight.as_chunks_mut::<D>().0;
    for (gradient, &id) in grad_output.as_chunks::<D>().0.iter().zip(ids) {
        let row = &mut table[id as usize];
        for d in 0..D {
            row[d] += gradient[d];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // copies and sums of small integers are exact: equality is the claim
    fn selects_rows_and_scatter_adds_repeated_ids() {
        let weight = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0];
        let ids = [2, 0, 2];
        let mut output = [0.0; 6];
        forward::<f64, 2>(&weight, &ids, &mut output);
        assert_eq!(output, [20.0, 21.0, 0.0, 1.0, 20.0, 21.0]);
        let mut grad = [9.0; 6];
        backward::<f64, 2>(&ids, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &mut grad);
        assert_eq!(grad, [3.0, 4.0, 0.0, 0.0, 6.0, 8.0], "row 2 sums both, row 1 is unused");
    }

    #[test]
    fn an_id_outside_the_vocabulary_names_its_sample_and_position() {
        assert_eq!(check(&[0, 1, 2, 3, 1, 2], 3, 4, "e"), Ok(()));
        let error = check(&[0, 1, 2, 3, 4, 2], 3, 4, "e").unwrap_err();
        assert_eq!(
            error,
            BatchError::IdOutOfRange { sample: 1, position: 1, id: 4, layer: "e", vocabulary: 4 }
        );
        assert_eq!(
            error.to_string(),
            "sample 1, position 1: id 4 is outside the vocabulary of layer `e`, ids 0 to 3"
        );
    }
}
