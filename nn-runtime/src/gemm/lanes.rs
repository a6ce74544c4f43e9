//! The one operation every kernel's inner loop repeats — a fused multiply-add across `L`
//! lanes — written once, so that a build with AVX-512 in its target can take it in explicit
//! 512-bit registers.
//!
//! The kernels are portable loops over `[T; L]` arrays that LLVM vectorises for whichever
//! instruction set the enclosing function is compiled for. With AVX-512 chosen at run time
//! (the default build) their 16-lane `f32` arrays fill 512-bit registers. With AVX-512 in the
//! target (`-C target-cpu=native` on such a CPU) the CPU's tuning decides the vector width,
//! and an Intel server core asks for 256 bits: each array became two registers, a tile's
//! accumulators twice as many as the CPU has, and they spilled (this machine's Xeon: a
//! 256×512×784 product at 61 against 122 GFLOP/s; W3's training step at 0.61× the
//! hand-written network). An explicit 512-bit type is not split.

use crate::Real;

use super::multiply_add;

/// `acc[l] += x[l]·y[l]` for every lane.
#[inline(always)]
pub(super) fn multiply_add_lanes<T: Real, const FMA: bool, const L: usize>(
    acc: &mut [T; L],
    x: &[T; L],
    y: &[T; L],
) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    {
        if FMA && zmm::multiply_add(acc, x, y) {
            return;
        }
    }
    let mut l = 0;
    while l < L {
        acc[l] = multiply_add::<T, FMA>(x[l], y[l], acc[l]);
        l += 1;
    }
}

/// `acc[l] += s·y[l]` for every lane.
#[inline(always)]
pub(super) fn broadcast_multiply_add_lanes<T: Real, const FMA: bool, const L: usize>(
    acc: &mut [T; L],
    s: T,
    y: &[T; L],
) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    {
        if FMA && zmm::multiply_add(acc, &[s; L], y) {
            return;
        }
    }
    let mut l = 0;
    while l < L {
        acc[l] = multiply_add::<T, FMA>(s, y[l], acc[l]);
        l += 1;
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
mod zmm {
    use core::any::TypeId;
    use core::arch::x86_64::{
        _mm512_fmadd_pd, _mm512_fmadd_ps, _mm512_loadu_pd, _mm512_loadu_ps, _mm512_storeu_pd,
        _mm512_storeu_ps,
    };

    use crate::Real;

    /// `acc[l] += x[l]·y[l]` with one `vfmadd` when `[T; L]` is one 512-bit register of
    /// `f32` or `f64`; returns whether it was.
    #[inline(always)]
    pub(super) fn multiply_add<T: Real, const L: usize>(acc: &mut [T; L], x: &[T; L], y: &[T; L]) -> bool {
        let is = |other: TypeId| TypeId::of::<T>() == other;
        if L * size_of::<T>() != 64 {
            return false;
        }
        let (acc, x, y) = (acc.as_mut_ptr(), x.as_ptr(), y.as_ptr());
        if is(TypeId::of::<f32>()) {
            // SAFETY: `T` is `f32` and each array is 64 bytes (both checked above): one
            // register each. AVX-512F is in the target (this module's `cfg`); `loadu` and
            // `storeu` need no alignment.
            unsafe {
                let (acc, x, y) = (acc.cast::<f32>(), x.cast::<f32>(), y.cast::<f32>());
                _mm512_storeu_ps(
                    acc,
                    _mm512_fmadd_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(y), _mm512_loadu_ps(acc)),
                );
            }
            return true;
        }
        if is(TypeId::of::<f64>()) {
            // SAFETY: as above, for `f64`.
            unsafe {
                let (acc, x, y) = (acc.cast::<f64>(), x.cast::<f64>(), y.cast::<f64>());
                _mm512_storeu_pd(
                    acc,
                    _mm512_fmadd_pd(_mm512_loadu_pd(x), _mm512_loadu_pd(y), _mm512_loadu_pd(acc)),
                );
            }
            return true;
        }
        false
    }
}
