//! Stage 3: checked model → Rust code.
//!
//! For `struct Xor` this writes `struct Xor<T = f32>` (one heap buffer of parameters),
//! `struct XorWorkspace<T>` (the buffers of a training step), inherent methods (`seeded`,
//! `forward`, `forward_batch`, one accessor per dense layer) and `impl nn::Network<T>`.
//! Each pass is straight-line code, one statement per layer, calling the runtime's kernels
//! with the layer's sizes as const generics. Generated code names only absolute paths and
//! `__`-prefixed locals.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::catalog::ActivationKind;
use crate::model::{Activation, Kind, Layer, Network};

/// A size or offset as an unsuffixed literal (`784`, not `784usize`).
fn literal(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// A dense layer's weight start, bias start, end, and weight length, as literals.
fn ranges(layer: &Layer) -> (Literal, Literal, Literal, Literal) {
    let (weight, bias, end) = layer.dense_ranges().unwrap_or_default();
    (literal(weight), literal(bias), literal(end), literal(bias - weight))
}

/// `::nn::__private`, where every path the generated code names lives.
fn private() -> TokenStream {
    quote!(::nn::__private)
}

/// Writes all code for a checked network.
pub fn expand(network: &Network) -> TokenStream {
    let network_struct = network_struct(network);
    let workspace = workspace(network);
    let inherent = inherent_impl(network);
    let trait_impl = network_impl(network);
    quote! {
        #network_struct
        #workspace
        #inherent
        #trait_impl
    }
}

fn workspace_ident(network: &Network) -> Ident {
    format_ident!("{}Workspace", network.ident)
}

fn buffer(layer: &Layer, suffix: &str) -> Ident {
    format_ident!("{}_{}", layer.ident, suffix)
}

/// `ws.input` or the previous layer's output buffer.
fn input_buffer(network: &Network, index: usize) -> Ident {
    match index {
        0 => format_ident!("input"),
        _ => buffer(&network.layers[index - 1], "output"),
    }
}

/// The runtime value of an elementwise activation:
/// `::nn::__private::activation::LeakyRelu { alpha: 0.2 }`.
fn activation_value(activation: Activation) -> TokenStream {
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
fn activation_forward(
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
fn activation_in_place(activation: Activation, values: &TokenStream, width: &Literal) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = activation_value(activation);
        quote!(#private::activation::forward_in_place(&#value, #values);)
    } else {
        quote!(#private::activation::softmax::forward_in_place(#values, #width);)
    }
}

/// `∂L/∂z` from `∂L/∂a`, in place on the gradient.
fn activation_backward_in_place(
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
fn activation_backward(
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
fn activation_one(activation: Activation, current: &TokenStream) -> TokenStream {
    let private = private();
    if activation.kind.is_elementwise() {
        let value = activation_value(activation);
        quote!((#current).map(|__z| #private::Activation::<T>::f(&#value, __z)))
    } else {
        quote!(#private::activation::softmax::forward_one(#current))
    }
}

fn network_struct(network: &Network) -> TokenStream {
    let Network { attrs, vis, ident, .. } = network;
    let parameters = literal(network.parameters);
    let private = private();
    let summary = network.layers.iter().map(|l| l.description.as_str()).collect::<Vec<_>>().join(", ");
    let shape = format!(
        "Generated by `nn::network!`: {summary}. {} inputs, {} outputs, {parameters} parameters, generic over `f32` (default) and `f64`.",
        network.inputs, network.outputs
    );
    quote! {
        #(#attrs)*
        ///
        #[doc = #shape]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #ident<T = f32> {
            parameters: #private::Box<[T; #parameters]>,
        }
    }
}

/// Per-layer workspace buffers: `(field, values per sample)`.
fn workspace_fields(network: &Network) -> Vec<(Ident, usize)> {
    let mut fields = Vec::new();
    for layer in &network.layers {
        fields.push((buffer(layer, "output"), layer.outputs));
        if layer.keeps_pre_activation() {
            fields.push((buffer(layer, "z"), layer.outputs));
        }
        if matches!(layer.kind, Kind::Dropout { .. }) {
            fields.push((buffer(layer, "mask"), layer.outputs));
        }
        if layer.has_gradient {
            fields.push((buffer(layer, "gradient"), layer.outputs));
        }
    }
    fields
}

fn workspace(network: &Network) -> TokenStream {
    let private = private();
    let vis = &network.vis;
    let ident = &network.ident;
    let workspace = workspace_ident(network);
    let fields = workspace_fields(network);
    let names: Vec<&Ident> = fields.iter().map(|(name, _)| name).collect();
    let sizes: Vec<Literal> = fields.iter().map(|&(_, size)| literal(size)).collect();
    let inputs = literal(network.inputs);
    let last = network.layers.last().map(|l| (buffer(l, "output"), buffer(l, "gradient")));
    let (last_output, last_gradient) =
        last.unwrap_or_else(|| (format_ident!("input"), format_ident!("input")));
    let lookups = workspace_lookups(network);
    let doc = format!(
        "The reusable buffers of a training step of [`{ident}`]: each layer's output, what its backward pass needs and the gradient flowing back. They grow to the largest batch seen and are reused, so a warm training step allocates nothing."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #workspace<T> {
            batch: usize,
            input: #private::Vec<T>,
            #(#names: #private::Vec<T>,)*
        }

        impl<T> ::core::default::Default for #workspace<T> {
            fn default() -> Self {
                Self {
                    batch: 0,
                    input: #private::Vec::new(),
                    #(#names: #private::Vec::new(),)*
                }
            }
        }

        #lookups

        impl<T: #private::Real> #workspace<T> {
            /// Sizes every buffer for `batch` samples (no allocation within the capacity).
            #[inline]
            fn prepare(&mut self, batch: usize) {
                if batch == self.batch && self.input.len() == #inputs * batch {
                    return;
                }
                self.batch = batch;
                self.input.resize(#inputs * batch, T::zero());
                #(self.#names.resize(#sizes * batch, T::zero());)*
            }
        }

        impl<T: #private::Real> #private::Workspace<T> for #workspace<T> {
            fn batch(&self) -> usize {
                self.batch
            }

            fn output(&self) -> &[T] {
                &self.#last_output
            }

            fn output_and_gradient(&mut self) -> (&[T], &mut [T]) {
                (&self.#last_output, &mut self.#last_gradient)
            }
        }
    }
}

/// `layer_output("hidden")` and `layer_pre_activation("hidden")`: read access to what the
/// last training forward recorded, for tests against reference values and for debugging.
fn workspace_lookups(network: &Network) -> TokenStream {
    let workspace = workspace_ident(network);
    let mut outputs = Vec::new();
    let mut pre_activations = Vec::new();
    for (index, layer) in network.layers.iter().enumerate() {
        let name = &layer.name;
        let output = buffer(layer, "output");
        outputs.push(quote!(#name => ::core::option::Option::Some(&self.#output),));
        let z = match layer.kind {
            Kind::Dense { .. } if layer.keeps_pre_activation() => buffer(layer, "z"),
            Kind::Dense { .. } => output,
            Kind::Activation(_) => input_buffer(network, index),
            Kind::Dropout { .. } => continue,
        };
        pre_activations.push(quote!(#name => ::core::option::Option::Some(&self.#z),));
    }
    quote! {
        impl<T> #workspace<T> {
            /// The output `a` of a layer (by its name: `hidden`, or `0` for an unnamed first
            /// layer) from the last training forward, `outputs × batch`, column-major.
            #[must_use]
            pub fn layer_output(&self, layer: &str) -> ::core::option::Option<&[T]> {
                match layer {
                    #(#outputs)*
                    _ => ::core::option::Option::None,
                }
            }

            /// The pre-activation `z` of a dense or activation layer from the last training
            /// forward, `outputs × batch`, column-major.
            #[must_use]
            pub fn layer_pre_activation(&self, layer: &str) -> ::core::option::Option<&[T]> {
                match layer {
                    #(#pre_activations)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}

/// Parameters from which a network's passes are also compiled for AVX2 and chosen at run
/// time: below, a handful of scalar operations dominate and the feature check would cost
/// more than wider vectors save (measured on W1, 13 parameters).
const DISPATCH_FROM_PARAMETERS: usize = 256;

/// The passes, each an `#[inline(always)]` body run through `nn::__private::run_best`, which
/// compiles it again for the widest vector instructions the CPU has (see `nn::isa`).
fn passes(network: &Network) -> TokenStream {
    let private = private();
    let ident = &network.ident;
    let workspace = workspace_ident(network);
    let (inputs, outputs) = (literal(network.inputs), literal(network.outputs));
    let forward_one = forward_one(network);
    let infer = infer_body(network);
    let forward_train = forward_train_body(network);
    let backward = backward_body(network);
    let has_dropout = network.layers.iter().any(|l| matches!(l.kind, Kind::Dropout { .. }));
    let rng = if has_dropout { quote!(__rng) } else { quote!(_rng) };
    let runner =
        if network.parameters >= DISPATCH_FROM_PARAMETERS { quote!(run_best) } else { quote!(run_direct) };
    quote! {
            /// Inference on one sample, on the stack (dropout off).
            #[must_use]
            pub fn forward(
                &self,
                input: &#private::SVector<T, #inputs>,
            ) -> #private::SVector<T, #outputs> {
                struct __Forward<'a, T> {
                    network: &'a #ident<T>,
                    input: &'a #private::SVector<T, #inputs>,
                }
                impl<T: #private::Real> #private::Pass for __Forward<'_, T> {
                    type Output = #private::SVector<T, #outputs>;
                    #[inline(always)]
                    #[allow(clippy::inline_always)]
                    fn run(self) -> Self::Output {
                        self.network.forward_body(self.input)
                    }
                }
                #private::#runner(__Forward { network: self, input })
            }

            #[inline(always)]
            #[allow(clippy::inline_always)]
            fn forward_body(
                &self,
                input: &#private::SVector<T, #inputs>,
            ) -> #private::SVector<T, #outputs> {
                #forward_one
            }

            /// Batched inference on a column-major slice of exactly `batch` samples.
            fn infer_batch<'w>(
                &self,
                inputs: &[T],
                batch: usize,
                workspace: &'w mut #workspace<T>,
            ) -> &'w [T] {
                struct __Infer<'a, 'w, T> {
                    network: &'a #ident<T>,
                    inputs: &'a [T],
                    batch: usize,
                    workspace: &'w mut #workspace<T>,
                }
                impl<'w, T: #private::Real> #private::Pass for __Infer<'_, 'w, T> {
                    type Output = &'w [T];
                    #[inline(always)]
                    #[allow(clippy::inline_always)]
                    fn run(self) -> Self::Output {
                        self.network.infer_body(self.inputs, self.batch, self.workspace)
                    }
                }
                #private::#runner(__Infer { network: self, inputs, batch, workspace })
            }

            #[inline(always)]
            #[allow(clippy::inline_always)]
            fn infer_body<'w>(
                &self,
                inputs: &[T],
                batch: usize,
                __workspace: &'w mut #workspace<T>,
            ) -> &'w [T] {
                #infer
            }

            #[inline(always)]
            #[allow(clippy::inline_always)]
            fn forward_train_body<R: #private::Rng + ?Sized>(
                &self,
                inputs: &[T],
                __workspace: &mut #workspace<T>,
                #rng: &mut R,
            ) -> ::core::result::Result<(), #private::BatchShapeError> {
                #forward_train
            }

            #[inline(always)]
            #[allow(clippy::inline_always)]
            fn backward_body(&self, __workspace: &mut #workspace<T>, gradients: &mut [T]) {
                #backward
            }

    }
}

fn inherent_impl(network: &Network) -> TokenStream {
    let private = private();
    let ident = &network.ident;
    let (inputs, outputs) = (literal(network.inputs), literal(network.outputs));
    let parameters = literal(network.parameters);
    let workspace = workspace_ident(network);
    let passes = passes(network);
    let accessors = network.layers.iter().filter_map(accessor);
    quote! {
        impl<T: #private::Real> #ident<T> {
            /// Values per input sample.
            pub const INPUTS: usize = #inputs;
            /// Values per output sample.
            pub const OUTPUTS: usize = #outputs;
            /// Values in the parameter buffer.
            pub const PARAMETERS: usize = #parameters;

            /// A network initialised as declared, from a ChaCha8 RNG seeded with `seed`:
            /// the same seed gives the same parameters on every machine.
            #[must_use]
            pub fn seeded(seed: u64) -> Self {
                <Self as #private::Network<T>>::initialise(&mut #private::seeded_rng(seed))
            }

            /// Empty training buffers for this network.
            #[must_use]
            pub fn workspace() -> #workspace<T> {
                #workspace::default()
            }

            #passes

            /// Inference on a batch, one sample per column (dropout off).
            #[must_use]
            pub fn forward_batch(
                &self,
                inputs: &#private::OMatrix<T, #private::Const<#inputs>, #private::Dyn>,
            ) -> #private::OMatrix<T, #private::Const<#outputs>, #private::Dyn> {
                let mut __workspace = Self::workspace();
                let __batch = inputs.ncols();
                let __output = self.infer_batch(inputs.as_slice(), __batch, &mut __workspace);
                #private::OMatrix::<T, #private::Const<#outputs>, #private::Dyn>::from_column_slice(__output)
            }

            #(#accessors)*
        }
    }
}

/// The one-sample forward: a chain of stack vectors. Dropout is the identity in inference,
/// so it adds no statement.
fn forward_one(network: &Network) -> TokenStream {
    let private = private();
    let mut statements = Vec::new();
    // A reference to the current values: the input, then each layer's result.
    let mut current = quote!(input);
    let mut last: Option<Ident> = None;
    for (index, layer) in network.layers.iter().enumerate() {
        let next = format_ident!("__x{}", index);
        let (inputs, outputs) = (literal(layer.inputs), literal(layer.outputs));
        let statement = match &layer.kind {
            Kind::Dense { activation, .. } => {
                let (weight, bias, end, _) = ranges(layer);
                let (w, b) =
                    (quote!(&self.parameters[#weight..#bias]), quote!(&self.parameters[#bias..#end]));
                let value = if activation.kind.is_elementwise() {
                    let activation = activation_value(*activation);
                    quote!(#private::dense::forward_one::<T, _, #inputs, #outputs>(&#activation, #w, #b, #current))
                } else {
                    let identity = quote!(#private::activation::Identity);
                    let z = quote!(&#private::dense::forward_one::<T, _, #inputs, #outputs>(&#identity, #w, #b, #current));
                    activation_one(*activation, &z)
                };
                quote_spanned!(layer.span=> let #next: #private::SVector<T, #outputs> = #value;)
            }
            Kind::Activation(activation) => {
                let value = activation_one(*activation, &current);
                quote!(let #next: #private::SVector<T, #outputs> = #value;)
            }
            Kind::Dropout { .. } => continue,
        };
        statements.push(statement);
        current = quote!(&#next);
        last = Some(next);
    }
    let result = last.map_or_else(|| quote!(*input), |last| quote!(#last));
    quote! {
        #(#statements)*
        #result
    }
}

/// Batched inference into the workspace. Dropout is the identity here, so it is skipped and
/// the next layer reads the buffer before it.
fn infer_body(network: &Network) -> TokenStream {
    let private = private();
    let mut statements = Vec::new();
    let mut current: Option<Ident> = None;
    for layer in &network.layers {
        let source = match &current {
            Some(field) => quote!(&__workspace.#field),
            None => quote!(inputs),
        };
        let output = buffer(layer, "output");
        let (inputs, outputs) = (literal(layer.inputs), literal(layer.outputs));
        let statement = match &layer.kind {
            Kind::Dense { activation, .. } => {
                let (weight, bias, end, _) = ranges(layer);
                let affine = quote! {
                    #private::dense::affine::<T, #inputs, #outputs>(
                        &self.parameters[#weight..#bias], &self.parameters[#bias..#end], #source, &mut __workspace.#output,
                    );
                };
                if activation.kind == ActivationKind::Identity {
                    affine
                } else {
                    let in_place =
                        activation_in_place(*activation, &quote!(&mut __workspace.#output), &outputs);
                    quote!(#affine #in_place)
                }
            }
            Kind::Activation(activation) => {
                activation_forward(*activation, &source, &quote!(&mut __workspace.#output), &outputs)
            }
            Kind::Dropout { .. } => continue,
        };
        statements.push(statement);
        current = Some(output);
    }
    let result = match current {
        Some(field) => quote!(&__workspace.#field),
        None => {
            // Only dropout layers: the output is the input.
            statements.push(quote!(__workspace.input.copy_from_slice(inputs);));
            quote!(&__workspace.input)
        }
    };
    quote! {
        __workspace.prepare(batch);
        #(#statements)*
        #result
    }
}

/// `hidden()` and `hidden_mut()` for a dense layer named `hidden`.
fn accessor(layer: &Layer) -> Option<TokenStream> {
    let private = private();
    layer.dense_ranges()?;
    let (weight, bias, end, split) = ranges(layer);
    let (inputs, outputs) = (literal(layer.inputs), literal(layer.outputs));
    let name = &layer.ident;
    let name_mut = format_ident!("{}_mut", layer.ident, span = layer.ident.span());
    let doc = format!(
        "The parameters of layer `{}`, `{}`: weight `[{outputs}, {inputs}]` (named `{}.weight`), bias `[{outputs}]` (`{}.bias`).",
        layer.name, layer.description, layer.name, layer.name
    );
    Some(quote! {
        #[doc = #doc]
        #[must_use]
        pub fn #name(&self) -> #private::dense::Parameters<'_, T, #inputs, #outputs> {
            #private::dense::Parameters::new(&self.parameters[#weight..#bias], &self.parameters[#bias..#end])
        }

        #[doc = #doc]
        #[must_use]
        pub fn #name_mut(&mut self) -> #private::dense::ParametersMut<'_, T, #inputs, #outputs> {
            let (__weight, __bias) = self.parameters[#weight..#end].split_at_mut(#split);
            #private::dense::ParametersMut::new(__weight, __bias)
        }
    })
}

fn network_impl(network: &Network) -> TokenStream {
    let private = private();
    let ident = &network.ident;
    let (inputs, outputs) = (literal(network.inputs), literal(network.outputs));
    let parameters = literal(network.parameters);
    let workspace = workspace_ident(network);
    let specs = parameter_specs(network);
    let initialise = initialise_body(network);
    let has_parameters = network.parameters > 0;
    let runner =
        if network.parameters >= DISPATCH_FROM_PARAMETERS { quote!(run_best) } else { quote!(run_direct) };
    let init_rng = if has_parameters { quote!(__rng) } else { quote!(_rng) };
    quote! {
        impl<T: #private::Real> #private::Network<T> for #ident<T> {
            const INPUTS: usize = #inputs;
            const OUTPUTS: usize = #outputs;
            const PARAMETERS: usize = #parameters;

            type Workspace = #workspace<T>;

            fn parameter_specs() -> &'static [#private::ParameterSpec] {
                #specs
            }

            fn initialise<R: #private::Rng + ?Sized>(#init_rng: &mut R) -> Self {
                #initialise
            }

            fn from_parameters(
                parameters: #private::Vec<T>,
            ) -> ::core::result::Result<Self, #private::ParameterCountError> {
                ::core::result::Result::Ok(Self { parameters: #private::parameters_from_vec(parameters)? })
            }

            fn parameters(&self) -> &[T] {
                &self.parameters[..]
            }

            fn parameters_mut(&mut self) -> &mut [T] {
                &mut self.parameters[..]
            }

            fn infer<'w>(
                &self,
                inputs: &[T],
                __workspace: &'w mut #workspace<T>,
            ) -> ::core::result::Result<&'w [T], #private::BatchShapeError> {
                let __batch = #private::batch_size(inputs.len(), #inputs)?;
                ::core::result::Result::Ok(self.infer_batch(inputs, __batch, __workspace))
            }

            fn forward_train<R: #private::Rng + ?Sized>(
                &self,
                inputs: &[T],
                workspace: &mut #workspace<T>,
                rng: &mut R,
            ) -> ::core::result::Result<(), #private::BatchShapeError> {
                struct __Train<'a, T, R: ?Sized> {
                    network: &'a #ident<T>,
                    inputs: &'a [T],
                    workspace: &'a mut #workspace<T>,
                    rng: &'a mut R,
                }
                impl<T: #private::Real, R: #private::Rng + ?Sized> #private::Pass for __Train<'_, T, R> {
                    type Output = ::core::result::Result<(), #private::BatchShapeError>;
                    #[inline(always)]
                    #[allow(clippy::inline_always)]
                    fn run(self) -> Self::Output {
                        self.network.forward_train_body(self.inputs, self.workspace, self.rng)
                    }
                }
                #private::#runner(__Train { network: self, inputs, workspace, rng })
            }

            fn backward(&self, workspace: &mut #workspace<T>, gradients: &mut [T]) {
                struct __Backward<'a, T> {
                    network: &'a #ident<T>,
                    workspace: &'a mut #workspace<T>,
                    gradients: &'a mut [T],
                }
                impl<T: #private::Real> #private::Pass for __Backward<'_, T> {
                    type Output = ();
                    #[inline(always)]
                    #[allow(clippy::inline_always)]
                    fn run(self) {
                        self.network.backward_body(self.workspace, self.gradients);
                    }
                }
                #private::#runner(__Backward { network: self, workspace, gradients });
            }
        }
    }
}

fn parameter_specs(network: &Network) -> TokenStream {
    let private = private();
    let mut specs = Vec::new();
    for layer in &network.layers {
        if layer.dense_ranges().is_some() {
            let (weight, bias, _, _) = ranges(layer);
            let (inputs, outputs) = (literal(layer.inputs), literal(layer.outputs));
            let weight_name = format!("{}.weight", layer.name);
            let bias_name = format!("{}.bias", layer.name);
            specs.push(quote!(#private::ParameterSpec { name: #weight_name, shape: &[#outputs, #inputs], offset: #weight }));
            specs.push(
                quote!(#private::ParameterSpec { name: #bias_name, shape: &[#outputs], offset: #bias }),
            );
        }
    }
    quote! {
        const SPECS: &[#private::ParameterSpec] = &[#(#specs),*];
        SPECS
    }
}

fn initialise_body(network: &Network) -> TokenStream {
    let private = private();
    let parameters = literal(network.parameters);
    let fills: Vec<TokenStream> = network
        .layers
        .iter()
        .filter_map(|layer| {
            let Kind::Dense { init, .. } = &layer.kind else {
                return None;
            };
            let (weight, _, end, split) = ranges(layer);
            let variant = format_ident!("{}", init.variant);
            let init = match init.argument {
                Some(value) => {
                    let value = Literal::f64_suffixed(value);
                    quote!(#private::Init::#variant(#value))
                }
                None => quote!(#private::Init::#variant),
            };
            let (inputs, outputs) = (literal(layer.inputs), literal(layer.outputs));
            Some(quote! {
                let (__weight, __bias) = __parameters[#weight..#end].split_at_mut(#split);
                #init.fill_dense(__weight, __bias, #inputs, #outputs, __rng);
            })
        })
        .collect();
    let binding = if fills.is_empty() { quote!(let __parameters) } else { quote!(let mut __parameters) };
    quote! {
        #binding = #private::zeroed_parameters::<T, #parameters>();
        #(#fills)*
        Self { parameters: __parameters }
    }
}

fn forward_train_body(network: &Network) -> TokenStream {
    let private = private();
    let inputs = literal(network.inputs);
    let statements = network.layers.iter().enumerate().map(|(index, layer)| {
        let source = input_buffer(network, index);
        let output = buffer(layer, "output");
        let (inputs, outputs) = (literal(layer.inputs), literal(layer.outputs));
        match &layer.kind {
            Kind::Dense { activation, .. } => {
                let (weight, bias, end, _) = ranges(layer);
                let (w, b) = (quote!(&self.parameters[#weight..#bias]), quote!(&self.parameters[#bias..#end]));
                if layer.keeps_pre_activation() {
                    let z = buffer(layer, "z");
                    let forward =
                        activation_forward(*activation, &quote!(&__workspace.#z), &quote!(&mut __workspace.#output), &outputs);
                    quote! {
                        #private::dense::affine::<T, #inputs, #outputs>(#w, #b, &__workspace.#source, &mut __workspace.#z);
                        #forward
                    }
                } else {
                    quote! {
                        #private::dense::affine::<T, #inputs, #outputs>(#w, #b, &__workspace.#source, &mut __workspace.#output);
                    }
                }
            }
            Kind::Dropout { probability } => {
                let mask = buffer(layer, "mask");
                let probability = Literal::f64_suffixed(*probability);
                quote! {
                    #private::dropout::forward_train(
                        #probability, &__workspace.#source, &mut __workspace.#mask, &mut __workspace.#output, __rng,
                    );
                }
            }
            Kind::Activation(activation) => activation_forward(
                *activation,
                &quote!(&__workspace.#source),
                &quote!(&mut __workspace.#output),
                &outputs,
            ),
        }
    });
    quote! {
        let __batch = #private::batch_size(inputs.len(), #inputs)?;
        __workspace.prepare(__batch);
        __workspace.input.copy_from_slice(inputs);
        #(#statements)*
        ::core::result::Result::Ok(())
    }
}

fn backward_body(network: &Network) -> TokenStream {
    let private = private();
    let parameters = literal(network.parameters);
    let mut statements = Vec::new();
    for (index, layer) in network.layers.iter().enumerate().rev() {
        let source = input_buffer(network, index);
        let output = buffer(layer, "output");
        let gradient = buffer(layer, "gradient");
        let previous_gradient = (index > 0).then(|| buffer(&network.layers[index - 1], "gradient"));
        let (inputs, outputs) = (literal(layer.inputs), literal(layer.outputs));
        let statement = match &layer.kind {
            Kind::Dense { .. } if layer.has_gradient => {
                let (weight, bias, end, split) = ranges(layer);
                let grad_input = match (&previous_gradient, layer.propagates_gradient) {
                    (Some(previous), true) => {
                        quote!(::core::option::Option::Some(&mut __workspace.#previous))
                    }
                    _ => quote!(::core::option::Option::None),
                };
                let through_activation = match &layer.kind {
                    Kind::Dense { activation, .. } if layer.keeps_pre_activation() => {
                        let z = buffer(layer, "z");
                        activation_backward_in_place(
                            *activation,
                            &quote!(&__workspace.#z),
                            &quote!(&__workspace.#output),
                            &quote!(&mut __workspace.#gradient),
                            &outputs,
                        )
                    }
                    _ => TokenStream::new(),
                };
                quote! {
                    #through_activation
                    let (__weight, __bias) = __gradients[#weight..#end].split_at_mut(#split);
                    #private::dense::backward_linear::<T, #inputs, #outputs>(
                        &self.parameters[#weight..#bias], &__workspace.#source, &__workspace.#gradient,
                        __weight, __bias, #grad_input,
                    );
                }
            }
            Kind::Dropout { .. } if layer.propagates_gradient => {
                let mask = buffer(layer, "mask");
                let Some(previous) = previous_gradient else {
                    continue;
                };
                quote!(#private::dropout::backward(&__workspace.#mask, &__workspace.#gradient, &mut __workspace.#previous);)
            }
            Kind::Activation(activation) if layer.propagates_gradient => {
                let Some(previous) = previous_gradient else {
                    continue;
                };
                activation_backward(
                    *activation,
                    (&quote!(&__workspace.#source), &quote!(&__workspace.#output)),
                    (&quote!(&__workspace.#gradient), &quote!(&mut __workspace.#previous)),
                    &outputs,
                )
            }
            _ => continue,
        };
        statements.push(statement);
    }
    if statements.is_empty() {
        return quote! {
            let _ = (__workspace, #private::gradient_buffer::<T, #parameters>(gradients));
        };
    }
    quote! {
        let __gradients = #private::gradient_buffer::<T, #parameters>(gradients);
        #(#statements)*
    }
}
