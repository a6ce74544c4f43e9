//! `exp` and `tanh` for `f32` in a form the compiler vectorises: branch-free (Cephes'
//! `expf` polynomial, a rational `tanh`), so their loops become SIMD code, where the
//! platform's `expf` and `tanhf` are one call per value. Plain multiplies and adds, not
//! `mul_add`: without FMA in the target, `mul_add` is a call to a software `fmaf`. `exp` is
//! within 2 units in the last place of the correctly rounded value on every input, `tanh`
//! within 6.2 (measured in the tests below over a dense sweep, and over every `f32`). Reached
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

/// Inputs to [`tanh`] are clamped to `±TANH_CLAMP`, from where `tanh` rounds to `±1` in
/// `f32` (from `13·ln 2 ≈ 9.011`); the clamp also keeps `x⁸` from overflowing.
const TANH_CLAMP: f32 = 9.02;

/// The coefficients of `tanh(x) ≈ x·N(x²)/D(x²)` after the constant terms, both 1, highest
/// power first (Horner's order): `N(z) = 1 + n₁z + … + n₄z⁴`, `D(z) = 1 + d₁z + … + d₄z⁴`.
/// Fitted for least relative error over `[0, 9.02]` (within 0.6 units in the last place
/// there in exact arithmetic, with the coefficients rounded to `f32`); all positive, so
/// neither polynomial cancels.
const TANH_NUMERATOR: [f32; 4] = [1.338_432_3e-8, 2.063_584_5e-5, 3.497_459e-3, 1.338_268_8e-1];
const TANH_DENOMINATOR: [f32; 4] = [7.790_262e-7, 3.288_519_5e-4, 2.588_436_6e-2, 4.671_601e-1];

/// `tanh(x) ≈ x·N(x²)/D(x²)`, a [4/4] rational function in `x²`, on the input clamped to
/// `±9.02` and with the result clamped to `±1`: nine multiply-adds and one division,
/// branch-free; exactly `x` for tiny inputs (both polynomials end in `+ 1`),
/// exactly `±1` far out, odd, NaN kept. Within 6.2 units in the last place of the correctly
/// rounded value on every `f32` (5.4 with fused multiply-adds; measured over all of them,
/// the worst near `x = 7`, where each of the polynomials' roundings weighs a full unit);
/// Eigen's rational `tanh`, RTNeural's fastest backend, measured 6.6 here.
///
/// The form before, `1 − 2/(e^{2|x|} + 1)` with an odd polynomial below 0.625, is within 2
/// units, but costs about thirty-six vector instructions against these fifteen: a
/// 1 → 4 → 4 → 1 tanh network ran one sample in 26.4 against 15.2 ns.
#[inline(always)]
#[must_use]
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-TANH_CLAMP, TANH_CLAMP);
    let z = x * x;
    (x * one_plus(TANH_NUMERATOR, z) / one_plus(TANH_DENOMINATOR, z)).clamp(-1.0, 1.0)
}

/// `1 + c₁z + c₂z² + c₃z³ + c₄z⁴` by Horner's rule, the coefficients highest power first
/// (as [`TANH_NUMERATOR`] and [`TANH_DENOMINATOR`] store them).
#[inline(always)]
fn one_plus([c4, c3, c2, c1]: [f32; 4], z: f32) -> f32 {
    (((c4 * z + c3) * z + c2) * z + c1) * z + 1.0
}

/// `v = tanh(v)` for every value, whole vectors at a time: for the few values of a
/// one-sample layer, which a loop of [`tanh`] leaves to scalar code once it is unrolled.
///
/// On a CPU with AVX2 and FMA every multiply-add is fused: fewer instructions and roundings
/// than [`tanh`] (a 1 → 16 → 16 → 1 tanh network 65 → 54 ns on this machine's Xeon, with the
/// `tanh` of the time), within eight units in the last place of it and 6.2 of the exact
/// value (tests). Eight lanes, then for a layer of fewer than eight values four lanes, the
/// last few padded; the last one to seven values of a wider one in four SSE2 lanes and then
/// one by one, as everywhere else: bit for bit [`tanh`]. (Sixteen lanes with AVX-512
/// measured slower, with the earlier `tanh`: the same network 65 against 116 ns.)
#[inline(always)]
pub fn tanh_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    let Some(values) = x86::in_place(
        values,
        avx2::tanh_in_place,
        x86::by_length!(sse2::fused::tanh_in_place),
        sse2::tanh_in_place,
    ) else {
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
    let Some(values) = x86::in_place(
        values,
        avx2::sigmoid_in_place,
        x86::by_length!(sse2::fused::sigmoid_in_place),
        sse2::sigmoid_in_place,
    ) else {
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

    /// A fused four-lane kernel for one to seven values, [`by_length`]: each length compiled
    /// apart, so that the last one to three values are copied into the padding by loads of
    /// a known width. Compiled once for every length, the copies were calls (`memset`,
    /// `memcpy`), and W1's one-sample inference, its three hidden units through here, took
    /// 61.7 ns rather than 17.8 (default build, the 5th percentile of 3000 timings). That
    /// came with 7102619, whose batch path called the kernel with other lengths too, so that
    /// it was no longer compiled for three values alone. Copied value by value instead, 28.5:
    /// the compiler then loaded the second and third values together, across the producer's
    /// two stores, and the load waited for both.
    type Few = unsafe fn(&mut [f32]);

    /// The fused kernel `$kernel::<N>` for the length `N` of the values, one to seven: a
    /// one-sample layer's length is a constant where this is inlined, and only its call
    /// remains.
    macro_rules! by_length {
        ($($kernel:ident)::+) => {{
            /// # Safety
            ///
            /// The CPU supports AVX2 and FMA.
            ///
            /// # Panics
            ///
            /// With eight values or more (`in_place` passes fewer).
            #[inline(always)]
            unsafe fn few(values: &mut [f32]) {
                // SAFETY: the caller's promise, the kernels' only requirement.
                unsafe {
                    match values.len() {
                        0 => {}
                        1 => $($kernel)::+::<1>(values),
                        2 => $($kernel)::+::<2>(values),
                        3 => $($kernel)::+::<3>(values),
                        4 => $($kernel)::+::<4>(values),
                        5 => $($kernel)::+::<5>(values),
                        6 => $($kernel)::+::<6>(values),
                        7 => $($kernel)::+::<7>(values),
                        _ => unreachable!("the fused kernel takes fewer than eight values"),
                    }
                }
            }
            few
        }};
    }
    pub(super) use by_length;

    /// Fewer than eight values on a CPU with AVX2 and FMA: all of them in the fused
    /// four-lane kernel (`None` is returned). Otherwise the eight-lane kernel over whole
    /// vectors of eight where the CPU has it, then the SSE2 kernel over whole vectors of
    /// four; the last few values are returned for the scalar code. (The fused kernel for
    /// the rest of a wider layer too ran a 1 → 8 → 8 → 1 network at 54 ns against 41: with
    /// a call that may follow, the layer's outputs were reloaded from the stack.)
    #[inline(always)]
    pub(super) fn in_place(values: &mut [f32], avx2: Kernel, fused: Few, sse2: Kernel) -> Option<&mut [f32]> {
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

    /// Values where the kernels' clamps take over: zeros, both ends of `exp`'s clamp and of
    /// `tanh`'s, infinities and NaN, then a sweep.
    fn edges_and_sweep() -> Vec<f32> {
        let edges = [0.0, -0.0, 9.02, 9.019_999, 44.4, 44.5, 88.8, 100.0, f32::INFINITY, f32::NAN, 1e-30];
        let edges = edges.into_iter().flat_map(|v| [v, -v]);
        edges.chain(sweep(-100.0, 100.0).step_by(13)).collect()
    }

    /// Every length from 0 to 40, so each kernel's whole vectors and its rest are covered:
    /// bit for bit the scalar function without FMA; with it, within `fused` units in the last
    /// place of it (fused multiply-adds round once where it rounds twice).
    fn every_length(
        values: &[f32],
        in_place: fn(&mut [f32]),
        scalar: fn(f32) -> f32,
        fused: f64,
        name: &str,
    ) {
        #[cfg(target_arch = "x86_64")]
        let allowed = if crate::gemm::has_avx2_fma() { fused } else { 0.0 };
        #[cfg(not(target_arch = "x86_64"))]
        let allowed = {
            _ = fused;
            0.0
        };
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

    /// The logistic function's kernels within one unit of the scalar function with FMA (its
    /// `exp` sums from the smallest term). `tanh`'s within eight: the scalar function and the
    /// fused one are each within 6.2 units of the exact value, on either side (the most they
    /// differ by over every `f32`, measured, is 8).
    #[test]
    fn in_place_kernels_agree_with_the_scalar_functions() {
        let values = edges_and_sweep();
        every_length(&values, tanh_in_place, tanh, 8.0, "tanh");
        every_length(&values, sigmoid_in_place, |x| 1.0 / (1.0 + exp(-x)), 1.0, "sigmoid");
    }

    /// The in-place kernels as accurate as [`tanh`] itself, over the same sweep, in slices of
    /// five (the fused four-lane kernel and its padded rest) and of sixteen (eight lanes).
    #[test]
    fn in_place_tanh_is_within_six_ulps() {
        let values: Vec<f32> = sweep(-20.0, 20.0).filter(|x| x.abs() > 1e-30).collect();
        for len in [5, 16] {
            let mut got = values.clone();
            for chunk in got.chunks_mut(len) {
                tanh_in_place(chunk);
            }
            let worst =
                values.iter().zip(&got).map(|(&x, &y)| ulps(y, f64::from(x).tanh())).fold(0.0, f64::max);
            assert!(worst <= 6.2, "tanh_in_place in slices of {len}: {worst} ulps");
        }
    }

    #[test]
    fn tanh_is_within_six_ulps_odd_exact_near_zero_and_saturated_far_out() {
        let worst = sweep(-20.0, 20.0)
            .filter(|x| x.abs() > 1e-30)
            .map(|x| ulps(tanh(x), f64::from(x).tanh()))
            .fold(0.0, f64::max);
        assert!(worst <= 6.2, "tanh: {worst} ulps");
        for tiny in [1e-20, 1e-40, 2e-4] {
            assert_eq!(tanh(tiny), tiny);
            assert_eq!(tanh(-tiny), -tiny);
        }
        assert_eq!(tanh(0.0).to_bits(), 0.0_f32.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0_f32).to_bits());
        for far in [9.02, 9.1, 100.0, f32::MAX, f32::INFINITY] {
            assert_eq!(tanh(far), 1.0);
            assert_eq!(tanh(-far), -1.0);
        }
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!(tanh(-0.3), -tanh(0.3));
    }

    /// Every `f32` from 4 to 10, where the rational function comes within a few units of 1:
    /// none above it, in the scalar function and in the kernels.
    #[test]
    fn tanh_never_exceeds_one() {
        let values: Vec<f32> = (4.0_f32.to_bits()..=10.0_f32.to_bits()).map(f32::from_bits).collect();
        assert!(values.iter().all(|&x| tanh(x) <= 1.0));
        let mut lanes = values.clone();
        tanh_in_place(&mut lanes);
        assert!(lanes.iter().all(|&y| y <= 1.0));
    }
}
