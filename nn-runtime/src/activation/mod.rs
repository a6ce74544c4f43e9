//! Activation functions: each a small type with `f` and its derivative `df` side by side.
//!
//! A layer computes `a = σ(z)` elementwise. Backpropagation needs `σ'(z)`; [`Activation::df`]
//! receives both `z` and `a = σ(z)` so each function uses whichever is cheaper (sigmoid's
//! derivative is `a(1 − a)`, no second exponential).

use crate::Real;

pub mod softmax;

/// An elementwise activation function `a = σ(z)` with its derivative.
pub trait Activation<T: Real>: Copy {
    /// `σ(z)`.
    fn f(&self, z: T) -> T;

    /// `σ'(z)`, given `z` and `a = σ(z)`.
    fn df(&self, z: T, a: T) -> T;

    /// `σ(z)` for a value computed alone (a training pass's layer of one to three units, an
    /// inference layer of one), where waiting on one result matters more than filling vector
    /// lanes: the platform's `expf` and `tanhf` (table-driven) return sooner than
    /// [`Activation::f`]'s vectorisable polynomials. The same function to within the float
    /// type's accuracy; by default `f` itself.
    #[inline(always)]
    fn f_alone(&self, z: T) -> T {
        self.f(z)
    }

    /// `v = σ(v)` for every value of a one-sample layer, each as [`Activation::f`]; sigmoid and
    /// tanh fill vector lanes explicitly ([`Real::tanh_in_place`]).
    #[inline(always)]
    fn f_in_place(&self, values: &mut [T]) {
        for v in values {
            *v = self.f(*v);
        }
    }

    /// Whether [`Activation::f_in_place`] fills vector lanes explicitly, so that a batch's
    /// values are better mapped by it than by a loop of [`Activation::f`] (see [`forward`]).
    const EXPLICIT_LANES: bool = false;
}

/// `σ(z) = z`, `σ'(z) = 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Identity;

impl<T: Real> Activation<T> for Identity {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z
    }

    #[inline(always)]
    fn df(&self, _z: T, _a: T) -> T {
        T::one()
    }
}

/// The logistic function `σ(z) = 1 / (1 + e^(−z))`, `σ'(z) = σ(z)(1 − σ(z))`.
///
/// Branch-free (so it vectorises: [`Real::sigmoid`], a polynomial `exp` in `f32`) and still
/// exact at the extremes: for `z → −∞`, `e^(−z)` overflows to `+∞` and `1/(1 + ∞) = 0`; for
/// `z → +∞` it is `1/(1 + 0) = 1`.
///
/// # Example
///
/// ```
/// use nn_runtime::activation::{Activation, Sigmoid};
/// assert_eq!(Sigmoid.f(0.0_f64), 0.5);
/// assert_eq!(Sigmoid.df(0.0_f64, 0.5), 0.25);
/// assert_eq!(Sigmoid.f(-1000.0_f32), 0.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

impl<T: Real> Activation<T> for Sigmoid {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z.sigmoid()
    }

    #[inline(always)]
    fn f_alone(&self, z: T) -> T {
        T::one() / (T::one() + (-z).exp())
    }

    #[inline(always)]
    fn f_in_place(&self, values: &mut [T]) {
        T::sigmoid_in_place(values);
    }

    const EXPLICIT_LANES: bool = true;

    #[inline(always)]
    fn df(&self, _z: T, a: T) -> T {
        a * (T::one() - a)
    }
}

/// `σ(z) = tanh(z)`, `σ'(z) = 1 − tanh²(z)`; vectorisable ([`Real::tanh_vectorised`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

impl<T: Real> Activation<T> for Tanh {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z.tanh_vectorised()
    }

    #[inline(always)]
    fn f_alone(&self, z: T) -> T {
        z.tanh()
    }

    #[inline(always)]
    fn f_in_place(&self, values: &mut [T]) {
        T::tanh_in_place(values);
    }

    const EXPLICIT_LANES: bool = true;

    #[inline(always)]
    fn df(&self, _z: T, a: T) -> T {
        T::one() - a * a
    }
}

/// The rectified linear unit `σ(z) = max(0, z)`, `σ'(z) = 1` for `z > 0`, else `0`.
///
/// At `z = 0` the derivative is taken as `0`, as PyTorch does. Both are branch-free
/// ([`Real::maximum`], [`Real::positive_indicator`]): a branch on the sign of random
/// pre-activations mispredicts half the time, which made a 64→32 layer 2.5 times slower.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl<T: Real> Activation<T> for Relu {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z.maximum(T::zero())
    }

    #[inline(always)]
    fn df(&self, z: T, _a: T) -> T {
        z.positive_indicator()
    }
}

/// Leaky ReLU, `σ(z) = z` for `z > 0`, else `α·z`; `σ'(z) = 1` for `z > 0`, else `α`.
///
/// PyTorch's default slope is `α = 0.01`; at `z = 0` the derivative is `α`, as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The slope `α` for negative inputs.
    pub alpha: f64,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        Self { alpha: 0.01 }
    }
}

impl<T: Real> Activation<T> for LeakyRelu {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z * self.df(z, z)
    }

    /// Branch-free: `α + (1 − α)·[z > 0]`.
    #[inline(always)]
    fn df(&self, z: T, _a: T) -> T {
        let alpha = T::from_float(self.alpha);
        alpha + (T::one() - alpha) * z.positive_indicator()
    }
}

/// The exponential linear unit, `σ(z) = z` for `z > 0`, else `α(eᶻ − 1)`;
/// `σ'(z) = 1` for `z > 0`, else `α·eᶻ = a + α`. PyTorch's default is `α = 1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu {
    /// The scale `α` of the negative part.
    pub alpha: f64,
}

impl Default for Elu {
    fn default() -> Self {
        Self { alpha: 1.0 }
    }
}

impl<T: Real> Activation<T> for Elu {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        if z > T::zero() { z } else { T::from_float(self.alpha) * (z.exp() - T::one()) }
    }

    #[inline(always)]
    fn df(&self, z: T, a: T) -> T {
        if z > T::zero() { T::one() } else { a + T::from_float(self.alpha) }
    }
}

/// The Gaussian error linear unit, exact form (PyTorch's default `approximate='none'`):
/// `σ(z) = z·Φ(z) = z/2·(1 + erf(z/√2))`, `σ'(z) = Φ(z) + z·φ(z)` with
/// `φ(z) = e^(−z²/2)/√(2π)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu;

impl<T: Real> Activation<T> for Gelu {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        let x = z.to_f64();
        T::from_float(0.5 * x * (1.0 + libm::erf(x * core::f64::consts::FRAC_1_SQRT_2)))
    }

    #[inline(always)]
    fn df(&self, z: T, _a: T) -> T {
        let x = z.to_f64();
        let cdf = 0.5 * (1.0 + libm::erf(x * core::f64::consts::FRAC_1_SQRT_2));
        let pdf = libm::exp(-0.5 * x * x) / libm::sqrt(2.0 * core::f64::consts::PI);
        T::from_float(cdf + x * pdf)
    }
}

/// GELU, tanh approximation (PyTorch's `approximate='tanh'`):
/// `σ(z) = z/2·(1 + tanh(u))`, `u = √(2/π)(z + 0.044715 z³)`;
/// `σ'(z) = (1 + tanh u)/2 + z/2·(1 − tanh² u)·√(2/π)(1 + 3·0.044715 z²)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GeluTanh;

impl GeluTanh {
    const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
    const CUBIC: f64 = 0.044_715;
}

impl<T: Real> Activation<T> for GeluTanh {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        let (k, c, half) =
            (T::from_float(Self::SQRT_2_OVER_PI), T::from_float(Self::CUBIC), T::from_float(0.5));
        half * z * (T::one() + (k * (z + c * z * z * z)).tanh())
    }

    #[inline(always)]
    fn df(&self, z: T, _a: T) -> T {
        let (k, c, half) =
            (T::from_float(Self::SQRT_2_OVER_PI), T::from_float(Self::CUBIC), T::from_float(0.5));
        let t = (k * (z + c * z * z * z)).tanh();
        let three = T::from_float(3.0);
        half * (T::one() + t) + half * z * (T::one() - t * t) * k * (T::one() + three * c * z * z)
    }
}

/// Softplus, `σ(z) = ln(1 + e^(βz))/β`, `σ'(z) = 1/(1 + e^(−βz))`, PyTorch's defaults
/// `β = 1` and threshold 20: above `βz > 20` it is the identity (to float precision), as in
/// PyTorch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus {
    /// The sharpness `β`.
    pub beta: f64,
}

impl Default for Softplus {
    fn default() -> Self {
        Self { beta: 1.0 }
    }
}

impl Softplus {
    const THRESHOLD: f64 = 20.0;
}

impl<T: Real> Activation<T> for Softplus {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        let beta = T::from_float(self.beta);
        let x = beta * z;
        if x > T::from_float(Self::THRESHOLD) { z } else { (T::one() + x.exp()).ln() / beta }
    }

    #[inline(always)]
    fn df(&self, z: T, _a: T) -> T {
        let x = T::from_float(self.beta) * z;
        if x > T::from_float(Self::THRESHOLD) { T::one() } else { Sigmoid.f(x) }
    }
}

/// SiLU, also called swish: `σ(z) = z·s(z)` with the logistic `s`,
/// `σ'(z) = s(z)·(1 + z(1 − s(z)))`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Silu;

impl<T: Real> Activation<T> for Silu {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z * Sigmoid.f(z)
    }

    #[inline(always)]
    fn df(&self, z: T, _a: T) -> T {
        let s = Sigmoid.f(z);
        s * (T::one() + z * (T::one() - s))
    }
}

/// The Heaviside step, `σ(z) = 0` for `z < 0`, `1/2` at `0`, `1` for `z > 0` (seed 001's
/// convention). Its derivative is 0 wherever it exists, so **no gradient flows through
/// it**: layers before a step unit never learn by gradient descent, which is why the seeds
/// say it "makes training very hard". Here `σ'(z) = 0` everywhere (also at 0, where it does
/// not exist), so training with it is well defined: layers after it train normally and
/// layers before it keep their parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Heaviside;

impl<T: Real> Activation<T> for Heaviside {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        if z > T::zero() {
            T::one()
        } else if z < T::zero() {
            T::zero()
        } else {
            T::from_float(0.5)
        }
    }

    #[inline(always)]
    fn df(&self, _z: T, _a: T) -> T {
        T::zero()
    }
}

/// The sign function, `σ(z) = −1, 0, 1` for `z < 0`, `z = 0`, `z > 0`. Like [`Heaviside`] it
/// has zero derivative wherever it has one, so no gradient flows through it; `σ'(z) = 0`
/// everywhere.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sign;

impl<T: Real> Activation<T> for Sign {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        if z > T::zero() {
            T::one()
        } else if z < T::zero() {
            -T::one()
        } else {
            T::zero()
        }
    }

    #[inline(always)]
    fn df(&self, _z: T, _a: T) -> T {
        T::zero()
    }
}

/// Values of a batch from which sigmoid and tanh map them with [`Activation::f_in_place`]'s
/// kernels, which end a slice in four lanes, rather than by a loop of [`Activation::f`]: from
/// one where the target has AVX2, whose loops, vectorised eight or sixteen lanes wide, left up
/// to fifteen values to scalar code (built native, W1's training step at four samples 132 →
/// 109 ns, a 4 → 8 → 2 sigmoid network's at sixteen 297 → 258); from sixteen elsewhere, where
/// the kernels are calls chosen at run time, which cost more than they save on a few values
/// (W1 at four samples, 12 and 4 values a layer, 104 → 108 ns through them) and save much
/// from there (W1's inference at 256 samples 1.82 → 0.80 µs, the 4 → 8 → 2 network 517 →
/// 372 ns, RTNeural's W = 16 shape at 32 samples 4.80 → 4.08 µs).
const KERNELS_FROM: usize = if cfg!(target_feature = "avx2") { 1 } else { 16 };

/// Values of a batch up to which [`forward`], below [`KERNELS_FROM`], maps each on its own
/// with [`Activation::f_alone`]: no more than one vector holds, so nothing runs beside the
/// polynomial's chain of dependent operations (about 85 cycles for sigmoid without FMA),
/// and the platform's table-driven `expf`, value by value, returns sooner. A training step
/// waits on that chain: W1's at four samples, whose output layer has four values (the
/// default build), 103.6–105.9 → 94.7–95.2 ns; its hidden layer's twelve values stay in
/// lanes (all through `f_alone`, 112.4 ns). Inference keeps the lanes
/// ([`forward_in_place`]): successive calls overlap there, and W1's at four samples went
/// 51.4 → 61.4 ns this way.
const ALONE_UP_TO: usize = 4;

/// Applies `a = σ(z)` elementwise (over the shorter of the two).
#[inline(always)]
pub fn forward<T: Real, A: Activation<T>>(activation: &A, z: &[T], a: &mut [T]) {
    if A::EXPLICIT_LANES && z.len() >= KERNELS_FROM {
        let n = z.len().min(a.len());
        a[..n].copy_from_slice(&z[..n]);
        activation.f_in_place(&mut a[..n]);
        return;
    }
    if z.len() <= ALONE_UP_TO {
        for (a, &z) in a.iter_mut().zip(z) {
            *a = activation.f_alone(z);
        }
        return;
    }
    // Four values at a time, which the compiler puts in four lanes: a plain loop here, where
    // the length is known to be below `KERNELS_FROM`, it left scalar (LLVM's vectoriser skips
    // loops of fewer than sixteen iterations; W1's step at four samples 104 → 164 ns).
    let (a4, z4) = (a.as_chunks_mut::<4>().0, z.as_chunks::<4>().0);
    let done = 4 * a4.len().min(z4.len());
    for (a, z) in a4.iter_mut().zip(z4) {
        for i in 0..4 {
            a[i] = activation.f(z[i]);
        }
    }
    for (a, &z) in a[done..].iter_mut().zip(&z[done..]) {
        *a = activation.f(z);
    }
}

/// Applies `σ` in place.
#[inline(always)]
pub fn forward_in_place<T: Real, A: Activation<T>>(activation: &A, values: &mut [T]) {
    if A::EXPLICIT_LANES && values.len() >= KERNELS_FROM {
        activation.f_in_place(values);
        return;
    }
    // Four at a time, as in `forward`.
    let (fours, rest) = values.as_chunks_mut::<4>();
    for four in fours {
        for v in four {
            *v = activation.f(*v);
        }
    }
    for v in rest {
        *v = activation.f(*v);
    }
}

/// Backpropagates through `a = σ(z)`: `∂L/∂z = ∂L/∂a ⊙ σ'(z)`, in place on the gradient.
#[inline]
pub fn backward_in_place<T: Real, A: Activation<T>>(activation: &A, z: &[T], a: &[T], gradient: &mut [T]) {
    for ((g, &z), &a) in gradient.iter_mut().zip(z).zip(a) {
        *g *= activation.df(z, a);
    }
}

/// Backpropagates through `a = σ(z)` into a separate buffer: `∂L/∂z = ∂L/∂a ⊙ σ'(z)`.
#[inline]
pub fn backward<T: Real, A: Activation<T>>(
    activation: &A,
    z: &[T],
    a: &[T],
    grad_output: &[T],
    grad_input: &mut [T],
) {
    for (((gi, &go), &z), &a) in grad_input.iter_mut().zip(grad_output).zip(z).zip(a) {
        *gi = go * activation.df(z, a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `σ` of a batch, through [`forward`] and [`forward_in_place`], on every length from 0
    /// to 40 (below and past [`KERNELS_FROM`], in whole fours and not): every value is mapped,
    /// each within `ulps` of the definition `f64` computes, and nothing past them.
    fn batch_matches<A: Activation<f32>>(activation: &A, exact: impl Fn(f64) -> f64, ulps: f64) {
        for len in 0..=40 {
            let z: Vec<f32> = (0..len).map(|i| (i as f32 - 17.5) * 0.61).collect();
            let mut a = vec![f32::NAN; len];
            forward(activation, &z, &mut a);
            let mut in_place = z.clone();
            forward_in_place(activation, &mut in_place);
            // Into a longer buffer: the same values, the rest untouched.
            let mut longer = vec![f32::NAN; len + 3];
            forward(activation, &z, &mut longer);
            assert!(longer[..len].iter().zip(&a).all(|(l, a)| l.to_bits() == a.to_bits()));
            assert!(longer[len..].iter().all(|v| v.is_nan()), "{len} values: wrote past them");
            for (i, ((&z, &a), &v)) in z.iter().zip(&a).zip(&in_place).enumerate() {
                let want = exact(f64::from(z));
                let tolerance = ulps * f64::from(f32::EPSILON) * want.abs();
                assert!(
                    (f64::from(a) - want).abs() <= tolerance,
                    "forward, {len} values: [{i}] = {a}, want {want}"
                );
                assert!(
                    (f64::from(v) - want).abs() <= tolerance,
                    "in place, {len} values: [{i}] = {v}, want {want}"
                );
            }
        }
    }

    #[test]
    fn batches_of_every_length_map_every_value() {
        batch_matches(&Sigmoid, |z| 1.0 / (1.0 + (-z).exp()), 4.0);
        batch_matches(&Tanh, f64::tanh, 8.0);
        batch_matches(&Relu, |z| z.max(0.0), 0.0);
    }
}
