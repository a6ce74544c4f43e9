//! The generated workspace: one buffer per value, per layer scratch buffer (pre-activation,
//! dropout mask) and per gradient, sized per batch and reused.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use super::{
    gradient_field, gradient_parts, has_gradient, input_type, literal, private, value_field, workspace_ident,
};
use crate::layers::PreActivation;
use crate::model::Network;

/// Per-layer workspace buffers: `(field, its length for `batch` samples)`.
fn workspace_fields(network: &Network) -> Vec<(Ident, TokenStream)> {
    let length = |per_sample: usize, fixed: usize, computed: Option<TokenStream>| {
        let per_sample = literal(per_sample);
        let fixed = (fixed > 0).then(|| literal(fixed)).into_iter();
        let computed = computed.into_iter();
        quote!(#per_sample * batch #(+ #fixed)* #(+ #computed)*)
    };
    let mut fields = Vec::new();
    for (index, node) in network.nodes.iter().enumerate() {
        let value = index + 1;
        let size = network.values[value].shape.len();
        fields.push((value_field(network, value), length(size, 0, None)));
        for scratch in node.layer.scratch() {
            let field = format_ident!("{}_{}", node.ident, scratch.name);
            fields.push((field, length(scratch.per_sample, scratch.fixed, scratch.computed)));
        }
        if has_gradient(network, value) {
            for part in 0..=gradient_parts(network, value) {
                fields.push((gradient_field(network, value, part), length(size, 0, None)));
            }
        }
    }
    fields
}

/// The fields in which batched inference keeps weights packed ([`crate::layers::Layer::prepacked`]).
fn prepacked_fields(network: &Network) -> Vec<Ident> {
    let fields = network.nodes.iter().flat_map(|node| {
        node.layer.prepacked().into_iter().map(|name| format_ident!("{}_{}", node.ident, name))
    });
    fields.collect()
}

/// Whether batched inference keeps some weights packed in the workspace.
pub(super) fn prepacks_weights(network: &Network) -> bool {
    !prepacked_fields(network).is_empty()
}

pub(super) fn workspace(network: &Network) -> TokenStream {
    let private = private();
    let vis = &network.vis;
    let ident = &network.ident;
    let workspace = workspace_ident(network);
    let fields = workspace_fields(network);
    let names: Vec<&Ident> = fields.iter().map(|(name, _)| name).collect();
    let lengths: Vec<&TokenStream> = fields.iter().map(|(_, length)| length).collect();
    let inputs = literal(network.inputs());
    let input_type = input_type(network);
    let input_zero = if network.takes_ids() { quote!(0) } else { quote!(T::zero()) };
    let last_output = value_field(network, network.output());
    let last_gradient = gradient_field(network, network.output(), 0);
    let lookups = workspace_lookups(network);
    let prepacked = prepacked_fields(network);
    let doc = format!(
        "The reusable buffers of a training step of [`{ident}`]: each layer's output, what its backward pass needs and the gradient flowing back. They grow to the largest batch seen and are reused, so a warm training step allocates nothing. Batched inference keeps here too the weights of its wide dense layers packed for the matrix product, until the network's parameters change."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #workspace<T> {
            batch: usize,
            input: #private::Vec<#input_type>,
            #(#names: #private::Lines<T>,)*
            #(#prepacked: #private::Prepacked<T>,)*
        }

        impl<T> ::core::default::Default for #workspace<T> {
            fn default() -> Self {
                Self {
                    batch: 0,
                    input: #private::Vec::new(),
                    #(#names: #private::lines(),)*
                    #(#prepacked: #private::Prepacked::default(),)*
                }
            }
        }

        #lookups

        impl<T: #private::Real> #workspace<T> {
            /// Sizes every buffer for `batch` samples (no allocation within the capacity).
            /// The check inlines into every pass; the resizing, needed when the batch size
            /// changes, does not (W1's one-sample step: 22 of its 494 instructions were the
            /// call to the whole of it).
            #[inline(always)]
            #[allow(clippy::inline_always)]
            fn prepare(&mut self, batch: usize) {
                if batch != self.batch || self.input.len() != #inputs * batch {
                    self.resize(batch);
                }
            }

            /// [`Self::prepare`] for a batch of another size than the last.
            #[cold]
            #[inline(never)]
            fn resize(&mut self, batch: usize) {
                self.batch = batch;
                self.input.resize(#inputs * batch, #input_zero);
                #(self.#names.resize(#lengths, T::zero());)*
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
    let mut scratches = Vec::new();
    for (index, node) in network.nodes.iter().enumerate() {
        let name = &node.name;
        for scratch in node.layer.scratch() {
            let (kept, field) = (scratch.name, format_ident!("{}_{}", node.ident, scratch.name));
            scratches.push(quote!((#name, #kept) => ::core::option::Option::Some(&self.#field),));
        }
        let output = value_field(network, index + 1);
        outputs.push(quote!(#name => ::core::option::Option::Some(&self.#output),));
        let z = match node.layer.pre_activation() {
            PreActivation::Scratch(scratch) => format_ident!("{}_{}", node.ident, scratch),
            PreActivation::Output => output,
            PreActivation::Input => value_field(network, node.inputs[0]),
            PreActivation::None => continue,
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

            /// What a layer kept from the last training forward for its backward pass, by
            /// name: a dropout layer's `mask`, a batch normalisation's `normalised` values
            /// (`x̂`), batch `mean` and `inverse_std`.
            #[must_use]
            pub fn layer_scratch(&self, layer: &str, kept: &str) -> ::core::option::Option<&[T]> {
                match (layer, kept) {
                    #(#scratches)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}
