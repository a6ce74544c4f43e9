//! General matrix multiply on plain buffers, with bounds checked once per call.
//!
//! Layers keep their matrices in flat slices: weights row-major `[out, in]` (PyTorch's
//! layout), batches column-major with one sample per column (nalgebra's). A [`Layout`]
//! says how a flat slice is read as a matrix, so a transpose is a change of strides,
//! never a copy.

use crate::Real;

/// How a flat slice is read as a `rows × cols` matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Elements between `(r, c)` and `(r + 1, c)`.
    pub row_stride: usize,
    /// Elements between `(r, c)` and `(r, c + 1)`.
    pub col_stride: usize,
}

impl Layout {
    /// A column-major `rows × cols` matrix: element `(r, c)` at `c·rows + r`.
    #[must_use]
    pub const fn column_major(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    /// A row-major `rows × cols` matrix: element `(r, c)` at `r·cols + c`.
    #[must_use]
    pub const fn row_major(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same buffer read as the transposed matrix.
    #[must_use]
    pub const fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// The smallest slice length that holds every element.
    #[must_use]
    pub const fn required_len(self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }

    const fn strides(self) -> (isize, isize) {
        (self.row_stride as isize, self.col_stride as isize)
    }
}

/// `C ← alpha·A·B + beta·C`, on a real GEMM (matrixmultiply's packed, vectorised kernels).
///
/// With `beta = 0`, `C` is overwritten and its old contents are never read.
///
/// # Panics
///
/// If the shapes do not agree or a slice is too short for its layout. Layer kernels derive
/// both from the network's const sizes, so this is an internal invariant, never user input.
#[inline]
pub fn gemm<T: Real>(
    alpha: T,
    a: &[T],
    a_layout: Layout,
    b: &[T],
    b_layout: Layout,
    beta: T,
    c: &mut [T],
    c_layout: Layout,
) {
    assert!(
        a_layout.cols == b_layout.rows
            && a_layout.rows == c_layout.rows
            && b_layout.cols == c_layout.cols,
        "gemm: shapes do not agree"
    );
    assert!(
        a.len() >= a_layout.required_len()
            && b.len() >= b_layout.required_len()
            && c.len() >= c_layout.required_len(),
        "gemm: a buffer is shorter than its layout"
    );
    // SAFETY: the asserts above keep every addressed element inside its slice; `c` is a
    // unique borrow, so it cannot alias `a` or `b`.
    unsafe {
        T::gemm_unchecked(
            a_layout.rows,
            a_layout.cols,
            b_layout.cols,
            alpha,
            a.as_ptr(),
            a_layout.strides(),
            b.as_ptr(),
            b_layout.strides(),
            beta,
            c.as_mut_ptr(),
            c_layout.strides(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplies_row_major_by_column_major_and_transposes_by_strides() {
        // A = [[1, 2, 3], [4, 5, 6]] row-major; B = columns (1, 0, 1) and (0, 1, 0).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let mut c = [0.0; 4];
        gemm(
            1.0,
            &a,
            Layout::row_major(2, 3),
            &b,
            Layout::column_major(3, 2),
            0.0,
            &mut c,
            Layout::column_major(2, 2),
        );
        assert_eq!(c, [4.0, 10.0, 2.0, 5.0]);

        // Aᵀ·(1, 1) = (5, 7, 9), reading A's buffer transposed.
        let ones = [1.0, 1.0];
        let mut d = [1.0; 3];
        gemm(
            1.0,
            &a,
            Layout::row_major(2, 3).transposed(),
            &ones,
            Layout::column_major(2, 1),
            2.0,
            &mut d,
            Layout::column_major(3, 1),
        );
        assert_eq!(d, [7.0, 9.0, 11.0]);
    }
}
