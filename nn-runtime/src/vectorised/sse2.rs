//! The lane kernels ([`super::lanes`]) on four `f32` lanes with SSE2, which every `x86_64`
//! CPU has: no feature check, and inlined into any caller (the feature is listed only
//! because an intrinsic's caller must list it), for one-sample layers of four to seven
//! units and the last few values of wider ones. [`fused`] is the same on CPUs with AVX2 and
//! FMA: VEX-encoded, with fused multiply-adds.

use core::arch::x86_64::{
    __m128, _mm_add_epi32, _mm_add_ps, _mm_castps_si128, _mm_castsi128_ps, _mm_div_ps, _mm_loadu_ps,
    _mm_max_ps, _mm_min_ps, _mm_mul_ps, _mm_set1_epi32, _mm_set1_ps, _mm_slli_epi32, _mm_storeu_ps,
    _mm_sub_epi32, _mm_sub_ps, _mm_xor_ps,
};

use super::SHIFTER;
use super::lanes::lane_kernels;

/// Lanes per vector.
pub(super) const LANES: usize = 4;

type V = __m128;

use {
    _mm_add_ps as add, _mm_div_ps as div, _mm_max_ps as max, _mm_min_ps as min, _mm_mul_ps as mul,
    _mm_set1_ps as splat, _mm_sub_ps as sub, _mm_xor_ps as xor,
};

/// `a·b + c`, two roundings: SSE2 has no fused multiply-add.
#[target_feature(enable = "sse2")]
#[inline]
fn mul_add(a: V, b: V, c: V) -> V {
    add(mul(a, b), c)
}

/// `c − a·b`, two roundings.
#[target_feature(enable = "sse2")]
#[inline]
fn negated_mul_add(a: V, b: V, c: V) -> V {
    sub(c, mul(a, b))
}

#[target_feature(enable = "sse2")]
#[inline]
fn scale_by_exponent(y: V, shifted: V) -> V {
    #[allow(clippy::cast_possible_wrap)] // bit patterns, reinterpreted as the scalar code does
    let unbiased = _mm_sub_epi32(_mm_castps_si128(shifted), _mm_set1_epi32(SHIFTER.to_bits() as i32));
    mul(y, _mm_castsi128_ps(_mm_slli_epi32::<23>(_mm_add_epi32(unbiased, _mm_set1_epi32(127)))))
}

/// `x` clamped to `[−bound, bound]`: `max` then `min`, each with the value second, so NaN
/// is kept.
#[target_feature(enable = "sse2")]
#[inline]
fn clamp_magnitude(x: V, bound: f32) -> V {
    min(splat(bound), max(splat(-bound), x))
}

/// `result`: [`clamp_magnitude`] keeps NaN itself.
#[target_feature(enable = "sse2")]
#[inline]
fn keep_nan(result: V, _x: V) -> V {
    result
}

lane_kernels!(#[target_feature(enable = "sse2")] #[inline]);

/// Applies `f` to each whole vector of four values; returns the values past the last one.
#[target_feature(enable = "sse2")]
#[inline]
fn in_place(values: &mut [f32], f: impl Fn(V) -> V) -> &mut [f32] {
    let (vectors, rest) = values.as_chunks_mut::<LANES>();
    for vector in vectors {
        // SAFETY: `vector` is four `f32`, the load's and the store's width; `loadu` and
        // `storeu` need no alignment.
        unsafe { _mm_storeu_ps(vector.as_mut_ptr(), f(_mm_loadu_ps(vector.as_ptr()))) };
    }
    rest
}

/// `v = tanh(v)` for each whole vector of four values; returns the rest.
#[target_feature(enable = "sse2")]
#[inline]
pub(super) fn tanh_in_place(values: &mut [f32]) -> &mut [f32] {
    in_place(values, |x| tanh(x))
}

/// `v = 1 / (1 + e^(−v))` for each whole vector of four values; returns the rest.
#[target_feature(enable = "sse2")]
#[inline]
pub(super) fn sigmoid_in_place(values: &mut [f32]) -> &mut [f32] {
    in_place(values, |x| sigmoid(x))
}

/// The four-lane kernels with fused multiply-adds, for CPUs with AVX2 and FMA: the same
/// operations as the eight-lane [`super::avx2`] kernels, so a value comes out the same
/// whichever of the two computes it, and the last few values of a slice, padded to four,
/// too. `#[inline]`, so a caller compiled with those features takes them inline (the
/// 1 → 4 → 4 → 1 tanh network built with `-C target-cpu=native`: 34.2 → 30.8 ns, with the
/// `tanh` of the time).
pub(super) mod fused {
    use core::arch::x86_64::{
        _mm_fmadd_ps as mul_add, _mm_fnmadd_ps as negated_mul_add, _mm_loadu_ps, _mm_storeu_ps,
    };

    use super::super::lanes::lane_kernels;
    use super::{LANES, V, add, div, max, min, mul, scale_by_exponent, splat, sub, xor};

    super::super::lanes::range_clamps!(
        range: _mm_range_ps,
        compare: _mm_cmp_ps_mask,
        masked_move: _mm_mask_mov_ps,
    );

    lane_kernels!(#[target_feature(enable = "avx2,fma")] #[inline]);

    /// Applies `f` to every value: whole vectors of four, then the last one to three values
    /// padded with zeros.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn in_place(values: &mut [f32], f: impl Fn(V) -> V) {
        let (vectors, rest) = values.as_chunks_mut::<LANES>();
        for vector in vectors {
            // SAFETY: `vector` is four `f32`, the load's and the store's width; `loadu` and
            // `storeu` need no alignment.
            unsafe { _mm_storeu_ps(vector.as_mut_ptr(), f(_mm_loadu_ps(vector.as_ptr()))) };
        }
        if !rest.is_empty() {
            // A copy of a length the compiler knows where `N` is a constant (see
            // `by_length`): an eight-byte and a four-byte load for three values, as their
            // producer stored them. Of a length it did not know, it was a call to `memset`
            // and two to `memcpy`.
            let mut padded = [0.0; LANES];
            padded[..rest.len()].copy_from_slice(rest);
            // SAFETY: `padded` is four `f32`, as above.
            unsafe { _mm_storeu_ps(padded.as_mut_ptr(), f(_mm_loadu_ps(padded.as_ptr()))) };
            rest.copy_from_slice(&padded[..rest.len()]);
        }
    }

    /// `v = tanh(v)` for the first `N` values.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(in super::super) fn tanh_in_place<const N: usize>(values: &mut [f32]) {
        in_place(&mut values[..N], |x| tanh(x));
    }

    /// `v = 1 / (1 + e^(−v))` for the first `N` values.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(in super::super) fn sigmoid_in_place<const N: usize>(values: &mut [f32]) {
        in_place(&mut values[..N], |x| sigmoid(x));
    }
}
