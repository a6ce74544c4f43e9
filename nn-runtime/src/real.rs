//! The scalar types a network computes in: `f32` and `f64`.

use core::fmt::{Debug, Display};

use nalgebra::RealField;

/// A floating-point scalar a network can be built on: `f32` or `f64`.
///
/// Everything nalgebra's [`RealField`] offers (`exp`, `tanh`, `sqrt`, …) is available, plus
/// exact conversions to and from `f64`.
pub trait Real: RealField + Copy + Default + Debug + Display + Send + Sync + 'static {
    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_float(value: f64) -> Self;

    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;

    /// `self·a + b` with one rounding (a fused multiply-add). Inlined into the GEMM kernels,
    /// where it compiles to one FMA instruction on targets that have one.
    #[must_use]
    fn fused_multiply_add(self, a: Self, b: Self) -> Self;
}

impl Real for f32 {
    #[inline(always)]
    fn fused_multiply_add(self, a: Self, b: Self) -> Self {
        f32::mul_add(self, a, b)
    }

    #[inline]
    fn from_float(value: f64) -> Self {
        value as f32
    }

    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn fused_multiply_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }

    #[inline]
    fn from_float(value: f64) -> Self {
        value
    }

    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
}
