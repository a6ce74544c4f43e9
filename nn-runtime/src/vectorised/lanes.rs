//! [`exp`](super::exp), [`tanh`](super::tanh) and the logistic function on a vector of
//! lanes, written once for every instruction set.
//!
//! A one-sample layer of four to sixteen units is unrolled whole with its sizes known, and
//! LLVM then compiles the scalar functions' branch-free bodies value by value (a 1 → 8 → 8
//! → 1 tanh network spent three quarters of its 80 ns in scalar `vmulss`/`vsubss`). The
//! kernels here do the same operations, in the same order and with the same constants, on
//! a whole vector. Each multiply-add is the module's `mul_add` (and `c − a·b` its
//! `negated_mul_add`): two instructions and two roundings in SSE2, so every lane is bit for
//! bit the scalar function's result; one fused instruction where the CPU has FMA, within
//! one unit in the last place of it and as accurate.
//!
//! [`lane_kernels!`] writes the three kernels in a module that has brought into scope a
//! vector type `V` and the operations `splat`, `add`, `sub`, `mul`, `mul_add`,
//! `negated_mul_add`, `div`, `min`, `max`, `xor`, `scale_by_exponent(y, shifted)` (`y·2ⁿ`,
//! with `n` in the low mantissa bits of `shifted`), `clamp_magnitude(x, bound)` (`x` clamped
//! to `[−bound, bound]`) and `keep_nan(result, x)` (`x` where it is NaN, else `result`: the
//! identity where `clamp_magnitude` keeps NaN itself), each a thin wrapper over one or two
//! instructions, and the attribute its functions carry.

/// The immediate of `vrangeps` for [`lane_kernels!`]'s `clamp_magnitude`: bits 1–0 `10`,
/// the operand of smaller magnitude; bits 3–2 `00`, with the first operand's sign.
#[cfg(all(target_feature = "avx512dq", target_feature = "avx512vl"))]
pub(super) const SMALLER_MAGNITUDE: i32 = 0b0010;

/// Writes `clamp_magnitude` and `keep_nan` for a module with AVX2 and FMA, over its vector
/// type `V` and its `splat`, `min` and `max`, given the width's `vrangeps`, compare-to-mask
/// and masked-move intrinsics.
///
/// `clamp_magnitude(x, bound)` is `x` clamped to `[−bound, bound]`. Where the target has
/// AVX-512DQ and VL built in (`-C target-cpu=native` on such a CPU) it is one `vrangeps`
/// (the smaller magnitude, with `x`'s sign): half the latency of `min` after `max`, which a
/// tiny network's `tanh` waits on twice (one sample through 1 → 16 → 16 → 1 tanh 36.6 →
/// 34.9 ns). That form turns NaN into `bound`, which `keep_nan(result, x)` undoes with a
/// masked move of `x` where it is NaN; without those features `max` then `min`, each with
/// the value second, keep NaN, and `keep_nan` is the identity.
macro_rules! range_clamps {
    (range: $range:ident, compare: $compare:ident, masked_move: $masked_move:ident $(,)?) => {
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        fn clamp_magnitude(x: V, bound: f32) -> V {
            #[cfg(all(target_feature = "avx512dq", target_feature = "avx512vl"))]
            {
                use $crate::vectorised::lanes::SMALLER_MAGNITUDE;
                // SAFETY: the target has AVX-512DQ and VL built in (the `cfg` above).
                unsafe { core::arch::x86_64::$range::<SMALLER_MAGNITUDE>(x, splat(bound)) }
            }
            #[cfg(not(all(target_feature = "avx512dq", target_feature = "avx512vl")))]
            {
                min(splat(bound), max(splat(-bound), x))
            }
        }

        #[target_feature(enable = "avx2,fma")]
        #[inline]
        fn keep_nan(result: V, x: V) -> V {
            #[cfg(all(target_feature = "avx512dq", target_feature = "avx512vl"))]
            {
                use core::arch::x86_64::{_CMP_UNORD_Q, $compare, $masked_move};
                // SAFETY: the target has AVX-512VL built in (the `cfg` above).
                unsafe { $masked_move(result, $compare::<_CMP_UNORD_Q>(x, x), x) }
            }
            #[cfg(not(all(target_feature = "avx512dq", target_feature = "avx512vl")))]
            {
                _ = x;
                result
            }
        }
    };
}

pub(super) use range_clamps;

/// Writes `exp`, `tanh` and `sigmoid` over the module's vector type `V`, each with the
/// attributes given.
macro_rules! lane_kernels {
    ($(#[$attribute:meta])*) => {
        /// [`super::exp`] on every lane. `max` then `min`, each with the value second, keep
        /// a NaN (the instructions return their second operand when either is NaN), as
        /// `clamp` does.
        $(#[$attribute])*
        fn exp(x: V) -> V {
            use $crate::vectorised::{EXP_CEILING, EXP_FLOOR, SHIFTER};
            let clamped = min(splat(EXP_CEILING), max(splat(EXP_FLOOR), x));
            let shifted = mul_add(clamped, splat(core::f32::consts::LOG2_E), splat(SHIFTER));
            let n = sub(shifted, splat(SHIFTER));
            let r = negated_mul_add(n, splat(-2.121_944_4e-4), negated_mul_add(n, splat(0.693_359_4), clamped));
            let r2 = mul(r, r);
            let low = mul_add(splat(1.666_666_5e-1), r, splat(5e-1));
            let middle = mul_add(splat(8.333_452e-3), r, splat(4.166_579_6e-2));
            let high = mul_add(splat(1.987_569_2e-4), r, splat(1.398_199_9e-3));
            let p = mul_add(mul_add(high, r2, middle), r2, low);
            let y = add(mul_add(p, r2, r), splat(1.0));
            scale_by_exponent(y, shifted)
        }

        /// [`super::tanh`] on every lane, NaN kept.
        $(#[$attribute])*
        fn tanh(x: V) -> V {
            use $crate::vectorised::{TANH_CLAMP, TANH_DENOMINATOR, TANH_NUMERATOR};
            let clamped = clamp_magnitude(x, TANH_CLAMP);
            let z = mul(clamped, clamped);
            let tanh = div(mul(clamped, one_plus(TANH_NUMERATOR, z)), one_plus(TANH_DENOMINATOR, z));
            keep_nan(clamp_magnitude(tanh, 1.0), x)
        }

        /// [`super::one_plus`] on every lane.
        $(#[$attribute])*
        fn one_plus([c4, c3, c2, c1]: [f32; 4], z: V) -> V {
            let p = mul_add(mul_add(mul_add(z, splat(c4), splat(c3)), z, splat(c2)), z, splat(c1));
            mul_add(p, z, splat(1.0))
        }

        /// [`crate::Real::sigmoid`] on every lane: `1 / (1 + e^(−x))`.
        $(#[$attribute])*
        fn sigmoid(x: V) -> V {
            div(splat(1.0), add(splat(1.0), exp(xor(x, splat(-0.0)))))
        }
    };
}

pub(super) use lane_kernels;
