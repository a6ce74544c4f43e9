//! Activation functions: each a small type with `f` and its derivative `df` side by side.
//!
//! A layer computes `a = σ(z)` elementwise. Backpropagation needs `σ'(z)`; [`Activation::df`]
//! receives both `z` and `a = σ(z)` so each function uses whichever is cheaper (sigmoid's
//! derivative is `a(1 − a)`, no second exponential).

use crate::Real;

/// An elementwise activation function `a = σ(z)` with its derivative.
pub trait Activation<T: Real>: Copy {
    /// `σ(z)`.
    fn f(&self, z: T) -> T;

    /// `σ'(z)`, given `z` and `a = σ(z)`.
    fn df(&self, z: T, a: T) -> T;
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
/// Evaluated without overflow: for `z < 0` as `e^z / (1 + e^z)`.
///
/// # Example
///
/// ```
/// use nn_runtime::activation::{Activation, Sigmoid};
/// assert_eq!(Sigmoid.f(0.0_f64), 0.5);
/// assert_eq!(Sigmoid.df(0.0_f64, 0.5), 0.25);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

impl<T: Real> Activation<T> for Sigmoid {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        if z >= T::zero() {
            T::one() / (T::one() + (-z).exp())
        } else {
            let e = z.exp();
            e / (T::one() + e)
        }
    }

    #[inline(always)]
    fn df(&self, _z: T, a: T) -> T {
        a * (T::one() - a)
    }
}

/// `σ(z) = tanh(z)`, `σ'(z) = 1 − tanh²(z)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

impl<T: Real> Activation<T> for Tanh {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z.tanh()
    }

    #[inline(always)]
    fn df(&self, _z: T, a: T) -> T {
        T::one() - a * a
    }
}

/// The rectified linear unit `σ(z) = max(0, z)`, `σ'(z) = 1` for `z > 0`, else `0`.
///
/// At `z = 0` the derivative is taken as `0`, as PyTorch does.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl<T: Real> Activation<T> for Relu {
    #[inline(always)]
    fn f(&self, z: T) -> T {
        if z > T::zero() { z } else { T::zero() }
    }

    #[inline(always)]
    fn df(&self, z: T, _a: T) -> T {
        if z > T::zero() { T::one() } else { T::zero() }
    }
}

/// Applies `a = σ(z)` elementwise.
#[inline]
pub fn forward<T: Real, A: Activation<T>>(activation: &A, z: &[T], a: &mut [T]) {
    for (a, &z) in a.iter_mut().zip(z) {
        *a = activation.f(z);
    }
}

/// Applies `σ` in place.
#[inline]
pub fn forward_in_place<T: Real, A: Activation<T>>(activation: &A, values: &mut [T]) {
    for v in values {
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
