//! `dense(IN -> OUT, activation, init = …, norm = spectral)`: `a = σ(W·x + b)`, PyTorch's
//! `nn.Linear` followed by an activation. `IN` may be left out (`dense(OUT)`) and is then
//! the size of the value it reads; when written it is checked against it. Parameters:
//! `weight` `[OUT, IN]` and `bias` `[OUT]`. On a sequence `[T, IN]` it acts on every step
//! with the same weights, `[T, OUT]`, as PyTorch's `Linear` on `[N, T, IN]`: a batch of `N`
//! sequences is a batch of `N·T` steps to the kernels.
//!
//! `norm = spectral` (or `spectral(n)`, `n` power iterations per training step) wraps the
//! layer in PyTorch's `torch.nn.utils.spectral_norm`: the layer uses `W / σ(W)`; the trained
//! weight is `weight_orig` and the power-iteration vectors `weight_u`, `weight_v` are state,
//! as PyTorch's `state_dict` names them (see `nn::layer::spectral_norm`).

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::ParseStream;
use syn::{Ident, LitInt, Token};

mod spectral;

use super::activation::{self, Activation};
use super::{
    Buffer, Built, Kind, Layer, Outcome, PreActivation, Samples, Scratch, Site, Tensor, literal, private,
};
use crate::catalog::{ActivationKind, INITIALISERS};
use crate::check::{Context, Incoming};
use crate::model::Shape;
use crate::parse::{Entry, Number, parse_optional_numbers};
use crate::suggest;

pub const KIND: Kind = Kind { names: || vec!["dense"], build, block: false };

/// Options a `dense` layer accepts as `key = value`.
const OPTIONS: &[&str] = &["init", "norm"];

/// Outputs from which batched inference may run the layer on the packed GEMM, whose weights'
/// panels it then keeps in the workspace (`nn::gemm::WIDE_OUTPUT`: a narrower layer never
/// packs them).
const PREPACKED_FROM_OUTPUTS: usize = 32;

/// The arguments of `dense(…)` as written.
struct Arguments {
    inputs: Option<LitInt>,
    outputs: LitInt,
    activation: Option<(Ident, Vec<Number>)>,
    options: Vec<(Ident, Ident, Vec<Number>)>,
}

/// A dense layer's initialiser: a runtime `Init` variant, with its argument if any.
#[derive(Clone, Copy)]
struct Init {
    variant: &'static str,
    argument: Option<f64>,
}

/// A checked dense layer.
struct Dense {
    inputs: usize,
    outputs: usize,
    activation: Activation,
    /// Whether the declaration names the activation (`dense(2 -> 3)` has none).
    written_activation: bool,
    init: Init,
    /// Spectral normalisation's power iterations per training step, if normalised.
    spectral: Option<usize>,
    /// The steps of the sequence it reads, or `None` on a vector.
    steps: Option<usize>,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let arguments = match entry.parse_arguments(parse) {
        Some(Ok(arguments)) => arguments,
        Some(Err(error)) => {
            context.errors().push(error);
            return Outcome::Failed { output: None };
        }
        None => {
            let message =
                "`dense` needs its sizes: `dense(IN -> OUT, activation)` or `dense(OUT, activation)`";
            context.errors().at(&entry.kind, message);
            return Outcome::Failed { output: None };
        }
    };
    match check(entry, &arguments, context) {
        Some((dense, input)) => Outcome::Layer(Built {
            layer: Box::new(dense),
            inputs: vec![input],
            span: arguments.outputs.span(),
        }),
        // The layer is wrong, but when its output size is clear the layers after it can
        // still be checked against it.
        None => Outcome::Failed {
            output: match arguments.outputs.base10_parse::<usize>() {
                Ok(size) if size > 0 => Some((Shape::vector(size), as_written(&arguments))),
                _ => None,
            },
        },
    }
}

fn parse(content: ParseStream) -> syn::Result<Arguments> {
    let first: LitInt = content.parse().map_err(|e| {
        syn::Error::new(e.span(), "expected the layer's sizes: `dense(IN -> OUT)` or `dense(OUT)`")
    })?;
    let (inputs, outputs) = if content.peek(Token![->]) {
        content.parse::<Token![->]>()?;
        let outputs: LitInt = content
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected the output size after `->`, an integer"))?;
        (Some(first), outputs)
    } else {
        if content.peek(Token![-])
            || content.peek(Token![>])
            || content.peek(Token![=>])
            || content.peek(LitInt)
        {
            return Err(content.error("expected `->` between the input and output sizes"));
        }
        (None, first)
    };
    let mut activation: Option<(Ident, Vec<Number>)> = None;
    let mut options = Vec::new();
    while !content.is_empty() {
        content.parse::<Token![,]>()?;
        if content.is_empty() {
            break;
        }
        let name: Ident = content.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an activation (such as `relu`) or an option (such as `init = he_uniform`)",
            )
        })?;
        if content.peek(Token![=]) {
            content.parse::<Token![=]>()?;
            let value: Ident = content.parse()?;
            options.push((name, value, parse_optional_numbers(content)?));
            continue;
        }
        let arguments = parse_optional_numbers(content)?;
        if let Some((previous, _)) = &activation {
            let mut error = syn::Error::new(
                name.span(),
                format!("a dense layer takes one activation, and `{previous}` is already given"),
            );
            error.combine(syn::Error::new(previous.span(), "first activation given here"));
            return Err(error);
        }
        activation = Some((name, arguments));
    }
    Ok(Arguments { inputs, outputs, activation, options })
}

/// Resolves the sizes, the activation and the options; `None` after reporting a mistake.
fn check(entry: &Entry, arguments: &Arguments, context: &mut Context) -> Option<(Dense, usize)> {
    let outputs = context.size(&arguments.outputs, "a dense layer");
    let incoming = context.incoming(entry);
    let steps = match &incoming {
        Incoming::Known(source) => features(&source.shape).and_then(|(_, steps)| steps),
        _ => None,
    };
    let (inputs, value) = match (&arguments.inputs, incoming) {
        (Some(literal), Incoming::Unknown) => {
            let declared = context.size(literal, "a dense layer's input");
            (declared, declared.map(|size| context.declare_input(Shape::vector(size), true).value))
        }
        (Some(literal), incoming) => {
            let declared = context.size(literal, "a dense layer's input");
            match (declared, incoming, outputs) {
                (Some(declared), Incoming::Known(source), Some(outputs))
                    if features(&source.shape).is_none_or(|(features, _)| features != declared) =>
                {
                    let size = features(&source.shape).map_or(source.shape.len(), |(features, _)| features);
                    let message = format!(
                        "this layer takes {declared} inputs, but {}; write `dense({size} -> {outputs})` or leave the input size out: `dense({outputs})`",
                        source.produces()
                    );
                    context.errors().at(literal, message);
                    (None, None)
                }
                (declared, Incoming::Known(source), _) => (declared, Some(source.value)),
                _ => (declared, None),
            }
        }
        (None, Incoming::Known(source)) => features(&source.shape).map_or_else(
            || {
                let message = format!(
                    "a dense layer reads a vector or a sequence's steps, but {}; put `flatten` before it to read all {} values",
                    source.produces(),
                    source.shape.len()
                );
                context.errors().at(&entry.kind, message);
                (None, None)
            },
            |(size, _)| (Some(size), Some(source.value)),
        ),
        (None, Incoming::Poisoned) => (None, None),
        (None, Incoming::Unknown) => {
            let out = arguments.outputs.base10_digits();
            context.errors().at(
                &arguments.outputs,
                format!(
                    "the first layer's input size cannot be inferred: write `dense(IN -> {out})` or begin the network with `input(IN)`"
                ),
            );
            (None, None)
        }
    };
    let activation = match &arguments.activation {
        Some((name, numbers)) => activation::resolve(context.errors(), name, numbers),
        None => Some(Activation::IDENTITY),
    };
    let mut init = Some(Init { variant: "TorchLinear", argument: None });
    let mut spectral = Some(None);
    for (key, value, numbers) in &arguments.options {
        if key == "norm" {
            spectral = normalisation(context, value, numbers).map(Some);
        } else {
            init = option(context, key, value, numbers).or(init);
        }
    }
    let dense = Dense {
        inputs: inputs?,
        outputs: outputs?,
        activation: activation?,
        written_activation: arguments.activation.is_some(),
        init: init?,
        spectral: spectral?,
        steps,
    };
    if dense.steps.is_some() && dense.spectral.is_some() {
        let message = "`norm = spectral` normalises a dense layer on vectors; this one reads a sequence: put `flatten` or `last_step` before it";
        context.errors().at(&entry.kind, message);
        return None;
    }
    Some((dense, value?))
}

/// The features a dense layer reads from a shape, and the steps when it is a sequence:
/// `[F]` or `[T, F]`.
fn features(shape: &Shape) -> Option<(usize, Option<usize>)> {
    match shape.0.as_slice() {
        [size] => Some((*size, None)),
        [steps, size] => Some((*size, Some(*steps))),
        _ => None,
    }
}

/// `init = he_uniform`.
fn option(context: &mut Context, key: &Ident, value: &Ident, numbers: &[Number]) -> Option<Init> {
    let key_text = key.to_string();
    if !OPTIONS.contains(&key_text.as_str()) {
        let hint = suggest::hint(&key_text, OPTIONS.iter().copied());
        context.errors().at(key, format!("unknown option `{key_text}` for a dense layer; {hint}"));
        return None;
    }
    let text = value.to_string();
    let Some(&(_, variant, takes_value)) = INITIALISERS.iter().find(|(name, ..)| *name == text) else {
        let hint = suggest::hint(&text, INITIALISERS.iter().map(|(name, ..)| *name));
        context.errors().at(value, format!("unknown initialiser `{text}`; {hint}"));
        return None;
    };
    match (takes_value, numbers) {
        (false, []) => Some(Init { variant, argument: None }),
        (true, [number]) if number.value.is_finite() => Some(Init { variant, argument: Some(number.value) }),
        (false, [first, ..]) => {
            context.errors().at_span(first.span, format!("`{text}` takes no value"));
            None
        }
        _ => {
            context.errors().at(value, format!("`{text}` needs one finite value: `init = {text}(0.1)`"));
            None
        }
    }
}

/// `norm = spectral` or `norm = spectral(n)`: the power iterations per training step.
fn normalisation(context: &mut Context, value: &Ident, numbers: &[Number]) -> Option<usize> {
    if value != "spectral" {
        let hint = suggest::hint(&value.to_string(), ["spectral"]);
        context.errors().at(value, format!("unknown normalisation `{value}` for a dense layer; {hint}"));
        return None;
    }
    match numbers {
        [] => Some(1),
        [n] if n.value >= 1.0 && n.value.fract() == 0.0 && n.value <= 1e6 => Some(n.value as usize),
        [n, ..] => {
            let message = format!(
                "`spectral` takes the power iterations per step, a whole number from 1 (PyTorch's default is 1), found {}",
                n.text
            );
            context.errors().at_span(n.span, message);
            None
        }
    }
}

/// A dense layer as the user wrote it, for messages about the layers after it.
fn as_written(arguments: &Arguments) -> String {
    let inputs = arguments.inputs.as_ref().map_or_else(|| "…".to_owned(), |l| l.base10_digits().to_owned());
    let outputs = arguments.outputs.base10_digits();
    match &arguments.activation {
        Some((activation, _)) => format!("dense({inputs} -> {outputs}, {activation})"),
        None => format!("dense({inputs} -> {outputs})"),
    }
}

impl Dense {
    /// Whether batched inference keeps the weights packed for the GEMM (see
    /// [`PREPACKED_FROM_OUTPUTS`]); a spectrally normalised layer divides them by `σ` on
    /// every call.
    fn prepacks(&self) -> bool {
        self.outputs >= PREPACKED_FROM_OUTPUTS && self.spectral.is_none()
    }

    /// Whether the training forward keeps a separate pre-activation buffer `z`.
    fn keeps_pre_activation(&self) -> bool {
        self.activation.kind != ActivationKind::Identity
    }

    /// The activation's value, when the layer has a one-sample training pass on the stack:
    /// on a vector, with an elementwise activation or none, without spectral normalisation.
    fn on_the_stack(&self) -> Option<TokenStream> {
        let elementwise = self.activation.kind.is_elementwise() || !self.keeps_pre_activation();
        (self.steps.is_none() && self.spectral.is_none() && elementwise)
            .then(|| activation::value(self.activation))
    }

    /// The trained weight's name: `weight`, or `weight_orig` under spectral normalisation.
    fn weight(&self) -> &'static str {
        if self.spectral.is_some() { "weight_orig" } else { "weight" }
    }

    fn sizes(&self) -> (Literal, Literal) {
        (literal(self.inputs), literal(self.outputs))
    }

    /// One vector of `IN` values on the stack.
    fn vector_forward_one(&self, site: &Site) -> TokenStream {
        if self.spectral.is_some() {
            return self.spectral_forward_one(site);
        }
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, b, x) = (site.parameter("weight"), site.parameter("bias"), &site.inputs[0]);
        let value = if self.activation.kind.is_elementwise() {
            let activation = activation::value(self.activation);
            quote!(#private::dense::forward_one::<T, _, #inputs, #outputs>(&#activation, #w, #b, #x))
        } else {
            let identity = quote!(#private::activation::Identity);
            let z = quote!(&#private::dense::forward_one::<T, _, #inputs, #outputs>(&#identity, #w, #b, #x));
            activation::one(self.activation, &z)
        };
        quote_spanned!(site.span=> #value)
    }

    /// One sample of a sequence, on the stack: every step through the same weights.
    fn steps_forward_one(&self, site: &Site, steps: usize) -> TokenStream {
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (size_in, size_out) = (literal(steps * self.inputs), literal(steps * self.outputs));
        let (w, b, x) = (site.parameter("weight"), site.parameter("bias"), &site.inputs[0]);
        let sizes = quote!(<T, _, #inputs, #outputs, #size_in, #size_out>);
        let value = if self.activation.kind.is_elementwise() {
            let activation = activation::value(self.activation);
            quote!(#private::dense::forward_steps::#sizes(&#activation, #w, #b, #x))
        } else {
            quote! {{
                let mut __z = #private::dense::forward_steps::#sizes(&#private::activation::Identity, #w, #b, #x);
                #private::activation::softmax::forward_in_place(__z.as_mut_slice(), #outputs);
                __z
            }}
        };
        quote_spanned!(site.span=> #value)
    }
}

impl Layer for Dense {
    fn describe(&self) -> String {
        let (inputs, outputs) = (self.inputs, self.outputs);
        let activation = self.written_activation.then(|| self.activation.describe());
        let norm = self
            .spectral
            .map(|n| if n == 1 { "norm = spectral".to_owned() } else { format!("norm = spectral({n})") });
        let parts: Vec<String> =
            std::iter::once(format!("{inputs} -> {outputs}")).chain(activation).chain(norm).collect();
        format!("dense({})", parts.join(", "))
    }

    fn output(&self) -> Shape {
        match self.steps {
            Some(steps) => Shape(vec![steps, self.outputs]),
            None => Shape::vector(self.outputs),
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        vec![
            Tensor { name: self.weight(), shape: vec![self.outputs, self.inputs] },
            Tensor { name: "bias", shape: vec![self.outputs] },
        ]
    }

    fn buffers(&self) -> Vec<Buffer> {
        match self.spectral {
            // Uniform unit vectors, so a network built from its parameters alone has σ > 0;
            // `initialise` draws them as PyTorch does.
            Some(_) => vec![
                Buffer {
                    name: "weight_u",
                    shape: vec![self.outputs],
                    initial: 1.0 / (self.outputs as f64).sqrt(),
                    integer: false,
                },
                Buffer {
                    name: "weight_v",
                    shape: vec![self.inputs],
                    initial: 1.0 / (self.inputs as f64).sqrt(),
                    integer: false,
                },
            ],
            None => Vec::new(),
        }
    }

    fn scratch(&self) -> Vec<Scratch> {
        let mut scratch = Vec::new();
        if self.keeps_pre_activation() {
            scratch.push(Scratch::per_sample("z", self.outputs.saturating_mul(self.steps.unwrap_or(1))));
        }
        if self.spectral.is_some() {
            scratch.push(Scratch::fixed("sigma", 1));
        }
        scratch
    }

    fn prepacked(&self) -> Vec<&'static str> {
        if self.prepacks() { vec!["panels"] } else { Vec::new() }
    }

    fn pre_activation(&self) -> PreActivation {
        if self.keeps_pre_activation() { PreActivation::Scratch("z") } else { PreActivation::Output }
    }

    fn has_accessors(&self) -> bool {
        true
    }

    /// `hidden()` and `hidden_mut()` for a dense layer named `hidden`.
    fn accessors(&self, site: &Site) -> TokenStream {
        let private = private();
        let (weight, bias) = site.range(self.weight());
        let (_, end) = site.range("bias");
        let split = literal(self.inputs * self.outputs);
        let (inputs, outputs) = self.sizes();
        let name = &site.ident;
        let name_mut = format_ident!("{}_mut", site.ident, span = site.ident.span());
        let doc = format!(
            "The parameters of layer `{0}`, `{1}`: weight `[{outputs}, {inputs}]` (named `{0}.{2}`), bias `[{outputs}]` (`{0}.bias`).",
            site.name,
            self.describe(),
            self.weight()
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            pub fn #name(&self) -> #private::dense::Parameters<'_, T, #inputs, #outputs> {
                #private::dense::Parameters::new(&self.parameters[#weight..#bias], &self.parameters[#bias..#end])
            }

            #[doc = #doc]
            #[must_use]
            pub fn #name_mut(&mut self) -> #private::dense::ParametersMut<'_, T, #inputs, #outputs> {
                self.revision.bump();
                let (__weight, __bias) = self.parameters[#weight..#end].split_at_mut(#split);
                #private::dense::ParametersMut::new(__weight, __bias)
            }
        }
    }

    fn initialise(&self, site: &Site) -> TokenStream {
        let private = private();
        let variant = format_ident!("{}", self.init.variant);
        let init = match self.init.argument {
            Some(value) => {
                let value = Literal::f64_suffixed(value);
                quote!(#private::Init::#variant(#value))
            }
            None => quote!(#private::Init::#variant),
        };
        let (weight, bias) = (site.tensor(self.weight()), site.tensor("bias"));
        let (inputs, outputs) = self.sizes();
        let vectors = if self.spectral.is_some() {
            let (u, v) = (site.state("weight_u"), site.state("weight_v"));
            quote!(#private::spectral_norm::initialise(#u, #v, __rng);)
        } else {
            TokenStream::new()
        };
        quote! {
            #init.fill_dense(#weight, #bias, #inputs, #outputs, __rng);
            #vectors
        }
    }

    /// `2·in·out` per step.
    fn flops(&self) -> usize {
        2usize
            .saturating_mul(self.inputs)
            .saturating_mul(self.outputs)
            .saturating_mul(self.steps.unwrap_or(1))
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        match self.steps {
            Some(steps) => self.steps_forward_one(site, steps),
            None => self.vector_forward_one(site),
        }
    }

    /// One step of a sequence: the layer on the step's `IN` values.
    fn stream(&self, site: &Site) -> Option<TokenStream> {
        Some(self.vector_forward_one(site))
    }

    fn infer(&self, site: &Site) -> TokenStream {
        if self.spectral.is_some() {
            return self.spectral_infer(site);
        }
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (mut w, b, x) = (site.parameter("weight"), site.parameter("bias"), &site.inputs[0]);
        let output = site.output();
        let (mut affine, mut forward) = (quote!(affine), quote!(forward));
        if self.prepacks() {
            let panels = site.scratch("panels");
            w = quote! {
                #private::Weights {
                    values: #w,
                    revision: self.revision.get(),
                    prepacked: &mut __workspace.#panels,
                }
            };
            (affine, forward) = (quote!(affine_prepacked), quote!(forward_prepacked));
        }
        let affine = quote! {
            #private::dense::#affine::<T, #inputs, #outputs>(#w, #b, #x, &mut __workspace.#output);
        };
        if self.activation.kind == ActivationKind::Identity {
            affine
        } else if self.activation.kind.is_elementwise() {
            let activation = activation::value(self.activation);
            quote! {
                #private::dense::#forward::<T, _, #inputs, #outputs>(
                    &#activation, #w, #b, #x, &mut __workspace.#output,
                );
            }
        } else {
            let in_place = activation::in_place(self.activation, &quote!(&mut __workspace.#output), &outputs);
            quote!(#affine #in_place)
        }
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        if self.spectral.is_some() {
            return self.spectral_forward_train(site);
        }
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, b, x) = (site.parameter("weight"), site.parameter("bias"), &site.inputs[0]);
        let output = site.output();
        if !self.keeps_pre_activation() {
            return quote! {
                #private::dense::affine::<T, #inputs, #outputs>(#w, #b, #x, &mut __workspace.#output);
            };
        }
        let z = site.scratch("z");
        if self.activation.kind.is_elementwise() {
            let activation = activation::value(self.activation);
            quote! {
                #private::dense::forward_train::<T, _, #inputs, #outputs>(
                    &#activation, #w, #b, #x, &mut __workspace.#z, &mut __workspace.#output,
                );
            }
        } else {
            let forward = activation::forward(
                self.activation,
                &quote!(&__workspace.#z),
                &quote!(&mut __workspace.#output),
                &outputs,
            );
            quote! {
                #private::dense::affine::<T, #inputs, #outputs>(#w, #b, #x, &mut __workspace.#z);
                #forward
            }
        }
    }

    fn forward_train_on_stack(&self, site: &Site, samples: Samples) -> Option<TokenStream> {
        let activation = self.on_the_stack()?;
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, b, x) = (site.parameter("weight"), site.parameter("bias"), &site.inputs[0]);
        let output = site.output();
        if !self.keeps_pre_activation() {
            let (affine, few) = samples.kernel("affine_train");
            return Some(quote! {
                #private::dense::#affine::<T, #inputs, #outputs #few>(#w, #b, #x, &mut __workspace.#output)
            });
        }
        let z = site.scratch("z");
        let (forward, few) = samples.kernel("forward_train");
        Some(quote! {
            #private::dense::#forward::<T, _, #inputs, #outputs #few>(
                &#activation, #w, #b, #x, (&mut __workspace.#z, &mut __workspace.#output),
            )
        })
    }

    fn backward_on_stack(
        &self,
        site: &Site,
        samples: Samples,
        output_gradient: &Ident,
        output: &TokenStream,
    ) -> Option<TokenStream> {
        let activation = self.on_the_stack()?;
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, x) = (site.parameter("weight"), &site.inputs[0]);
        let z = if self.keeps_pre_activation() {
            let field = site.scratch("z");
            quote!(&__workspace.#field)
        } else if samples == Samples::Few {
            let field = site.output();
            quote!(&__workspace.#field)
        } else {
            output.clone()
        };
        let (grad_weight, grad_bias) = (site.gradient("weight"), site.gradient("bias"));
        let (backward, few) = samples.kernel("backward");
        Some(quote! {
            #private::dense::#backward::<T, _, #inputs, #outputs #few>(
                &#activation, #w, #x, (#z, #output),
                #output_gradient, (#grad_weight, #grad_bias),
            )
        })
    }

    fn backward(&self, site: &Site) -> TokenStream {
        if self.spectral.is_some() {
            return self.spectral_backward(site);
        }
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, x) = (site.parameter("weight"), &site.inputs[0]);
        let (output, gradient) = (site.output(), site.output_gradient());
        let (grad_weight, grad_bias) = (site.gradient("weight"), site.gradient("bias"));
        let grad_input = site.input_gradient_option(0);
        if self.keeps_pre_activation() && self.activation.kind.is_elementwise() {
            let z = site.scratch("z");
            let activation = activation::value(self.activation);
            return quote! {
                #private::dense::backward::<T, _, #inputs, #outputs>(
                    &#activation, #w, #x, (&__workspace.#z, &__workspace.#output),
                    &mut __workspace.#gradient, (#grad_weight, #grad_bias), #grad_input,
                );
            };
        }
        let through_activation = if self.keeps_pre_activation() {
            let z = site.scratch("z");
            activation::backward_in_place(
                self.activation,
                &quote!(&__workspace.#z),
                &quote!(&__workspace.#output),
                &quote!(&mut __workspace.#gradient),
                &outputs,
            )
        } else {
            TokenStream::new()
        };
        quote! {
            #through_activation
            #private::dense::backward_linear::<T, #inputs, #outputs>(
                #w, #x, &__workspace.#gradient, #grad_weight, #grad_bias, #grad_input,
            );
        }
    }
}
