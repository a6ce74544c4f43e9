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
//! each `z` and `a`), so either pass may follow the other. A network takes this path when
//! it is a chain and every layer has a one-sample pass
//! ([`crate::layers::Layer::forward_train_one`], [`crate::layers::Layer::backward_one`]);
//! otherwise its one-sample steps run the batch code.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};

use super::training::training_inputs;
use super::{gradient_field, literal, private, site, split_tensors};
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
    forward_statements(network).is_some() && backward_statements(network).is_some()
}

/// `if __batch == 1 { … return Ok(()); }`: the training forward of one sample, each value
/// in a local `[T; N]`; empty when the network has none.
pub(super) fn forward_train(network: &Network) -> TokenStream {
    forward_statements(network).map_or_else(TokenStream::new, |statements| {
        quote! {
            if __batch == 1 {
                #(#statements)*
                return ::core::result::Result::Ok(());
            }
        }
    })
}

fn forward_statements(network: &Network) -> Option<Vec<TokenStream>> {
    if !is_small_chain(network) {
        return None;
    }
    let private = private();
    let inputs = literal(network.inputs());
    let mut statements = vec![quote! {
        let __v0: [T; #inputs] = #private::one_sample(inputs);
        if __keep_input {
            __workspace.input[..#inputs].copy_from_slice(&__v0);
        }
    }];
    for (index, node) in network.nodes.iter().enumerate() {
        let input = format_ident!("__v{}", index);
        let output = literal(network.values[index + 1].shape.len());
        let value = node.layer.forward_train_one(&site(network, index, vec![quote!(&#input)]))?;
        let last = index + 1 == network.nodes.len();
        let binding = if last { quote!(_) } else { format_ident!("__v{}", index + 1).into_token_stream() };
        statements.push(quote_spanned!(node.span=> let #binding: [T; #output] = #value;));
    }
    Some(statements)
}

/// `if __workspace.batch == 1 { … return; }`: the backward pass of one sample, each
/// gradient in a local `[T; N]`; empty when the network has none.
pub(super) fn backward(network: &Network) -> TokenStream {
    backward_statements(network).map_or_else(TokenStream::new, |statements| {
        quote! {
            if __workspace.batch == 1 {
                #(#statements)*
                return;
            }
        }
    })
}

fn backward_statements(network: &Network) -> Option<Vec<TokenStream>> {
    if !is_small_chain(network) {
        return None;
    }
    let private = private();
    let output = network.output();
    let (outputs, last) = (literal(network.outputs()), gradient_field(network, output, 0));
    let first = format_ident!("__g{}", output);
    let mut statements = vec![quote!(let #first: [T; #outputs] = #private::one_sample(&__workspace.#last);)];
    for (index, node) in network.nodes.iter().enumerate().rev() {
        if !network.values[index + 1].requires_gradient {
            continue;
        }
        let site = site(network, index, training_inputs(network, index));
        let gradient = node.layer.backward_one(&site, &format_ident!("__g{}", index + 1))?;
        let split = split_tensors(network, index, &quote!(__gradients), "__grad_");
        let input = literal(network.values[index].shape.len());
        let binding = match site.input_gradients[0] {
            Some(_) => format_ident!("__g{}", index).into_token_stream(),
            None => quote!(_),
        };
        statements.push(quote_spanned!(node.span=> #split let #binding: [T; #input] = #gradient;));
    }
    Some(statements)
}
