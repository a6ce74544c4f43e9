//! Stage 3: checked model → Rust code.
//!
//! For `struct Xor` this writes `struct Xor<T = f32>` (one heap buffer of parameters),
//! `struct XorWorkspace<T>` (the buffers of a training step), inherent methods (`seeded`,
//! `forward`, `forward_batch`, each layer's accessors) and `impl nn::Network<T>`. Each pass
//! is straight-line code, one statement per layer in topological order, written by the
//! layer's kind (`crate::layers`) into buffers this module wires: which field holds each
//! value and its gradient, and where a value read by several layers sums their gradients.
//! Generated code names only absolute paths and `__`-prefixed locals.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::layers::Site;
use crate::model::Network;

mod bake;
mod inference;
mod one_sample;
mod stream;
mod training;
mod workspace;

/// A size or offset as an unsuffixed literal (`784`, not `784usize`).
fn literal(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// `::nn::__private`, where every path the generated code names lives.
fn private() -> TokenStream {
    quote!(::nn::__private)
}

/// Writes all code for a checked network.
pub fn expand(network: &Network) -> TokenStream {
    let network_struct = network_struct(network);
    let workspace = workspace::workspace(network);
    let view = inference::view(network);
    let core_impl = inference::core_impl(network);
    let std_impl = inference::std_impl(network);
    let trait_impl = training::network_impl(network);
    let stream = stream::stream(network);
    let bake = bake::bake(network);
    let private = private();
    quote! {
        #network_struct
        #view
        #core_impl
        #stream
        #bake
        #private::std_only! {
            #workspace
            #std_impl
            #trait_impl
        }
    }
}

/// The name of a training pass's random number generator: `_rng` when no layer draws from it.
fn rng_ident(network: &Network) -> Ident {
    if network.nodes.iter().any(|node| node.layer.uses_rng()) {
        format_ident!("__rng")
    } else {
        format_ident!("_rng")
    }
}

/// The type of one input value: `T`, or `u32` for ids.
fn input_type(network: &Network) -> TokenStream {
    if network.takes_ids() { quote!(u32) } else { quote!(T) }
}

/// Every layer's input checks (see `Layer::validate`), on the raw input `inputs`.
fn validations(network: &Network, inputs: &TokenStream) -> TokenStream {
    let checks = (0..network.nodes.len()).map(|node| {
        let site = site(network, node, vec![inputs.clone(); network.nodes[node].inputs.len()]);
        network.nodes[node].layer.validate(&site)
    });
    quote!(#(#checks)*)
}

fn workspace_ident(network: &Network) -> Ident {
    format_ident!("{}Workspace", network.ident)
}

/// The workspace field holding a value: `input`, or its layer's `…_output`.
fn value_field(network: &Network, value: usize) -> Ident {
    match value {
        0 => format_ident!("input"),
        _ => format_ident!("{}_output", network.nodes[value - 1].ident),
    }
}

/// The workspace field holding `∂L/∂value`, or its `part`-th extra buffer (`part > 0`)
/// where several layers read the value.
fn gradient_field(network: &Network, value: usize, part: usize) -> Ident {
    let ident = &network.nodes[value - 1].ident;
    match part {
        0 => format_ident!("{}_gradient", ident),
        _ => format_ident!("{}_gradient_{}", ident, part),
    }
}

/// Whether the workspace holds `∂L/∂value`: it needs one, or it is the output, which the
/// loss writes its gradient into.
fn has_gradient(network: &Network, value: usize) -> bool {
    value > 0 && (network.values[value].requires_gradient || value == network.output())
}

/// Where node `node`'s input `slot` sends its gradient: `Some(part)` (0 is the value's own
/// gradient buffer, overwritten; others are summed into it after the layer's backward), or
/// `None` when the value needs no gradient.
///
/// Backward visits layers in reverse, so the value's last reader writes first: its last
/// slot overwrites, every other reader writes a part buffer of its own slot's number.
fn gradient_part(network: &Network, node: usize, slot: usize) -> Option<usize> {
    let value = network.nodes[node].inputs[slot];
    if !network.values[value].requires_gradient {
        return None;
    }
    let consumers = &network.values[value].consumers;
    if consumers.last() == Some(&(node, slot)) {
        return Some(0);
    }
    let earlier = consumers.iter().filter(|&&(n, s)| n == node && s < slot).count();
    Some(earlier + 1)
}

/// Part buffers a value needs: the most any one layer writes at once.
fn gradient_parts(network: &Network, value: usize) -> usize {
    let consumers = &network.values[value].consumers;
    let mut most = 0;
    for (position, &(node, slot)) in consumers.iter().enumerate() {
        let last = position + 1 == consumers.len();
        if !last {
            most = most.max(gradient_part(network, node, slot).unwrap_or(0));
        }
    }
    most
}

/// The site of node `node` with the given input expressions.
fn site(network: &Network, node: usize, inputs: Vec<TokenStream>) -> Site {
    let n = &network.nodes[node];
    let tensors = n.layer.parameters();
    let parameters = tensors
        .iter()
        .zip(&n.offsets)
        .map(|(tensor, &offset)| (tensor.name, offset..offset + tensor.shape.iter().product::<usize>()))
        .collect();
    let buffers = n
        .layer
        .buffers()
        .iter()
        .zip(&n.buffer_offsets)
        .map(|(buffer, &offset)| (buffer.name, offset..offset + buffer.shape.iter().product::<usize>()))
        .collect();
    let input_gradients = (0..n.inputs.len())
        .map(|slot| {
            gradient_part(network, node, slot).map(|part| gradient_field(network, n.inputs[slot], part))
        })
        .collect();
    Site {
        name: n.name.clone(),
        ident: n.ident.clone(),
        span: n.span,
        inputs,
        input_gradients,
        parameters,
        buffers,
    }
}

/// `let [__weight, __bias] = split_tensors(&mut buffer[a..b], [lengths]);`: a layer's
/// tensors as separate mutable slices of a parameter-shaped buffer.
fn split_tensors(network: &Network, node: usize, buffer: &TokenStream, prefix: &str) -> TokenStream {
    let n = &network.nodes[node];
    let tensors = n.layer.parameters();
    if tensors.is_empty() {
        return TokenStream::new();
    }
    let private = private();
    let names = tensors.iter().map(|t| crate::layers::tensor_ident(prefix, t.name));
    let lengths: Vec<usize> = tensors.iter().map(|t| t.shape.iter().product()).collect();
    let start = n.offsets[0];
    let end = start + lengths.iter().sum::<usize>();
    let (start, end) = (literal(start), literal(end));
    let lengths = lengths.into_iter().map(literal);
    quote! {
        let [#(#names),*] = #private::split_tensors(&mut #buffer[#start..#end], [#(#lengths),*]);
    }
}

fn network_struct(network: &Network) -> TokenStream {
    let Network { attrs, vis, ident, .. } = network;
    let parameters = literal(network.parameters);
    let buffers = literal(network.buffers);
    let private = private();
    let summary = network.nodes.iter().map(|n| n.layer.describe()).collect::<Vec<_>>().join(", ");
    let shape = format!(
        "Generated by `nn::network!`: {summary}. {} inputs, {} outputs, {parameters} parameters{}, generic over `f32` (default) and `f64`.",
        network.inputs(),
        network.outputs(),
        if network.buffers > 0 { format!(", {buffers} values of state") } else { String::new() }
    );
    quote! {
        #(#attrs)*
        ///
        #[doc = #shape]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #ident<T = f32> {
            parameters: #private::Storage<T, #parameters>,
            buffers: #private::Storage<T, #buffers>,
            revision: #private::Revision,
        }
    }
}
