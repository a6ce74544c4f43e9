//! The result matrix `C` of the packed product as its kernels write it: a band of columns
//! of a row-major matrix, from which narrower bands, or pieces of rows, are taken that
//! threads write at once.
//!
//! A `&mut [T]` over `C` cannot be split by columns: each thread's columns are interleaved
//! with the other's, row after row. Nor, with `split_at_mut`, at places decided as the
//! threads go. An [`Output`] holds the matrix by pointer and hands out one row segment of
//! its own band at a time; disjoint bands from [`Output::band`] cover disjoint columns of
//! every row, and disjoint pieces from [`Output::rows`] disjoint rows, so no value is
//! reachable from two.

// Without `std` the packed product, its only user, is not compiled (it needs scratch).
#![cfg_attr(not(feature = "std"), allow(dead_code))]

use core::marker::PhantomData;
use core::ops::Range;
use core::ptr::NonNull;

/// Columns `0..width` of a row-major matrix whose rows are `ldc` values apart, starting at
/// `start`, with `len` values reachable from it; borrowed mutably for `'c`.
pub(super) struct Output<'c, T> {
    start: NonNull<T>,
    len: usize,
    ldc: usize,
    width: usize,
    matrix: PhantomData<&'c mut [T]>,
}

// SAFETY: an `Output` is the exclusive borrow of its band's values (no other `Output` or
// slice reaches them while it lives, see `band`), like a `&mut [T]`, so
// it may move to another thread when `T` may.
unsafe impl<T: Send> Send for Output<'_, T> {}
// SAFETY: through a shared `Output` nothing can be read or written but by `band` and `rows`,
// which are `unsafe` and whose callers promise that the bands or pieces they take are
// disjoint.
unsafe impl<T: Send> Sync for Output<'_, T> {}

impl<'c, T> Output<'c, T> {
    /// All of `c`, `width` columns wide, rows `ldc` apart.
    pub(super) fn new(c: &'c mut [T], ldc: usize, width: usize) -> Self {
        Self { start: NonNull::from(&mut *c).cast(), len: c.len(), ldc, width, matrix: PhantomData }
    }

    /// Columns `j0..j0 + width` of the band, as an output of their own.
    ///
    /// # Safety
    ///
    /// While the returned output lives, no other output taken from this one by `band` may
    /// reach any of its columns (each chunk of columns is taken once), and this one is not
    /// written through (its lifetime is not tied to this borrow).
    ///
    /// # Panics
    ///
    /// When the columns are not all in the band, or the band is wider than a row.
    pub(super) unsafe fn band(&self, j0: usize, width: usize) -> Self {
        assert!(j0 + width <= self.width && self.width <= self.ldc, "a band within a row");
        let start = j0.min(self.len);
        // SAFETY: `start ≤ len`, so the pointer stays within (or one past) the borrow.
        let first = unsafe { self.start.add(start) };
        Self { start: first, len: self.len - start, width, ..*self }
    }

    /// Rows `rows` of the matrix, every value from the first row's start to the last row's
    /// end (or the end of `C`, which may stop short of `ldc` in its last row), as one slice.
    ///
    /// # Safety
    ///
    /// While the slice lives, no other slice or band taken from this output reaches any of
    /// its rows (each piece of rows is taken once), and this one is not written through.
    ///
    /// # Panics
    ///
    /// When the rows start past the end of `C`.
    #[allow(clippy::mut_from_ref)] // disjoint pieces of one exclusive borrow, as `split_at_mut` gives
    pub(super) unsafe fn rows(&self, rows: Range<usize>) -> &mut [T] {
        let start = rows.start * self.ldc;
        assert!(start <= self.len, "rows within C");
        let len = (rows.end * self.ldc).min(self.len) - start;
        // SAFETY: `start + len ≤ self.len`, within the borrow of `C`; the caller promises
        // that no other live slice or band reaches these rows.
        unsafe { core::slice::from_raw_parts_mut(self.start.as_ptr().add(start), len) }
    }

    /// Values `j..j + count` of row `r` of the band.
    ///
    /// # Panics
    ///
    /// When they are not all in the band (past its width, or past the end of `C`).
    #[inline(always)]
    pub(super) fn row(&mut self, r: usize, j: usize, count: usize) -> &mut [T] {
        assert!(j + count <= self.width && r * self.ldc + j + count <= self.len);
        // SAFETY: the range is within the `len` values borrowed from `start` (checked above)
        // and within this band's columns of row `r`, which no other `Output` reaches: `band`'s
        // callers take disjoint columns, of rows at most `ldc` wide (`band` checks the
        // width). The slice borrows `self` mutably, so no other slice of this band lives
        // beside it.
        unsafe { core::slice::from_raw_parts_mut(self.start.as_ptr().add(r * self.ldc + j), count) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bands taken one chunk at a time write their own columns of every row, and nothing else.
    #[test]
    fn bands_write_their_own_columns() {
        let (rows, ldc, width) = (3, 9, 8);
        let mut c = vec![0_u32; (rows - 1) * ldc + width];
        let whole = Output::new(&mut c, ldc, width);
        for (chunk, j0) in [0, 3, 6].into_iter().enumerate() {
            let count = 3.min(width - j0);
            // SAFETY: the three bands are disjoint, and each is dropped before the next.
            let mut band = unsafe { whole.band(j0, count) };
            for r in 0..rows {
                band.row(r, 0, count).fill(chunk as u32 + 1);
            }
        }
        let expected: Vec<u32> = (0..c.len()).map(|i| [1, 1, 1, 2, 2, 2, 3, 3, 0][i % ldc]).collect();
        assert_eq!(c, expected);
    }

    #[test]
    #[should_panic(expected = "j + count <= self.width")]
    fn a_band_cannot_reach_past_its_columns() {
        let mut c = vec![0_u32; 14];
        // SAFETY: the only band taken.
        let mut left = unsafe { Output::new(&mut c, 7, 6).band(0, 4) };
        left.row(0, 2, 3);
    }

    #[test]
    #[should_panic(expected = "a band within a row")]
    fn an_output_wider_than_a_row_gives_no_band() {
        let mut c = vec![0_u32; 14];
        // SAFETY: the only band taken (none is: it panics).
        let _ = unsafe { Output::new(&mut c, 3, 6).band(0, 2) };
    }
}
