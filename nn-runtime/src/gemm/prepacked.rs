//! A layer's weights packed once for batched inference.
//!
//! A forward product `z = x·Wᵀ` takes the weights as its `B`, which the packed product
//! copies into panels ([`super::packed`]) on every call, and, split by rows across two
//! threads, on each of them. The weights change only when the network's parameters do, so
//! [`Prepacked`] keeps the panels with the network's revision (see
//! [`crate::network::Revision`]) and packs again only when that changes: a batched
//! inference into a warm workspace reads its weights' panels as they are.
//!
//! Measured on the Zen 3 EPYC of `BENCHMARKS.md` (f32, packing on every call and kept
//! panels alternated in one process, the median ratio of 80–100 pairs, four runs in the
//! default build and one native): W3's inference on 256 samples 1.03–1.06× faster on one
//! thread and 1.06–1.08× on two (split by rows, each thread packed all of `W`), W4's
//! 1.03–1.05× and 1.01–1.03× (split by columns, each thread packed only its own). The price
//! is a copy of those weights in the workspace.

use core::fmt::{self, Debug};

use super::packed::{Kernel, Panels, Strided, pack_panels};
use crate::Real;
use crate::buffer::{Lines, lines};

/// A weight matrix's panels for the packed product, kept between products: the buffer of a
/// workspace that batched inference fills on first use and reuses while the parameters stay
/// as they were.
#[derive(Clone)]
pub struct Prepacked<T> {
    values: Lines<T>,
    /// The revision of the parameters the panels hold (0: none yet; never drawn).
    revision: u64,
    /// The shape `(n, k)` of the packed `B` and the kernel the panels are for.
    layout: Option<((usize, usize), Kernel)>,
}

impl<T> Default for Prepacked<T> {
    fn default() -> Self {
        Self { values: lines(), revision: 0, layout: None }
    }
}

impl<T> Debug for Prepacked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepacked")
            .field("values", &self.values.len())
            .field("revision", &self.revision)
            .field("layout", &self.layout)
            .finish()
    }
}

/// A weight matrix `W` (`n × k`, row-major) as the `B = Wᵀ` of a product, with its panels
/// packed before and the revision of the parameters it belongs to.
#[derive(Debug)]
pub struct Weights<'a, T> {
    /// `W`, row by row.
    pub values: &'a [T],
    /// The revision of the network's parameters ([`crate::network::Revision::get`]): the
    /// panels are packed again when it differs from theirs.
    pub revision: u64,
    /// The panels kept from the last product.
    pub prepacked: &'a mut Prepacked<T>,
}

impl<T: Real> Weights<'_, T> {
    /// The panels of `W` for a product `n` wide and `k` deep, packed again when the
    /// revision, the shape or the kernel differs from that of the last packing (only the
    /// first packing allocates).
    pub(super) fn panels(&mut self, (n, k): (usize, usize)) -> Panels<'_, T> {
        let kernel = Kernel::for_shape::<T>(n, k);
        let padded = n.next_multiple_of(kernel.panel_width::<T>());
        let prepacked = &mut *self.prepacked;
        if prepacked.revision != self.revision || prepacked.layout != Some(((n, k), kernel)) {
            prepacked.values.resize(k * padded, T::zero());
            pack_panels(&mut prepacked.values, Strided::transposed(self.values, k), (n, k), kernel);
            prepacked.revision = self.revision;
            prepacked.layout = Some(((n, k), kernel));
        }
        Panels { values: &prepacked.values, kernel, padded, first_panel: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ThreadsForTest, multiply_by_weights, product, set_threads};
    use super::*;

    fn values<T: Real>(len: usize, seed: usize) -> Vec<T> {
        (0..len).map(|i| T::from_float((((i * 7919 + seed * 104_729) % 201) as f64 - 100.0) / 37.0)).collect()
    }

    /// A product by kept panels gives what the product packing them on the way gives, bit for
    /// bit (the same kernel reads the same panels in the same order): on shapes around the
    /// panel and depth-block edges, with `A` read in place and packed, adding or not, on one,
    /// two and three threads (split by rows and by columns), and again from the kept panels.
    fn matches_the_product<T: Real>() {
        let _threads = ThreadsForTest::hold();
        let shapes = [(64, 32, 64), (33, 50, 130), (64, 264, 130), (96, 64, 600), (40, 520, 90), (7, 70, 20)];
        for (m, n, k) in shapes {
            let (x, weight) = (values::<T>(m * k, 1), values::<T>(n * k, 2));
            let ldc = n + 3;
            for a in [Strided::rows(&x, k), Strided::transposed(&x, m)] {
                let mut prepacked = Prepacked::default();
                for (threads, accumulate) in [(1, false), (2, true), (3, false), (1, true), (2, false)] {
                    set_threads(threads);
                    let mut want = values::<T>(m * ldc, 3);
                    let mut got = want.clone();
                    product(&mut want, ldc, a, Strided::transposed(&weight, k), (m, n, k), accumulate);
                    let weights = Weights { values: &weight, revision: 7, prepacked: &mut prepacked };
                    multiply_by_weights(&mut got, ldc, a, weights, (m, n, k), accumulate);
                    let bits = |c: &[T]| c.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
                    assert!(bits(&got) == bits(&want), "{m}x{n}x{k}, {threads} thread(s), add {accumulate}");
                }
                set_threads(1);
            }
        }
    }

    #[test]
    fn matches_the_product_in_f32() {
        matches_the_product::<f32>();
    }

    #[test]
    fn matches_the_product_in_f64() {
        matches_the_product::<f64>();
    }

    /// The panels follow the revision, not the values: weights changed under the same
    /// revision still multiply as the old ones (why every change to a network's parameters
    /// draws a new revision), and a new revision packs them again.
    #[test]
    fn panels_are_packed_again_when_the_revision_changes() {
        let (m, n, k) = (64, 48, 40);
        let x = values::<f32>(m * k, 1);
        let (old, new) = (values::<f32>(n * k, 2), values::<f32>(n * k, 5));
        let multiply = |weight: &[f32], revision: u64, prepacked: &mut Prepacked<f32>| {
            let mut c = vec![0.0; m * n];
            let weights = Weights { values: weight, revision, prepacked };
            multiply_by_weights(&mut c, n, Strided::rows(&x, k), weights, (m, n, k), false);
            c
        };
        let mut prepacked = Prepacked::default();
        let before = multiply(&old, 1, &mut prepacked);
        assert_eq!(multiply(&new, 1, &mut prepacked), before);
        assert_eq!(multiply(&new, 2, &mut prepacked), multiply(&new, 2, &mut Prepacked::default()));
        assert_ne!(multiply(&new, 2, &mut prepacked), before);
    }
}
