//! The code of an activation step: elementwise activations call `nn::activation`, softmax
//! its own module; both in place, buffer to buffer, backward, and on one stack sample.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::private;
use crate::model::Activation;

/// The runtime value of an elementwise activation:
/// `::nn::__private::activation::LeakyRelu { alpha: 0.2 }`.
pub(super) fn activation_value(activation: Activation) -> TokenStream {
    let private = private();
    let ty = format_ident!("{}", activation.kind.runtime_type());
    match activation.kind.parameter() {
        Some(parameter) => {
            let field = format_ident!("{}", parameter.field);
            let value = Literal::f64_suffixed(activation.parameter.unwrap_or(parameter.default));
            quote!(#private::activation::#ty { #field: #value })
        }
        None => quote!(#private::activation::#ty),
    }
}

/// `a = σ(z)`, buffer to buffer, for samples of `width` values.
pub(super) fn activation_forward(
    activation: Activation,
    z: &TokenStream,
    a: &TokenStream,
    width: &Literal,
) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = activation_value(activation);
        quote!(#private::activation::forward(&#value, #z, #a);)
    } else {
        quote!(#private::activation::softmax::forward(#z, #a, #width);)
    }
}

/// `values = σ(values)`.
pub(super) fn activation_in_place(
    activation: Activation,
    values: &TokenStream,
    width: &Literal,
) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = activation_value(activation);
        quote!(#private::activation::forward_in_place(&#value, #values);)
    } else {
        quote!(#private::activation::softmax::forward_in_place(#values, #width);)
    }
}

/// `∂L/∂z` from `∂L/∂a`, in place on the gradient.
pub(super) fn activation_backward_in_place(
    activation: Activation,
    z: &TokenStream,
    a: &TokenStream,
    gradient: &TokenStream,
    width: &Literal,
) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = activation_value(activation);
        quote!(#private::activation::backward_in_place(&#value, #z, #a, #gradient);)
    } else {
        quote!(#private::activation::softmax::backward_in_place(#a, #gradient, #width);)
    }
}

/// `∂L/∂z` from `∂L/∂a`, into the previous layer's gradient buffer.
pub(super) fn activation_backward(
    activation: Activation,
    (z, a): (&TokenStream, &TokenStream),
    (grad_output, grad_input): (&TokenStream, &TokenStream),
    width: &Literal,
) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = activation_value(activation);
        quote!(#private::activation::backward(&#value, #z, #a, #grad_output, #grad_input);)
    } else {
        quote!(#private::activation::softmax::backward(#a, #grad_output, #grad_input, #width);)
    }
}

/// `σ(x)` of one sample on the stack, as an expression.
pub(super) fn activation_one(activation: Activation, current: &TokenStream) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = activation_value(activation);
        quote!((#current).map(|__z| #private::Activation::<T>::f(&#value, __z)))
    } else {
        quote!(#private::activation::softmax::forward_one(#current))
    }
}
