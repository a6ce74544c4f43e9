//! The scalar types a network computes in: `f32` and `f64`.

#[cfg(feature = "std")]
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
    #[cfg(feature = "std")]
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;

    /// `e^self` in a form loops vectorise: for `f32` a branch-free polynomial within 2 ulp
    /// ([`crate::vectorised`]), for `f64` the platform's `exp` (correctly rounded, as the f64
    /// references need).
    #[must_use]
    fn exp_vectorised(self) -> Self;

    /// `tanh(self)`, vectorisable as [`Real::exp_vectorised`].
    #[must_use]
    fn tanh_vectorised(self) -> Self;

    /// The logistic function `1 / (1 + e^(−self))`, vectorisable as [`Real::exp_vectorised`];
    /// exactly 0 and 1 far out.
    #[inline(always)]
    #[must_use]
    fn sigmoid(self) -> Self {
        Self::one() / (Self::one() + (-self).exp_vectorised())
    }

    /// `v = tanh(v)` for every value, each as [`Real::tanh_vectorised`]: for the few values of
    /// a one-sample layer, which a loop of `tanh_vectorised` leaves to scalar code once its
    /// sizes are known and it is unrolled (`f32` has a vector kernel for it).
    fn tanh_in_place(values: &mut [Self]);

    /// `v = 1 / (1 + e^(−v))` for every value, each as [`Real::sigmoid`], as
    /// [`Real::tanh_in_place`].
    fn sigmoid_in_place(values: &mut [Self]);

    /// `C (+)= A·B`: [`crate::gemm::multiply`] for this type, compiled once in nn-runtime
    /// rather than in every crate that declares a network.
    #[cfg(feature = "std")]
    #[doc(hidden)]
    fn multiply(
        c: &mut [Self],
        ldc: usize,
        a: crate::gemm::Strided<'_, Self>,
        b: crate::gemm::Strided<'_, Self>,
        shape: (usize, usize, usize),
        accumulate: bool,
    );

    /// `C (+)= A·Wᵀ`: [`crate::gemm::multiply_by_weights`] for this type, compiled once in
    /// nn-runtime, as [`Real::multiply`].
    #[cfg(feature = "std")]
    #[doc(hidden)]
    fn multiply_by_weights(
        c: &mut [Self],
        ldc: usize,
        a: crate::gemm::Strided<'_, Self>,
        weights: crate::gemm::Weights<'_, Self>,
        shape: (usize, usize, usize),
        accumulate: bool,
    );

    /// Whether [`Real::matvec`] beats a dense layer's const-sized loops from eight rows and
    /// eight columns on (for `f32` on x86-64, whose kernel takes eight rows per pass), not
    /// only from [`crate::layer::dense::SMALL_LAYER`] weights.
    #[doc(hidden)]
    const BLOCKED_MATVEC: bool;

    /// `y = W·x + b` for one sample: [`crate::gemm::matvec`] for this type (`f32` has a
    /// kernel of its own), compiled once in nn-runtime.
    #[doc(hidden)]
    fn matvec(weight: &[Self], x: &[Self], bias: &[Self], y: &mut [Self]);

    /// [`Real::matvec`] for a one-sample layer of up to 64 × 64 weights: inlined into the
    /// caller, sizes and all, where the target has the kernel's instructions built in
    /// (`-C target-cpu=native`).
    #[doc(hidden)]
    fn small_matvec(weight: &[Self], x: &[Self], bias: &[Self], y: &mut [Self]);

    /// Whether [`Real::small_matvec`] is inlined and takes layers from four outputs and
    /// four inputs, and layers of fewer outputs from sixteen inputs (`f32` with AVX2 and FMA
    /// built in), not only from eight of each.
    #[doc(hidden)]
    const SMALL_MATVEC_FROM_FOUR: bool;

    /// `packed[t·width + j] = source[j·stride + t]` for `j < rows`, `t < depth`, and zero for
    /// `rows ≤ j < width`: how the packed product stores a `B` read the other way round
    /// (`f32` transposes in vector registers where the CPU has AVX).
    #[doc(hidden)]
    fn transpose(packed: &mut [Self], width: usize, source: &[Self], stride: usize, shape: (usize, usize));

    /// `self·a + b` with one rounding (a fused multiply-add). Inlined into the GEMM kernels,
    /// where it compiles to one FMA instruction on targets that have one.
    #[must_use]
    fn fused_multiply_add(self, a: Self, b: Self) -> Self;
}

/// `Real` for a primitive float type; only the conversions to and from `f64` differ.
macro_rules! impl_real {
    (
        $float:ty,
        from_f64: |$value:ident| $from:expr,
        to_f64: |$this:ident| $to:expr,
        exp: $exp:path,
        tanh: $tanh:path,
        tanh_in_place: $tanh_in_place:path,
        sigmoid_in_place: $sigmoid_in_place:path,
        fma: $fma:path,
        matvec: $matvec:path,
        small_matvec: $small_matvec:path,
        transpose: $transpose:path,
        blocked_matvec: $blocked:expr,
        small_matvec_from_four: $from_four:expr $(,)?
    ) => {
        impl Real for $float {
            const BLOCKED_MATVEC: bool = $blocked;
            const SMALL_MATVEC_FROM_FOUR: bool = $from_four;

            #[cfg(feature = "std")]
            fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
                thread_local! {
                    static SCRATCH: RefCell<Vec<$float>> = const { RefCell::new(Vec::new()) };
                }
                SCRATCH.with(|cell| match cell.try_borrow_mut() {
                    Ok(mut buffer) => {
                        if buffer.len() < len {
                            buffer.resize(len, 0.0);
                        }
                        f(&mut buffer[..len])
                    }
                    Err(_) => f(&mut vec![0.0; len]),
                })
            }

            fn matvec(weight: &[Self], x: &[Self], bias: &[Self], y: &mut [Self]) {
                $matvec(weight, x, bias, y);
            }

            #[inline(always)]
            fn small_matvec(weight: &[Self], x: &[Self], bias: &[Self], y: &mut [Self]) {
                $small_matvec(weight, x, bias, y);
            }

            #[inline(always)]
            fn transpose(
                packed: &mut [Self],
                width: usize,
                source: &[Self],
                stride: usize,
                shape: (usize, usize),
            ) {
                $transpose(packed, width, source, stride, shape);
            }

            #[cfg(feature = "std")]
            fn multiply(
                c: &mut [Self],
                ldc: usize,
                a: crate::gemm::Strided<'_, Self>,
                b: crate::gemm::Strided<'_, Self>,
                shape: (usize, usize, usize),
                accumulate: bool,
            ) {
                crate::gemm::multiply_compiled(c, ldc, a, b, shape, accumulate);
            }

            #[cfg(feature = "std")]
            fn multiply_by_weights(
                c: &mut [Self],
                ldc: usize,
                a: crate::gemm::Strided<'_, Self>,
                weights: crate::gemm::Weights<'_, Self>,
                shape: (usize, usize, usize),
                accumulate: bool,
            ) {
                crate::gemm::multiply_by_weights_compiled(c, ldc, a, weights, shape, accumulate);
            }

            #[inline(always)]
            fn maximum(self, other: Self) -> Self {
                <$float>::max(self, other)
            }

            #[inline(always)]
            fn positive_indicator(self) -> Self {
                <$float>::from(u8::from(self > 0.0))
            }

            #[inline(always)]
            fn exp_vectorised(self) -> Self {
                $exp(self)
            }

            #[inline(always)]
            fn tanh_vectorised(self) -> Self {
                $tanh(self)
            }

            #[inline(always)]
            fn tanh_in_place(values: &mut [Self]) {
                $tanh_in_place(values);
            }

            #[inline(always)]
            fn sigmoid_in_place(values: &mut [Self]) {
                $sigmoid_in_place(values);
            }

            #[inline(always)]
            fn fused_multiply_add(self, a: Self, b: Self) -> Self {
                $fma(self, a, b)
            }

            #[inline]
            fn from_float($value: f64) -> Self {
                $from
            }

            #[inline]
            fn to_f64(self) -> f64 {
                let $this = self;
                $to
            }
        }
    };
}

impl_real!(
    f32,
    from_f64: |value| value as f32,
    to_f64: |this| f64::from(this),
    exp: crate::vectorised::exp,
    tanh: crate::vectorised::tanh,
    tanh_in_place: crate::vectorised::tanh_in_place,
    sigmoid_in_place: crate::vectorised::sigmoid_in_place,
    fma: math::fma_f32,
    matvec: crate::gemm::matvec_f32,
    small_matvec: crate::gemm::small_matvec_f32,
    transpose: crate::gemm::transpose_f32,
    blocked_matvec: cfg!(target_arch = "x86_64"),
    small_matvec_from_four: cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")),
);
impl_real!(
    f64,
    from_f64: |value| value,
    to_f64: |this| this,
    exp: math::exp,
    tanh: math::tanh,
    tanh_in_place: each::tanh::<f64>,
    sigmoid_in_place: each::sigmoid::<f64>,
    fma: math::fma_f64,
    matvec: crate::gemm::matvec_any,
    small_matvec: crate::gemm::matvec_any,
    transpose: crate::gemm::transpose::<f64>,
    blocked_matvec: false,
    small_matvec_from_four: false,
);

/// The in-place activations one value at a time, for a type without a vector kernel.
mod each {
    use super::Real;

    #[inline(always)]
    pub fn tanh<T: Real>(values: &mut [T]) {
        for v in values {
            *v = v.tanh_vectorised();
        }
    }

    #[inline(always)]
    pub fn sigmoid<T: Real>(values: &mut [T]) {
        for v in values {
            *v = v.sigmoid();
        }
    }
}

/// The platform's functions with `std`, libm's without (a `no_std` build has no others).
pub(crate) mod math {
    #[cfg(feature = "std")]
    pub use std_math::*;

    #[cfg(not(feature = "std"))]
    pub use libm::{cos, exp, fma as fma_f64, fmaf as fma_f32, pow, sin, tanh};

    #[cfg(feature = "std")]
    mod std_math {
        #[inline(always)]
        pub fn exp(x: f64) -> f64 {
            x.exp()
        }

        #[inline(always)]
        pub fn tanh(x: f64) -> f64 {
            x.tanh()
        }

        #[inline(always)]
        pub fn pow(x: f64, y: f64) -> f64 {
            x.powf(y)
        }

        #[inline(always)]
        pub fn sin(x: f64) -> f64 {
            x.sin()
        }

        #[inline(always)]
        pub fn cos(x: f64) -> f64 {
            x.cos()
        }

        #[inline(always)]
        pub fn fma_f32(x: f32, a: f32, b: f32) -> f32 {
            x.mul_add(a, b)
        }

        #[inline(always)]
        pub fn fma_f64(x: f64, a: f64, b: f64) -> f64 {
            x.mul_add(a, b)
        }
    }
}
