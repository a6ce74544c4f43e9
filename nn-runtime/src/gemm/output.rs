//! The result matrix `C` of the packed product as its kernels write it: a band of columns
//! of a row-major matrix, which can be split into two bands that two threads write at once.
//!
//! A `&mut [T]` over `C` cannot be split by columns: each thread's columns are interleaved
//! with the other's, row after row. An [`Output`] holds the matrix by pointer and hands out
//! one row segment of its own band at a time; two outputs from [`Output::split_columns`]
//! cover disjoint columns of every row, so no value is reachable from both.

// Without `std` the packed product, its only user, is not compiled (it needs scratch).
#![cfg_attr(not(feature = "std"), allow(dead_code))]

use core::marker::PhantomData;
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
// slice reaches them while it lives, see `split_columns` and `band`), like a `&mut [T]`, so
// it may move to another thread when `T` may.
unsafe impl<T: Send> Send for Output<'_, T> {}
// SAFETY: through a shared `Output` nothing can be read or written but by `band`, which is
// `unsafe` and whose callers promise that the bands they take are disjoint.
unsafe impl<T: Send> Sync for Output<'_, T> {}

impl<'c, T> Output<'c, T> {
    /// All of `c`, `width` columns wide, rows `ldc` apart.
    pub(super) fn new(c: &'c mut [T], ldc: usize, width: usize) -> Self {
        Self { start: NonNull::from(&mut *c).cast(), len: c.len(), ldc, width, matrix: PhantomData }
    }

    /// The first `mid` columns and the rest, as two outputs that may be written at once.
    ///
    /// # Panics
    ///
    /// When `mid` is past the band, or the band is wider than a row (`width > ldc`: rows
    /// would overlap, and the two halves with them).
    pub(super) fn split_columns(self, mid: usize) -> (Self, Self) {
        assert!(mid <= self.width && self.width <= self.ldc, "columns split within a row");
        let right_start = mid.min(self.len);
        // SAFETY: `right_start ≤ len`, so the pointer stays within (or one past) the borrow.
        let right = unsafe { self.start.add(right_start) };
        (
            Self { width: mid, ..self },
            Self { start: right, len: self.len - right_start, width: self.width - mid, ..self },
        )
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
        assert!(j0 + width <= self.width && self.width <= self.ldc, "a band within the columns");
        let start = j0.min(self.len);
        // SAFETY: `start ≤ len`, so the pointer stays within (or one past) the borrow.
        let first = unsafe { self.start.add(start) };
        Self { start: first, len: self.len - start, width, ..*self }
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
        // and within this band's columns of row `r`, which no other `Output` reaches: a split
        // gives its halves columns `0..mid` and `mid..width` of rows at most `ldc` wide. The
        // slice borrows `self` mutably, so no other slice of this band lives beside it.
        unsafe { core::slice::from_raw_parts_mut(self.start.as_ptr().add(r * self.ldc + j), count) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two halves of a split write their own columns of every row, and nothing else.
    #[test]
    fn halves_of_a_split_write_their_own_columns() {
        let (rows, ldc, width) = (3, 7, 6);
        let mut c = vec![0_u32; (rows - 1) * ldc + width];
        let (mut left, mut right) = Output::new(&mut c, ldc, width).split_columns(4);
        for r in 0..rows {
            left.row(r, 0, 4).fill(1);
            right.row(r, 0, 2).fill(2);
        }
        let expected: Vec<u32> = (0..c.len()).map(|i| [1, 1, 1, 1, 2, 2, 0][i % ldc]).collect();
        assert_eq!(c, expected);
    }

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
    fn a_half_cannot_reach_past_its_columns() {
        let mut c = vec![0_u32; 14];
        let (mut left, _) = Output::new(&mut c, 7, 6).split_columns(4);
        left.row(0, 2, 3);
    }

    #[test]
    #[should_panic(expected = "columns split within a row")]
    fn a_band_wider_than_a_row_does_not_split() {
        let mut c = vec![0_u32; 14];
        let _ = Output::new(&mut c, 3, 6).split_columns(2);
    }
}
