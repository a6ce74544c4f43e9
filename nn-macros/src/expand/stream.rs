//! The streaming API of a network over sequences whose every layer can run one step at a
//! time (recurrent layers in one direction, dense and activation layers, `last_step`):
//! `struct {Net}State<T>` holding each recurrent layer's state, and `Net::step`, one step of
//! one sample with every size a constant — no allocation and no branch on the architecture,
//! compiled for the widest vector instructions the CPU has (`nn::isa::run_best`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::{literal, private, site};
use crate::model::Network;

/// The state type's name: `{Net}State`.
fn state_ident(network: &Network) -> Ident {
    format_ident!("{}State", network.ident)
}

/// Values per step of a value: its last axis.
fn step_size(network: &Network, value: usize) -> usize {
    network.values[value].shape.0.last().copied().unwrap_or(0)
}

/// The state type and `step`, or nothing when the input is no sequence or a layer needs the
/// whole sequence.
pub(super) fn stream(network: &Network) -> TokenStream {
    if network.values[0].shape.0.len() != 2 || network.takes_ids() {
        return TokenStream::new();
    }
    let Some((statements, state)) = steps(network) else {
        return TokenStream::new();
    };
    let (prepare, derived) = prepare(network);
    let private = private();
    let (vis, ident, state_ident) = (&network.vis, &network.ident, state_ident(network));
    let view = super::inference::view_ident(network);
    let (inputs, outputs) = (literal(step_size(network, 0)), literal(step_size(network, network.output())));
    let (size, derived_size) = (literal(state), literal(derived));
    let state_doc = format!(
        "The state of [`{ident}::step`] between steps of a sequence: each recurrent layer's hidden state (and an LSTM's cell), {state} values, zero at the start; and the recurrent weights transposed for the step's products ({derived} values), rebuilt when the network's parameters change."
    );
    let step_doc = format!(
        "One step of a sequence, streamed: reads {} values, updates `state` and returns this step's {} outputs — the whole-sequence forward one step at a time, with no allocation.",
        step_size(network, 0),
        step_size(network, network.output())
    );
    quote! {
        #[doc = #state_doc]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #state_ident<T = f32> {
            values: [T; #size],
            derived: [T; #derived_size],
            /// The network revision `derived` was built from (0: none yet).
            revision: u64,
        }

        impl<T: #private::Real> ::core::default::Default for #state_ident<T> {
            fn default() -> Self {
                Self { values: [T::zero(); #size], derived: [T::zero(); #derived_size], revision: 0 }
            }
        }

        impl<T: #private::Real> #state_ident<T> {
            /// The state before the first step: all zero.
            #[must_use]
            pub fn new() -> Self {
                Self::default()
            }

            /// Back to the state before the first step, for a new sequence.
            pub fn reset(&mut self) {
                self.values = [T::zero(); #size];
            }

            /// The state's values, layer by layer.
            #[must_use]
            pub fn values(&self) -> &[T] {
                &self.values
            }
        }

        impl<T: #private::Real> #ident<T> {
            #[doc = #step_doc]
            #[must_use]
            pub fn step(&self, state: &mut #state_ident<T>, input: &#private::SVector<T, #inputs>) -> #private::SVector<T, #outputs> {
                self.view().step(state, input)
            }
        }

        impl<T: #private::Real> #view<'_, T> {
            #[doc = #step_doc]
            #[must_use]
            pub fn step(&self, state: &mut #state_ident<T>, input: &#private::SVector<T, #inputs>) -> #private::SVector<T, #outputs> {
                struct __Step<'a, 'v, T> {
                    network: &'a #view<'v, T>,
                    state: &'a mut #state_ident<T>,
                    input: &'a #private::SVector<T, #inputs>,
                }
                impl<T: #private::Real> #private::Pass for __Step<'_, '_, T> {
                    type Output = #private::SVector<T, #outputs>;
                    #[inline(always)]
                    #[allow(clippy::inline_always)]
                    fn run(self) -> Self::Output {
                        self.network.step_body(self.state, self.input)
                    }
                }
                #private::run_widest(__Step { network: self, state, input })
            }

            #[inline(always)]
            #[allow(clippy::inline_always)]
            fn step_body(&self, state: &mut #state_ident<T>, input: &#private::SVector<T, #inputs>) -> #private::SVector<T, #outputs> {
                if state.revision != self.revision {
                    #prepare
                    state.revision = self.revision;
                }
                #statements
            }
        }
    }
}

/// The body of `step` and the state's size, or `None` when a layer cannot stream.
fn steps(network: &Network) -> Option<(TokenStream, usize)> {
    let private = private();
    let mut statements = Vec::new();
    // Each value's stack vector: `None` for the input, then each layer's step.
    let mut values: Vec<Option<Ident>> = vec![None];
    let reference = |value: &Option<Ident>| value.as_ref().map_or_else(|| quote!(input), |x| quote!(&#x));
    let (mut state, mut derived) = (0, 0);
    for (index, node) in network.nodes.iter().enumerate() {
        if node.layer.identity_in_inference() {
            // Dropout passes each step through; a flatten would merge the steps.
            if network.values[index + 1].shape != network.values[node.inputs[0]].shape {
                return None;
            }
            values.push(values[node.inputs[0]].clone());
            continue;
        }
        let inputs = node.inputs.iter().map(|&v| reference(&values[v])).collect();
        let step = node.layer.stream(&site(network, index, inputs))?;
        let bind_state = (node.layer.stream_state() > 0).then(|| {
            let (start, end) = (literal(state), literal(state + node.layer.stream_state()));
            quote!(let __state = &mut state.values[#start..#end];)
        });
        state += node.layer.stream_state();
        let bind_derived = (node.layer.stream_weights() > 0).then(|| {
            let (start, end) = (literal(derived), literal(derived + node.layer.stream_weights()));
            quote!(let __derived = &state.derived[#start..#end];)
        });
        derived += node.layer.stream_weights();
        let next = format_ident!("__x{}", index);
        let size = literal(step_size(network, index + 1));
        statements.push(quote_spanned! {node.span=>
            let #next: #private::SVector<T, #size> = {
                #bind_state
                #bind_derived
                #step
            };
        });
        values.push(Some(next));
    }
    let result = match values.pop().flatten() {
        Some(last) => quote!(#last),
        None => quote!(*input),
    };
    // A network without recurrent layers streams with an empty state.
    let unused = (state == 0).then(|| quote!(let _ = state;));
    Some((quote!(#unused #(#statements)* #result), state))
}

/// Whether a streaming state keeps some of the network's weights in another layout, which
/// it rebuilds when the network's revision changes (as a workspace does its packed weights:
/// `workspace::prepacks_weights`).
pub(super) fn derives_weights(network: &Network) -> bool {
    network.nodes.iter().any(|node| node.layer.stream_weights() > 0)
}

/// The statements that rebuild every layer's derived weights in the state, and their size.
fn prepare(network: &Network) -> (TokenStream, usize) {
    let mut statements = Vec::new();
    let mut derived = 0;
    for (index, node) in network.nodes.iter().enumerate() {
        let size = node.layer.stream_weights();
        if size == 0 {
            continue;
        }
        let (start, end) = (literal(derived), literal(derived + size));
        let prepare = node.layer.stream_prepare(&site(network, index, Vec::new()));
        statements.push(quote! {{
            let __derived = &mut state.derived[#start..#end];
            #prepare
        }});
        derived += size;
    }
    (quote!(#(#statements)*), derived)
}
