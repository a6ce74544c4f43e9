//! The sum of values of one shape: `add(a, b)` and residual connections `x + f(x)`.
//!
//! ```text
//! forward:   a = x₁ + x₂ + …
//! backward:  ∂L/∂xᵢ = ∂L/∂a
//! ```

use crate::Real;

/// `output = Σᵢ inputs[i]`, elementwise.
#[inline]
pub fn forward<T: Real>(inputs: &[&[T]], output: &mut [T]) {
    let Some((first, rest)) = inputs.split_first() else {
        output.fill(T::zero());
        return;
    };
    output.copy_from_slice(first);
    for input in rest {
        for (o, &x) in output.iter_mut().zip(*input) {
            *o += x;
        }
    }
}

/// `∂L/∂xᵢ = ∂L/∂a`.
#[inline]
pub fn backward<T: Real>(grad_output: &[T], grad_input: &mut [T]) {
    grad_input.copy_from_slice(grad_output);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // sums of small integers and copies are exact: equality is the claim
    fn sums_elementwise_and_passes_the_gradient_to_each_input() {
        let mut output = [0.0; 3];
        forward::<f64>(&[&[1.0, 2.0, 3.0], &[0.5, -2.0, 1.0], &[1.0, 1.0, 1.0]], &mut output);
        assert_eq!(output, [2.5, 1.0, 5.0]);
        let mut grad = [0.0; 3];
        backward(&[0.1, 0.2, 0.3], &mut grad);
        assert_eq!(grad, [0.1, 0.2, 0.3]);
    }
}
