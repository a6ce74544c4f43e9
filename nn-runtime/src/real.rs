//! The scalar types a network computes in: `f32` and `f64`.

use core::cell::RefCell;
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

    /// `max(self, other)` without a branch (`maxps`): `RealField::max` goes through a
    /// branching implementation, and a branch on data signs mispredicts half the time.
    #[must_use]
    fn maximum(self, other: Self) -> Self;

    /// `1` if `self > 0`, else `0`, without a branch (a compare and a mask).
    #[must_use]
    fn positive_indicator(self) -> Self;

    /// Runs `f` on a thread-local scratch buffer of `len` values, grown on first use and
    /// then reused, so a warm training step allocates nothing. (A nested call gets a fresh
    /// buffer instead.)
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;

    /// `self·a + b` with one rounding (a fused multiply-add). Inlined into the GEMM kernels,
    /// where it compiles to one FMA instruction on targets that have one.
    #[must_use]
    fn fused_multiply_add(self, a: Self, b: Self) -> Self;
}

impl Real for f32 {
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
        thread_local! {
            static SCRATCH_F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
        }
        SCRATCH_F32.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffer) => {
                if buffer.len() < len {
                    buffer.resize(len, 0.0);
                }
                f(&mut buffer[..len])
            }
            Err(_) => f(&mut vec![0.0; len]),
        })
    }

    #[inline(always)]
    fn maximum(self, other: Self) -> Self {
        f32::max(self, other)
    }

    #[inline(always)]
    fn positive_indicator(self) -> Self {
        f32::from(u8::from(self > 0.0))
    }

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
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
        thread_local! {
            static SCRATCH_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
        }
        SCRATCH_F64.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffer) => {
                if buffer.len() < len {
                    buffer.resize(len, 0.0);
                }
                f(&mut buffer[..len])
            }
            Err(_) => f(&mut vec![0.0; len]),
        })
    }

    #[inline(always)]
    fn maximum(self, other: Self) -> Self {
        f64::max(self, other)
    }

    #[inline(always)]
    fn positive_indicator(self) -> Self {
        f64::from(u8::from(self > 0.0))
    }

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
