//! One-sample training on the stack: a training step on a single sample through a chain
//! of layers passes each value, and each value's gradient, to the next layer as an array,
//! as the one-sample `forward` does, rather than through the workspace.
//!
//! Through the workspace, a small layer loaded its input wider than the stores that had
//! just written it (the previous layer's outputs, one at a time) and waited for them to
//! reach the cache; each layer also looped over a batch of one. On the stack, W1's training
//! forward went 31.4 → 16.9 ns, and one-sample steps of 1-64-64-1 tanh 1685 → 1302 ns and
//! of 32-24-10 tanh 418 → 292 ns (with the stack copy of `x` in the backward pass).
//!
//! The workspace still receives everything a batch's backward pass would read (the input,
//! each `z` and `a`), so either pass may follow the other. In a trainer's step, which runs
//! both, the backward pass takes the forward pass's arrays instead, and the loss takes the
//! output and gives its gradient as arrays (`Network::train_borrowing`): read back from
//! the workspace, each was a store and a load on the step's chain of dependent operations.
//!
//! A few samples take the same path (`forward_train_few`, `backward_few`, with the samples
//! a const parameter `__B`), each value held feature by feature, `[[T; __B]; N]`: one
//! layer's sums run across the samples' lanes and leave its outputs in the lanes where the
//! next layer reads them, with no loop over the batch (W1's training step at four samples
//! 77.4 → 69.1 ns).
//!
//! A network takes this path when it is a chain and every layer has a one-sample pass
//! ([`crate::layers::Layer::forward_train_on_stack`], [`crate::layers::Layer::backward_on_stack`]);
//! otherwise its one-sample steps run the batch code.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::Ident;

use super::{
    gradient_field, input_type, literal, private, rng_ident, site, split_tensors, value_field,
    workspace_ident,
};
use crate::layers::Samples;
use crate::model::Network;

/// Values a chain may hold on the stack, summed over its input and its layers' outputs:
/// at most 32 KB in `f64`, so the step runs on any thread's stack. Measured faster at every
/// size up to W3 (784-128-10: 44.7 → 41.1 µs per one-sample step).
const MOST_VALUES: usize = 4096;

/// Whether every node reads the one before it and the values fit on the stack.
fn is_small_chain(network: &Network) -> bool {
    let chained = network.nodes.iter().enumerate().all(|(index, node)| node.inputs == [index]);
    let held = network.values.iter().fold(0usize, |sum, value| sum.saturating_add(value.shape.len()));
    chained && !network.takes_ids() && held <= MOST_VALUES
}

/// Whether the network has a one-sample path.
pub(super) fn applies(network: &Network) -> bool {
    forward_statements(network, Samples::One).is_some()
        && backward_statements(network, Samples::One).is_some()
}

/// The inherent methods of a network with a one-sample path (none otherwise):
/// - `forward_train_one`: the training forward of one sample after `checks` (the batch's
///   requirements, which the batch pass checks too), returning every layer's output as an
///   array;
/// - `backward_one`: the backward pass from the output's gradient, reading the layers'
///   outputs where its caller passes them: the forward pass's arrays when it ran in the same
///   step (the trainer's `train_borrowing`), else the workspace's;
/// - `forward_train_few` and `backward_few`: the same for `__B` samples, run in one step
///   (the trainer's `train_few`).
pub(super) fn methods(network: &Network, checks: &TokenStream) -> TokenStream {
    if !applies(network) {
        return TokenStream::new();
    }
    let one = pass_methods(network, checks, Samples::One);
    let few = pass_methods(network, checks, Samples::Few);
    quote!(#one #few)
}

/// `forward_train_one` and `backward_one`, or `forward_train_few` and `backward_few` (with
/// the const parameter `__B`, the samples).
fn pass_methods(network: &Network, checks: &TokenStream, samples: Samples) -> TokenStream {
    let (Some(forward), Some(backward)) =
        (forward_statements(network, samples), backward_statements(network, samples))
    else {
        return TokenStream::new();
    };
    let private = private();
    let (input_type, workspace) = (input_type(network), workspace_ident(network));
    let parameters = literal(network.parameters);
    let values = layer_values(network);
    let types: Vec<_> = (1..network.values.len())
        .map(|value| value_type(network.values[value].shape.len(), samples))
        .collect();
    let output_type = value_type(network.outputs(), samples);
    let output_gradient = format_ident!("__g{}", network.output());
    let rng = rng_ident(network);
    let (forward_name, backward_name, few, batch) = match samples {
        Samples::One => (quote!(forward_train_one), quote!(backward_one), None, quote!(1)),
        Samples::Few => {
            (quote!(forward_train_few), quote!(backward_few), Some(quote!(const __B: usize,)), quote!(__B))
        }
    };
    quote! {
        #[inline(always)]
        #[allow(clippy::inline_always)]
        fn #forward_name<#few R: #private::Rng + ?Sized>(
            &mut self,
            inputs: &[#input_type],
            __workspace: &mut #workspace<T>,
            #rng: &mut R,
            __keep_input: bool,
        ) -> ::core::result::Result<(#(#types,)*), #private::BatchError> {
            let __batch = #batch;
            #checks
            __workspace.prepare(__batch);
            #(#forward)*
            ::core::result::Result::Ok((#(#values,)*))
        }

        #[inline(always)]
        #[allow(clippy::inline_always, unused_variables)]
        fn #backward_name<#few>(
            &self,
            inputs: &[#input_type],
            __workspace: &#workspace<T>,
            __gradients: &mut [T; #parameters],
            #output_gradient: #output_type,
            (#(#values,)*): (#(&#types,)*),
        ) {
            #(#backward)*
        }
    }
}

/// The type of one value of `size` on the stack: `[T; size]`, or `[[T; __B]; size]`
/// (feature by feature, the samples in lanes).
fn value_type(size: usize, samples: Samples) -> TokenStream {
    let size = literal(size);
    match samples {
        Samples::One => quote!([T; #size]),
        Samples::Few => quote!([[T; __B]; #size]),
    }
}

/// How a layer's backward pass takes a value on the stack: as a slice, or as the array.
fn passed(value: &Ident, samples: Samples) -> TokenStream {
    match samples {
        Samples::One => quote!(&#value[..]),
        Samples::Few => quote!(&#value),
    }
}

/// `__v1, …, __vN`: the locals of the layers' outputs, in order.
pub(super) fn layer_values(network: &Network) -> Vec<Ident> {
    (1..network.values.len()).map(|value| format_ident!("__v{}", value)).collect()
}

/// `if __batch == 1 { … }`: the training forward of one sample through
/// `forward_train_one`, before the batch's checks (it makes its own); empty when the
/// network has none.
pub(super) fn forward_train(network: &Network) -> TokenStream {
    if !applies(network) {
        return TokenStream::new();
    }
    let rng = rng_ident(network);
    quote! {
        if __batch == 1 {
            return self.forward_train_one(inputs, __workspace, #rng, __keep_input).map(|_| ());
        }
    }
}

fn forward_statements(network: &Network, samples: Samples) -> Option<Vec<TokenStream>> {
    if !is_small_chain(network) {
        return None;
    }
    let private = private();
    let inputs = literal(network.inputs());
    let (first, input) = (format_ident!("__v0"), value_type(network.inputs(), samples));
    let (take, kept) = match samples {
        Samples::One => (quote!(#private::one_sample(inputs)), quote!(#inputs)),
        Samples::Few => (quote!(#private::few_samples(inputs)), quote!(__B * #inputs)),
    };
    let mut statements = vec![quote! {
        let #first: #input = #take;
        if __keep_input {
            __workspace.input[..#kept].copy_from_slice(&inputs[..#kept]);
        }
    }];
    for (index, node) in network.nodes.iter().enumerate() {
        let input = format_ident!("__v{}", index);
        let output = value_type(network.values[index + 1].shape.len(), samples);
        let value =
            node.layer.forward_train_on_stack(&site(network, index, vec![quote!(&#input)]), samples)?;
        let binding = format_ident!("__v{}", index + 1);
        statements.push(quote_spanned!(node.span=> let #binding: #output = #value;));
    }
    Some(statements)
}

/// `if __workspace.batch == 1 { … }`: the backward pass of one sample through
/// `backward_one`, from the output's gradient and the layers' outputs in the workspace;
/// empty when the network has none.
pub(super) fn backward(network: &Network) -> TokenStream {
    if !applies(network) {
        return TokenStream::new();
    }
    let private = private();
    let last = gradient_field(network, network.output(), 0);
    let fields = (1..network.values.len()).map(|value| value_field(network, value));
    quote! {
        if __workspace.batch == 1 {
            let __output_gradient = #private::one_sample(&__workspace.#last);
            let __values = (#(#private::one_sample_ref(&__workspace.#fields),)*);
            return self.backward_one(inputs, __workspace, __gradients, __output_gradient, __values);
        }
    }
}

/// The statements of `backward_one`, from the output's gradient, a local `[T; N]`, each
/// layer's input gradient in another; each layer reads its input and output from the
/// locals `__v1, …, __vN` (references to arrays).
fn backward_statements(network: &Network, samples: Samples) -> Option<Vec<TokenStream>> {
    if !is_small_chain(network) {
        return None;
    }
    let private = private();
    let mut statements = Vec::new();
    for (index, node) in network.nodes.iter().enumerate().rev() {
        if !network.values[index + 1].requires_gradient {
            continue;
        }
        let input = match (index, samples) {
            (0, Samples::One) => quote!(inputs),
            (0, Samples::Few) => quote!(&#private::few_samples(inputs)),
            _ => passed(&format_ident!("__v{}", index), samples),
        };
        let output = passed(&format_ident!("__v{}", index + 1), samples);
        let site = site(network, index, vec![input]);
        let gradient =
            node.layer.backward_on_stack(&site, samples, &format_ident!("__g{}", index + 1), &output)?;
        let split = split_tensors(network, index, &quote!(__gradients), "__grad_");
        let input = value_type(network.values[index].shape.len(), samples);
        let binding = match site.input_gradients[0] {
            Some(_) => format_ident!("__g{}", index).into_token_stream(),
            None => quote!(_),
        };
        statements.push(quote_spanned!(node.span=> #split let #binding: #input = #gradient;));
    }
    Some(statements)
}
