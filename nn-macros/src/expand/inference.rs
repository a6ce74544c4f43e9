//! The inherent methods: construction, one-sample and batched inference, the pass bodies
//! (run through `nn::isa` so they compile for the widest vectors) and the layer accessors.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::activation::{activation_forward, activation_in_place, activation_one, activation_value};
use super::training::{backward_body, forward_train_body};
use super::{buffer, literal, private, ranges, workspace_ident};
use crate::catalog::ActivationKind;
use crate::model::{Kind, Layer, Network};

/// Parameters from which a network's passes are also compiled for AVX2 and chosen at run
/// time: below, a handful of scalar operations dominate and the feature check would cost
/// more than wider vectors save (measured on W1, 13 parameters).
pub(super) const DISPATCH_FROM_PARAMETERS: usize = 256;

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

pub(super) fn inherent_impl(network: &Network) -> TokenStream {
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
                } else if activation.kind.is_elementwise() {
                    let activation = activation_value(*activation);
                    quote! {
                        #private::dense::forward::<T, _, #inputs, #outputs>(
                            &#activation, &self.parameters[#weight..#bias], &self.parameters[#bias..#end],
                            #source, &mut __workspace.#output,
                        );
                    }
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
