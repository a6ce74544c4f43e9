//! The scalar types a network computes in: `f32` and `f64`.

use core::fmt::{Debug, Display};

use nalgebra::RealField;

/// A floating-point scalar a network can be built on: `f32` or `f64`.
///
/// Everything nalgebra's [`RealField`] offers (`exp`, `tanh`, `sqrt`, …) is available, plus
/// exact conversions to and from `f64` and a general matrix multiply on raw strided buffers.
pub trait Real: RealField + Copy + Default + Debug + Display + Send + Sync + 'static {
    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_float(value: f64) -> Self;

    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;

    /// `C ← alpha·A·B + beta·C` for an `m×k` matrix `A`, a `k×n` matrix `B` and an `m×n`
    /// matrix `C`, each given by a pointer and its row and column strides (in elements).
    ///
    /// When `beta` is zero, `C` is only written, never read.
    ///
    /// # Safety
    ///
    /// Every element the strides address inside the three shapes must lie inside the
    /// allocation behind its pointer, `c` must be valid for writes, and `C` must not alias
    /// `A` or `B`. Use the checked wrapper [`crate::gemm::gemm`] instead.
    unsafe fn gemm_unchecked(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        a_strides: (isize, isize),
        b: *const Self,
        b_strides: (isize, isize),
        beta: Self,
        c: *mut Self,
        c_strides: (isize, isize),
    );
}

impl Real for f32 {
    #[inline]
    fn from_float(value: f64) -> Self {
        value as f32
    }

    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    #[inline]
    unsafe fn gemm_unchecked(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        (rsa, csa): (isize, isize),
        b: *const Self,
        (rsb, csb): (isize, isize),
        beta: Self,
        c: *mut Self,
        (rsc, csc): (isize, isize),
    ) {
        // SAFETY: the caller upholds the contract above, which is matrixmultiply's.
        unsafe {
            matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

impl Real for f64 {
    #[inline]
    fn from_float(value: f64) -> Self {
        value
    }

    #[inline]
    fn to_f64(self) -> f64 {
        self
    }

    #[inline]
    unsafe fn gemm_unchecked(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        (rsa, csa): (isize, isize),
        b: *const Self,
        (rsb, csb): (isize, isize),
        beta: Self,
        c: *mut Self,
        (rsc, csc): (isize, isize),
    ) {
        // SAFETY: the caller upholds the contract above, which is matrixmultiply's.
        unsafe {
            matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}
