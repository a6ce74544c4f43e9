//! `exp` and `tanh` for `f32` in a form the compiler vectorises: branch-free polynomials
//! (Cephes' `expf` and `tanhf`) whose loops become SIMD code, where the platform's `expf`
//! and `tanhf` are one call per value. Plain multiplies and adds, not `mul_add`: without
//! FMA in the target, `mul_add` is a call to a software `fmaf`. Within 2 units in the last place of the correctly
//! rounded value on every input (measured in the tests below over a dense sweep). Reached
//! through [`Real::exp_vectorised`](crate::Real::exp_vectorised),
//! [`Real::sigmoid`](crate::Real::sigmoid) and
//! [`Real::tanh_vectorised`](crate::Real::tanh_vectorised); `f64` keeps the platform's.

/// Inputs are clamped to `[EXP_FLOOR, EXP_CEILING]`: at the ceiling `2ⁿ` is built as `+∞`
/// (exponent bits 255), at the floor as `0` (exponent bits 0), so the ends need no branch.
const EXP_CEILING: f32 = 88.8;
const EXP_FLOOR: f32 = -88.0;

/// `1.5·2²³`: adding it to a float of magnitude below `2²²` rounds it to an integer.
const SHIFTER: f32 = 12_582_912.0;

#[cfg(target_arch = "x86_64")]
mod lanes;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod sse2;

/// `e^x`: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, `e^r` by a degree-7 polynomial, times `2ⁿ`
/// built in the exponent bits. Branch-free, so a loop of it vectorises: from 88.376 it is
/// `+∞` because `2ⁿ` is (`2¹²⁸`; `ln(f32::MAX)` is 88.72, so `+∞` comes a little early, for
/// `e^x` above `2^127.5`), below about −87.7 it is 0 because `2ⁿ` is, and NaN stays NaN
/// through the arithmetic.
#[inline(always)]
#[must_use]
pub fn exp(x: f32) -> f32 {
    let clamped = x.clamp(EXP_FLOOR, EXP_CEILING);
    let shifted = clamped * core::f32::consts::LOG2_E + SHIFTER;
    let n = shifted - SHIFTER;
    let r = clamped - n * 0.693_359_4 - n * -2.121_944_4e-4;
    // `e^r = 1 + r + r²·P(r)`, P of degree 5 evaluated by Estrin's scheme (pairs, then
    // powers r², r⁴): three levels deep rather than Horner's five, so one `exp` on its own
    // (a tiny layer's few units) waits less.
    let r2 = r * r;
    let low = 1.666_666_5e-1 * r + 5e-1;
    let middle = 8.333_452e-3 * r + 4.166_579_6e-2;
    let high = 1.987_569_2e-4 * r + 1.398_199_9e-3;
    let p = (middle + high * r2) * r2 + low;
    let y = p * r2 + r + 1.0;
    // The integer n sits in the low mantissa bits of `shifted`: no float-to-int conversion.
    let exponent = shifted.to_bits().wrapping_sub(SHIFTER.to_bits()).wrapping_add(127);
    y * f32::from_bits(exponent << 23)
}

/// `tanh(x)`: an odd polynomial below `|x| = 0.625`, `1 − 2/(e^{2|x|} + 1)` above, both
/// computed and the right one selected (no branch).
#[inline(always)]
#[must_use]
pub fn tanh(x: f32) -> f32 {
    let magnitude = x.abs();
    let z = x * x;
    let p = -5.704_988_7e-3_f32;
    let p = p * z + 2.063_909e-2;
    let p = p * z + -5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z + -3.333_328e-1;
    let small = p * z * x + x;
    let large = (1.0 - 2.0 / (exp(2.0 * magnitude) + 1.0)).copysign(x);
    if magnitude < 0.625 { small } else { large }
}

/// `v = tanh(v)` for every value, whole vectors at a time: for the few values of a
/// one-sample layer, which a loop of [`tanh`] leaves to scalar code once it is unrolled.
///
/// On a CPU with AVX2 and FMA every multiply-add is fused: fewer instructions and roundings
/// than [`tanh`] (a 1 → 16 → 16 → 1 tanh network 65 → 54 ns on this machine's Xeon), at most
/// one unit in the last place from it and within two of the exact value (tests). Eight
/// lanes, then for a layer of fewer than eight values four lanes, the last few padded; the
/// last one to seven values of a wider one in four SSE2 lanes and then one by one, as
/// everywhere else: bit for bit [`tanh`]. (Sixteen lanes with AVX-512 measured slower: the
/// same network 65 against 116 ns.)
#[inline(always)]
pub fn tanh_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    let Some(values) =
        x86::in_place(values, avx2::tanh_in_place, sse2::fused::tanh_in_place, sse2::tanh_in_place)
    else {
        return;
    };
    for v in values {
        *v = tanh(*v);
    }
}

/// `v = 1 / (1 + e^(−v))` for every value, as [`tanh_in_place`]: within one unit in the last
/// place of [`crate::Real::sigmoid`] with AVX2 and FMA, bit for bit elsewhere.
#[inline(always)]
pub fn sigmoid_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    let Some(values) =
        x86::in_place(values, avx2::sigmoid_in_place, sse2::fused::sigmoid_in_place, sse2::sigmoid_in_place)
    else {
        return;
    };
    for v in values {
        *v = 1.0 / (1.0 + exp(-*v));
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use crate::gemm::has_avx2_fma;

    /// A kernel that maps each whole vector of its width in place and returns the rest.
    type Kernel = unsafe fn(&mut [f32]) -> &mut [f32];

    /// A kernel that maps every value in place.
    type Whole = unsafe fn(&mut [f32]);

    /// Fewer than eight values on a CPU with AVX2 and FMA: all of them in the fused
    /// four-lane kernel (`None` is returned). Otherwise the eight-lane kernel over whole
    /// vectors of eight where the CPU has it, then the SSE2 kernel over whole vectors of
    /// four; the last few values are returned for the scalar code. (The fused kernel for
    /// the rest of a wider layer too ran a 1 → 8 → 8 → 1 network at 54 ns against 41: with
    /// a call that may follow, the layer's outputs were reloaded from the stack.)
    #[inline(always)]
    pub(super) fn in_place(
        values: &mut [f32],
        avx2: Kernel,
        fused: Whole,
        sse2: Kernel,
    ) -> Option<&mut [f32]> {
        let values = if has_avx2_fma() {
            if values.len() < 8 {
                // SAFETY: the CPU supports AVX2 and FMA (detected above), the kernels' only
                // requirement.
                unsafe { fused(values) };
                return None;
            }
            // SAFETY: as above.
            unsafe { avx2(values) }
        } else {
            values
        };
        // SAFETY: SSE2 is part of every `x86_64` target.
        Some(unsafe { sse2(values) })
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values at the ends and in ulp counting are the claim
mod tests {
    use super::*;

    /// Units in the last place between `got` and the correctly rounded `exact`.
    fn ulps(got: f32, exact: f64) -> f64 {
        let rounded = exact as f32;
        if got == rounded {
            return 0.0;
        }
        let spacing = f64::from(f32::from_bits(rounded.abs().to_bits() + 1)) - f64::from(rounded.abs());
        (f64::from(got) - exact).abs() / spacing
    }

    /// Every 97th `f32` bit pattern in `[lo, hi]`.
    fn sweep(lo: f32, hi: f32) -> impl Iterator<Item = f32> {
        let (from, to) = (lo.to_bits(), hi.to_bits());
        let positive = (0..=u32::MAX).step_by(97).map(f32::from_bits).filter(move |v| v.is_finite());
        positive
            .filter(move |v| *v >= lo && *v <= hi)
            .chain(core::iter::once(f32::from_bits(from)))
            .chain(core::iter::once(f32::from_bits(to)))
    }

    #[test]
    fn exp_is_within_two_ulps_and_exact_at_the_ends() {
        let worst = sweep(-87.3, 88.3).map(|x| ulps(exp(x), f64::from(x).exp())).fold(0.0, f64::max);
        assert!(worst <= 2.0, "exp: {worst} ulps");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1000.0), 0.0);
        assert_eq!(exp(1000.0), f32::INFINITY);
        assert_eq!(exp(88.39), f32::INFINITY);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-88.0), 0.0);
        assert!(exp(f32::NAN).is_nan());
    }

    /// Values where each branch of the kernels changes: zeros, both ends of `exp`'s clamp,
    /// `tanh`'s switch at 0.625, infinities and NaN, then a sweep.
    fn edges_and_sweep() -> Vec<f32> {
        let edges = [0.0, -0.0, 0.625, 0.624_999_9, 44.4, 44.5, 88.8, 100.0, f32::INFINITY, f32::NAN, 1e-30];
        let edges = edges.into_iter().flat_map(|v| [v, -v]);
        edges.chain(sweep(-100.0, 100.0).step_by(13)).collect()
    }

    /// Every length from 0 to 40, so each kernel's whole vectors and its rest are covered:
    /// bit for bit the scalar function without FMA, within one unit in the last place of it
    /// with (fused multiply-adds round once where it rounds twice).
    fn every_length(values: &[f32], in_place: fn(&mut [f32]), scalar: fn(f32) -> f32, name: &str) {
        #[cfg(target_arch = "x86_64")]
        let allowed = if crate::gemm::has_avx2_fma() { 1.0 } else { 0.0 };
        #[cfg(not(target_arch = "x86_64"))]
        let allowed = 0.0;
        for len in 0..=40 {
            for chunk in values.chunks(len.max(1)).take(400) {
                let chunk = &chunk[..len.min(chunk.len())];
                let mut got = chunk.to_vec();
                in_place(&mut got);
                for (&x, &y) in chunk.iter().zip(&got) {
                    let want = scalar(x);
                    let same = y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan());
                    assert!(
                        same || (want.is_finite() && ulps(y, f64::from(want)) <= allowed),
                        "{name}({x}): {y} against {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn in_place_kernels_agree_with_the_scalar_functions() {
        let values = edges_and_sweep();
        every_length(&values, tanh_in_place, tanh, "tanh");
        every_length(&values, sigmoid_in_place, |x| 1.0 / (1.0 + exp(-x)), "sigmoid");
    }

    /// The in-place kernels as accurate as [`tanh`] itself, over the same sweep, in slices of
    /// five (the fused four-lane kernel and its padded rest) and of sixteen (eight lanes).
    #[test]
    fn in_place_tanh_is_within_two_ulps() {
        let values: Vec<f32> = sweep(-20.0, 20.0).filter(|x| x.abs() > 1e-30).collect();
        for len in [5, 16] {
            let mut got = values.clone();
            for chunk in got.chunks_mut(len) {
                tanh_in_place(chunk);
            }
            let worst =
                values.iter().zip(&got).map(|(&x, &y)| ulps(y, f64::from(x).tanh())).fold(0.0, f64::max);
            assert!(worst <= 2.0, "tanh_in_place in slices of {len}: {worst} ulps");
        }
    }

    #[test]
    fn tanh_is_within_two_ulps_and_odd() {
        let worst = sweep(-20.0, 20.0)
            .filter(|x| x.abs() > 1e-30)
            .map(|x| ulps(tanh(x), f64::from(x).tanh()))
            .fold(0.0, f64::max);
        assert!(worst <= 2.0, "tanh: {worst} ulps");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(100.0), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
        assert_eq!(tanh(-0.3), -tanh(0.3));
    }
}
