//! An activation as a layer of its own (`relu`, `leaky_relu(0.2)`), and the code of an
//! activation step that `dense` fuses too: elementwise activations call
//! `nn::activation`, softmax its own module; buffer to buffer, in place, backward, and on
//! one stack sample.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use super::{Built, Kind, Layer, Outcome, PreActivation, Site, literal};
use crate::catalog::ActivationKind;
use crate::check::Context;
use crate::errors::Errors;
use crate::model::Shape;
use crate::parse::{Entry, Number, parse_numbers};
use crate::suggest;

pub const KIND: Kind = Kind { names: || ActivationKind::names().collect(), build, block: false };

/// An activation with its parameter resolved (`leaky_relu(0.2)`: slope 0.2).
#[derive(Clone, Copy)]
pub struct Activation {
    pub kind: ActivationKind,
    pub parameter: Option<f64>,
}

impl Activation {
    pub const IDENTITY: Self = Self { kind: ActivationKind::Identity, parameter: None };

    /// As a declaration writes it: `relu`, `leaky_relu(0.2)`.
    pub fn describe(self) -> String {
        match self.parameter {
            Some(value) => format!("{}({value})", self.kind.name()),
            None => self.kind.name().to_owned(),
        }
    }
}

/// `a = σ(x)` on every value of the input.
struct ActivationLayer {
    activation: Activation,
    shape: Shape,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let arguments = match entry.parse_arguments(parse_numbers) {
        None => Vec::new(),
        Some(Ok(numbers)) => numbers,
        Some(Err(error)) => {
            context.errors().push(error);
            return Outcome::Failed { output: None };
        }
    };
    let activation = resolve(context.errors(), &entry.kind, &arguments);
    let source = context.source(entry);
    match (activation, source) {
        (Some(activation), Some(source)) => Outcome::Layer(Built {
            layer: Box::new(ActivationLayer { activation, shape: source.shape }),
            inputs: vec![source.value],
            span: entry.kind.span(),
        }),
        _ => Outcome::Failed { output: None },
    }
}

/// Resolves an activation name and checks its parameter.
pub fn resolve(errors: &mut Errors, name: &Ident, arguments: &[Number]) -> Option<Activation> {
    let text = name.to_string();
    let Some(kind) = ActivationKind::from_name(&text) else {
        let hint = suggest::hint(&text, ActivationKind::names());
        errors.at(name, format!("unknown activation `{text}`; {hint}"));
        return None;
    };
    match (kind.parameter(), arguments) {
        (_, []) => Some(Activation { kind, parameter: None }),
        (None, [first, ..]) => {
            errors.at_span(first.span, format!("`{text}` takes no arguments"));
            None
        }
        (Some(parameter), [number]) => {
            let valid = number.value.is_finite() && (!parameter.positive || number.value > 0.0);
            if valid {
                Some(Activation { kind, parameter: Some(number.value) })
            } else {
                let needs = if parameter.positive { "a finite number above 0" } else { "a finite number" };
                let message =
                    format!("the {} of `{text}` must be {needs}, found {}", parameter.name, number.text);
                errors.at_span(number.span, message);
                None
            }
        }
        (Some(parameter), [_, extra, ..]) => {
            let message = format!(
                "`{text}` takes one argument, its {} (default {:?}): `{text}({:?})`",
                parameter.name, parameter.default, parameter.default
            );
            errors.at_span(extra.span, message);
            None
        }
    }
}

impl Layer for ActivationLayer {
    fn describe(&self) -> String {
        self.activation.describe()
    }

    fn output(&self) -> Shape {
        self.shape.clone()
    }

    fn pre_activation(&self) -> PreActivation {
        PreActivation::Input
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        self.one(&site.inputs[0])
    }

    /// One step of a sequence: the same on the step's values.
    fn stream(&self, site: &Site) -> Option<TokenStream> {
        Some(self.one(&site.inputs[0]))
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let output = site.output();
        forward(self.activation, &site.inputs[0], &quote!(&mut __workspace.#output), &self.width())
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        self.infer(site)
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let Some(grad_input) = &site.input_gradients[0] else {
            return TokenStream::new();
        };
        let (output, gradient) = (site.output(), site.output_gradient());
        backward(
            self.activation,
            (&site.inputs[0], &quote!(&__workspace.#output)),
            (&quote!(&__workspace.#gradient), &quote!(&mut __workspace.#grad_input)),
            &self.width(),
        )
    }
}

impl ActivationLayer {
    /// Values softmax normalises over: the last axis (each step of a sequence, a whole
    /// vector), as `softmax(x, dim=-1)`.
    fn width(&self) -> Literal {
        literal(self.shape.0.last().copied().unwrap_or(1))
    }

    /// The activation on one stack value: elementwise, or softmax over each group of
    /// [`ActivationLayer::width`] values.
    fn one(&self, x: &TokenStream) -> TokenStream {
        if self.activation.kind.is_elementwise() || self.shape.0.len() == 1 {
            return one(self.activation, x);
        }
        let (private, width) = (private(), self.width());
        quote! {{
            let mut __a = *(#x);
            #private::activation::softmax::forward_in_place(__a.as_mut_slice(), #width);
            __a
        }}
    }
}

fn private() -> TokenStream {
    quote!(::nn::__private)
}

/// The runtime value of an elementwise activation:
/// `::nn::__private::activation::LeakyRelu { alpha: 0.2 }`.
pub fn value(activation: Activation) -> TokenStream {
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
pub fn forward(activation: Activation, z: &TokenStream, a: &TokenStream, width: &Literal) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = value(activation);
        quote!(#private::activation::forward(&#value, #z, #a);)
    } else {
        quote!(#private::activation::softmax::forward(#z, #a, #width);)
    }
}

/// `values = σ(values)`.
pub fn in_place(activation: Activation, values: &TokenStream, width: &Literal) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = value(activation);
        quote!(#private::activation::forward_in_place(&#value, #values);)
    } else {
        quote!(#private::activation::softmax::forward_in_place(#values, #width);)
    }
}

/// `∂L/∂z` from `∂L/∂a`, in place on the gradient.
pub fn backward_in_place(
    activation: Activation,
    z: &TokenStream,
    a: &TokenStream,
    gradient: &TokenStream,
    width: &Literal,
) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = value(activation);
        quote!(#private::activation::backward_in_place(&#value, #z, #a, #gradient);)
    } else {
        quote!(#private::activation::softmax::backward_in_place(#a, #gradient, #width);)
    }
}

/// `∂L/∂z` from `∂L/∂a`, into the previous layer's gradient buffer.
pub fn backward(
    activation: Activation,
    (z, a): (&TokenStream, &TokenStream),
    (grad_output, grad_input): (&TokenStream, &TokenStream),
    width: &Literal,
) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = value(activation);
        quote!(#private::activation::backward(&#value, #z, #a, #grad_output, #grad_input);)
    } else {
        quote!(#private::activation::softmax::backward(#a, #grad_output, #grad_input, #width);)
    }
}

/// `σ(x)` of one sample on the stack, as an expression.
pub fn one(activation: Activation, current: &TokenStream) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = value(activation);
        quote!((#current).map(|__z| #private::Activation::<T>::f(&#value, __z)))
    } else {
        quote!(#private::activation::softmax::forward_one(#current))
    }
}

/// An activation a layer applies to its own result `z` (`batch_norm(6, relu)`,
/// `layer_norm(6, gelu)`, a spectrally normalised `dense`): the layer writes `z` into its
/// `z` buffer when there is an activation, else straight into its output, and these are
/// the statements around it.
#[derive(Clone, Copy)]
pub struct Fused {
    pub activation: Activation,
    /// Values per sample (softmax normalises over all of them).
    pub width: usize,
}

impl Fused {
    /// Whether there is an activation to apply (identity needs no `z` buffer).
    pub fn applies(self) -> bool {
        self.activation.kind != ActivationKind::Identity
    }

    /// The `z` buffer, when there is an activation.
    pub fn scratch(self) -> Option<super::Scratch> {
        self.applies().then_some(super::Scratch::per_sample("z", self.width))
    }

    /// Where `layer_pre_activation` finds `z`.
    pub fn pre_activation(self) -> PreActivation {
        if self.applies() { PreActivation::Scratch("z") } else { PreActivation::Output }
    }

    /// The workspace field the layer writes `z` into in training.
    pub fn z(self, site: &Site) -> Ident {
        if self.applies() { site.scratch("z") } else { site.output() }
    }

    /// Training, after the layer wrote `z`: `a = σ(z)` into the output.
    pub fn forward(self, site: &Site) -> TokenStream {
        if !self.applies() {
            return TokenStream::new();
        }
        let (z, output) = (site.scratch("z"), site.output());
        forward(
            self.activation,
            &quote!(&__workspace.#z),
            &quote!(&mut __workspace.#output),
            &literal(self.width),
        )
    }

    /// Inference, after the layer wrote `z` into the output: `a = σ(a)` in place.
    pub fn in_place(self, site: &Site) -> TokenStream {
        if !self.applies() {
            return TokenStream::new();
        }
        let output = site.output();
        in_place(self.activation, &quote!(&mut __workspace.#output), &literal(self.width))
    }

    /// Backward, before the layer's own: `∂L/∂z` from `∂L/∂a`, in place on the gradient.
    pub fn backward(self, site: &Site) -> TokenStream {
        if !self.applies() {
            return TokenStream::new();
        }
        let (z, output, gradient) = (site.scratch("z"), site.output(), site.output_gradient());
        backward_in_place(
            self.activation,
            &quote!(&__workspace.#z),
            &quote!(&__workspace.#output),
            &quote!(&mut __workspace.#gradient),
            &literal(self.width),
        )
    }

    /// One sample: `σ(z)` of the stack vector the expression `z` gives.
    pub fn one(self, z: TokenStream) -> TokenStream {
        if self.applies() { one(self.activation, &quote!(&#z)) } else { z }
    }
}
