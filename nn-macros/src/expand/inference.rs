//! The inherent methods: construction, one-sample and batched inference, the pass bodies
//! (run through `nn::isa` so they compile for the widest vectors) and the layer accessors.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::training::{backward_body, forward_train_body, one_sample_methods};
use super::{input_type, literal, private, rng_ident, site, validations, value_field, workspace_ident};
use crate::model::Network;

/// Parameters from which a network's passes are also compiled for AVX2 and chosen at run
/// time: below, a handful of scalar operations dominate and the feature check would cost
/// more than wider vectors save. Measured when one-sample `forward` followed it too, before
/// the small kernels inlined into dispatched passes: W1 (13 parameters) slower with the
/// check (26 against 33 ns), RTNeural's 1-8-8-1 tanh shape (97) faster (102 against 87
/// ns); W1's four-sample training step 93 → 123 ns with it.
pub(super) const DISPATCH_FROM_PARAMETERS: usize = 64;

/// Parameters from which one-sample `forward` dispatches as the passes do (see
/// [`DISPATCH_FROM_PARAMETERS`]): sooner, since it has no batch loops to keep scalar and
/// its tanh and sigmoid lanes, compiled with FMA, shorten the chain it waits on. Measured
/// per sample in the default build, without the check and with it: 1 → 2 → 1 tanh (7
/// parameters) 7.2 → 8.5 ns, W1 (2-3-1 sigmoid, 13) 19.8 → 18.7, 1 → 4 → 4 → 1 tanh (33)
/// 22.0 → 19.7.
pub(super) const FORWARD_DISPATCH_FROM_PARAMETERS: usize = 10;

/// The passes, each an `#[inline(always)]` body run through `nn::__private::run_best`, which
/// compiles it again for the widest vector instructions the CPU has (see `nn::isa`).
fn passes(network: &Network) -> TokenStream {
    let private = private();
    let ident = &network.ident;
    let workspace = workspace_ident(network);
    let infer = infer_body(network);
    let forward_train = forward_train_body(network);
    let backward = backward_body(network);
    let rng = rng_ident(network);
    let one_sample = one_sample_methods(network);
    let runner =
        if network.parameters >= DISPATCH_FROM_PARAMETERS { quote!(run_best) } else { quote!(run_direct) };
    let input_type = input_type(network);
    // An id network's inference fails on an id outside a vocabulary; a real one cannot fail.
    let infer_output = if network.takes_ids() {
        quote!(::core::result::Result<&'w [T], #private::BatchError>)
    } else {
        quote!(&'w [T])
    };
    quote! {
            /// Batched inference on a column-major slice of exactly `batch` samples.
            fn infer_batch<'w>(
                &self,
                inputs: &[#input_type],
                batch: usize,
                workspace: &'w mut #workspace<T>,
            ) -> #infer_output {
                struct __Infer<'a, 'w, T> {
                    network: &'a #ident<T>,
                    inputs: &'a [#input_type],
                    batch: usize,
                    workspace: &'w mut #workspace<T>,
                }
                impl<'w, T: #private::Real> #private::Pass for __Infer<'_, 'w, T> {
                    type Output = #infer_output;
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
                inputs: &[#input_type],
                batch: usize,
                __workspace: &'w mut #workspace<T>,
            ) -> #infer_output {
                #infer
            }

            #[inline(always)]
            #[allow(clippy::inline_always)]
            fn forward_train_body<R: #private::Rng + ?Sized>(
                &mut self,
                inputs: &[#input_type],
                __workspace: &mut #workspace<T>,
                #rng: &mut R,
                __keep_input: bool,
            ) -> ::core::result::Result<(), #private::BatchError> {
                #forward_train
            }

            #[inline(always)]
            #[allow(clippy::inline_always)]
            fn backward_body(&self, inputs: &[#input_type], __workspace: &mut #workspace<T>, gradients: &mut [T]) {
                #backward
            }

            #one_sample

    }
}

/// The view type's name: `{Net}View`.
pub(super) fn view_ident(network: &Network) -> Ident {
    format_ident!("{}View", network.ident)
}

/// `struct {Net}View<'a, T>`: the network over borrowed weights, with the one-sample
/// inference methods (and `step`, see `stream`). It allocates nothing and needs no `std`, so
/// it is what a baked network (weights in `static` data) and a `no_std` program run; the
/// owned network's `forward` is its view's.
pub(super) fn view(network: &Network) -> TokenStream {
    let private = private();
    let (vis, ident, view) = (&network.vis, &network.ident, view_ident(network));
    let (parameters, buffers) = (literal(network.parameters), literal(network.buffers));
    let forward_methods = forward_methods(network);
    let conveniences = forward_conveniences(network);
    let doc = format!(
        "[`{ident}`] over borrowed weights: a parameter array and a state array laid out as its buffers. One-sample inference with no heap — weights in `static` data (a baked network), in flash or in a memory map. `Copy`: pass it by value."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug)]
        #vis struct #view<'a, T = f32> {
            parameters: &'a [T; #parameters],
            buffers: &'a [T; #buffers],
            /// Which weights these are, for a streaming state's derived copies.
            revision: u64,
        }

        impl<'a, T: #private::Real> #view<'a, T> {
            /// The network over these parameters and state (running statistics), laid out as
            /// its `nn::Network::parameter_specs` and `buffer_specs` say (PyTorch's names,
            /// shapes and order).
            #[must_use]
            pub fn new(parameters: &'a [T; #parameters], buffers: &'a [T; #buffers]) -> Self {
                Self { parameters, buffers, revision: #private::Revision::new().get() }
            }

            /// The parameters.
            #[must_use]
            pub const fn parameters(&self) -> &'a [T; #parameters] {
                self.parameters
            }

            /// The state (running statistics).
            #[must_use]
            pub const fn buffers(&self) -> &'a [T; #buffers] {
                self.buffers
            }

            #forward_methods

            #conveniences
        }
    }
}

/// `forward` (one sample on the stack, through `nn::isa`) and its body, for the view.
fn forward_methods(network: &Network) -> TokenStream {
    let private = private();
    let view = view_ident(network);
    let runner = if network.parameters >= FORWARD_DISPATCH_FROM_PARAMETERS {
        quote!(run_best)
    } else {
        quote!(run_direct)
    };
    let forward_one = forward_one(network);
    let (sample, forward_output) = forward_signature(network);
    let forward_doc = forward_doc(network);
    quote! {
            #[doc = #forward_doc]
            #[must_use]
            pub fn forward(
                &self,
                input: &#sample,
            ) -> #forward_output {
                struct __Forward<'a, 'v, T> {
                    network: &'a #view<'v, T>,
                    input: &'a #sample,
                }
                impl<T: #private::Real> #private::Pass for __Forward<'_, '_, T> {
                    type Output = #forward_output;
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
                input: &#sample,
            ) -> #forward_output {
                #forward_one
            }
    }
}

/// One sample's type and `forward`'s result: fallible for ids.
fn forward_signature(network: &Network) -> (TokenStream, TokenStream) {
    let private = private();
    let (inputs, outputs) = (literal(network.inputs()), literal(network.outputs()));
    if network.takes_ids() {
        (
            quote!([u32; #inputs]),
            quote!(::core::result::Result<#private::SVector<T, #outputs>, #private::BatchError>),
        )
    } else {
        (quote!(#private::SVector<T, #inputs>), quote!(#private::SVector<T, #outputs>))
    }
}

fn forward_doc(network: &Network) -> &'static str {
    if network.takes_ids() {
        "Inference on one sample of ids, on the stack (dropout off, running statistics).\n\n# Errors\n\nWhen an id is outside an embedding's vocabulary."
    } else {
        "Inference on one sample, on the stack (dropout off, running statistics)."
    }
}

/// The owned network's `view` and its one-sample methods, which are its view's.
fn owned_forward(network: &Network) -> TokenStream {
    let private = private();
    let view = view_ident(network);
    let (sample, forward_output) = forward_signature(network);
    let forward_doc = forward_doc(network);
    let outputs = literal(network.outputs());
    let input_type = input_type(network);
    let result = quote!(::core::result::Result<#private::SVector<T, #outputs>, #private::BatchError>);
    let vector = (!network.takes_ids()).then(|| {
        quote! {
            /// Inference on one sample held in any nalgebra column vector (see the view's
            /// [`forward_vector`](#view::forward_vector)).
            ///
            /// # Errors
            ///
            /// When the vector does not have exactly `INPUTS` values.
            pub fn forward_vector<R: #private::Dim, S: #private::RawStorage<T, R>>(
                &self,
                input: &#private::Matrix<T, R, #private::U1, S>,
            ) -> #result {
                self.view().forward_vector(input)
            }
        }
    });
    quote! {
        /// The network as a [`#view`]: its weights borrowed, for one-sample inference.
        #[must_use]
        pub fn view(&self) -> #view<'_, T> {
            #view { parameters: &self.parameters, buffers: &self.buffers, revision: self.revision.get() }
        }

        #[doc = #forward_doc]
        #[must_use]
        pub fn forward(&self, input: &#sample) -> #forward_output {
            self.view().forward(input)
        }

        /// Inference on one sample given as a slice.
        ///
        /// # Errors
        ///
        /// When the slice does not hold exactly `INPUTS` values, or (for ids) an id is
        /// outside an embedding's vocabulary.
        pub fn forward_slice(&self, input: &[#input_type]) -> #result {
            self.view().forward_slice(input)
        }

        #vector
    }
}

/// The inherent methods that need no `std`: sizes and costs, the view, one-sample
/// inference, and a copy of a view.
pub(super) fn core_impl(network: &Network) -> TokenStream {
    let private = private();
    let ident = &network.ident;
    let (inputs, outputs) = (literal(network.inputs()), literal(network.outputs()));
    let parameters = literal(network.parameters);
    let view = view_ident(network);
    let facts = facts(network);
    let owned_forward = owned_forward(network);
    quote! {
        impl<T: #private::Real> #ident<T> {
            /// Values per input sample.
            pub const INPUTS: usize = #inputs;
            /// Values per output sample.
            pub const OUTPUTS: usize = #outputs;
            /// Values in the parameter buffer.
            pub const PARAMETERS: usize = #parameters;

            #facts

            /// An owned copy of a view's weights (a baked network's, to train on).
            #[must_use]
            pub fn from_view(view: #view<'_, T>) -> Self {
                Self {
                    parameters: #private::stored_copy(view.parameters),
                    buffers: #private::stored_copy(view.buffers),
                    revision: #private::Revision::new(),
                }
            }

            #owned_forward
        }
    }
}

/// The inherent methods that need `std`: seeded construction, batches, the training passes
/// and the layer accessors.
pub(super) fn std_impl(network: &Network) -> TokenStream {
    let private = private();
    let ident = &network.ident;
    let workspace = workspace_ident(network);
    let passes = passes(network);
    let accessors = (0..network.nodes.len())
        .map(|node| network.nodes[node].layer.accessors(&site(network, node, Vec::new())));
    let forward_batch = forward_batch(network);
    let forward_batch_with = forward_batch_with(network);
    quote! {
        impl<T: #private::Real> #ident<T> {
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

            #forward_batch

            #forward_batch_with

            #(#accessors)*
        }
    }
}

/// The network's costs as constants, for compile-time budgets:
/// `const _: () = assert!(Net::<f32>::PARAMETER_BYTES <= 64 * 1024);`.
fn facts(network: &Network) -> TokenStream {
    let flops: usize = network.nodes.iter().map(|node| node.layer.flops()).fold(0, usize::saturating_add);
    let backward: usize = network
        .nodes
        .iter()
        .map(|node| {
            let input_gradient = node.inputs.iter().any(|&value| network.values[value].requires_gradient);
            node.layer.backward_flops(input_gradient)
        })
        .fold(0, usize::saturating_add);
    let training = literal(flops.saturating_add(backward));
    let held: usize = (0..network.nodes.len())
        .filter(|&node| !network.nodes[node].layer.identity_in_inference())
        .map(|node| network.values[node + 1].shape.len())
        .fold(0, usize::saturating_add);
    let scratch: usize =
        network.nodes.iter().map(|node| node.layer.forward_scratch()).fold(0, usize::saturating_add);
    let (flops, held, buffers, scratch) =
        (literal(flops), literal(held), literal(network.buffers), literal(scratch));
    quote! {
        /// Floating-point operations of one sample's `forward`: 2 per multiply-add of every
        /// product (dense, convolution, recurrent and attention), as PyTorch's
        /// `FlopCounterMode` counts; elementwise work is not counted.
        pub const FLOPS: usize = #flops;
        /// Floating-point operations of one sample's training step, forward and backward,
        /// counted as [`FLOPS`](Self::FLOPS) (the optimizer's update is not counted).
        pub const TRAINING_FLOPS: usize = #training;
        /// Bytes of the parameters: what a baked network keeps in read-only data, with
        /// [`BUFFER_BYTES`](Self::BUFFER_BYTES).
        pub const PARAMETER_BYTES: usize = Self::PARAMETERS * ::core::mem::size_of::<T>();
        /// Bytes of the state (running statistics).
        pub const BUFFER_BYTES: usize = #buffers * ::core::mem::size_of::<T>();
        /// Bytes of the values one-sample `forward` holds on the stack: every layer's output
        /// vector (dropout keeps none).
        pub const FORWARD_BYTES: usize = #held * ::core::mem::size_of::<T>();
        /// Bytes of scratch one-sample `forward` borrows: each recurrent layer's `W_hh`,
        /// transposed. A reused thread-local buffer with `std`; on the stack without, so
        /// that `FORWARD_BYTES + SCRATCH_BYTES` bounds the values a `no_std` `forward` keeps
        /// on its stack.
        pub const SCRATCH_BYTES: usize = #scratch * ::core::mem::size_of::<T>();
    }
}

/// `forward_slice` (one sample from a slice of any length, checked) and, for a network of
/// real inputs, `forward_vector` (one sample from any nalgebra column vector or view).
fn forward_conveniences(network: &Network) -> TokenStream {
    let private = private();
    let (inputs, outputs) = (literal(network.inputs()), literal(network.outputs()));
    let input_type = input_type(network);
    let result = quote!(::core::result::Result<#private::SVector<T, #outputs>, #private::BatchError>);
    let wrong_length = quote! {
        #private::BatchError::SampleLength { expected: #inputs, found: input.len() }
    };
    let slice = if network.takes_ids() {
        quote! {
            let __sample: &[u32; #inputs] = input.try_into().map_err(|_| #wrong_length)?;
            self.forward(__sample)
        }
    } else {
        quote! {
            if input.len() != #inputs {
                return ::core::result::Result::Err(#wrong_length);
            }
            ::core::result::Result::Ok(self.forward(&#private::SVector::<T, #inputs>::from_column_slice(input)))
        }
    };
    let vector = (!network.takes_ids()).then(|| {
        quote! {
            /// Inference on one sample held in any nalgebra column vector: an `SVector`, a
            /// `DVector`, or a view such as a matrix's column.
            ///
            /// # Errors
            ///
            /// When the vector does not have exactly `INPUTS` values.
            pub fn forward_vector<R: #private::Dim, S: #private::RawStorage<T, R>>(
                &self,
                input: &#private::Matrix<T, R, #private::U1, S>,
            ) -> #result {
                if input.len() != #inputs {
                    return ::core::result::Result::Err(#wrong_length);
                }
                let __sample = #private::SVector::<T, #inputs>::from_iterator(input.iter().copied());
                ::core::result::Result::Ok(self.forward(&__sample))
            }
        }
    });
    quote! {
        /// Inference on one sample given as a slice.
        ///
        /// # Errors
        ///
        /// When the slice does not hold exactly `INPUTS` values, or (for ids) an id is
        /// outside an embedding's vocabulary.
        pub fn forward_slice(&self, input: &[#input_type]) -> #result {
            #slice
        }

        #vector
    }
}

/// `forward_batch_with`: batched inference on the same matrix as `forward_batch`, into a
/// workspace, so a warm call allocates nothing; the output is a view into the workspace.
fn forward_batch_with(network: &Network) -> TokenStream {
    let private = private();
    let (inputs, outputs) = (literal(network.inputs()), literal(network.outputs()));
    let (input_type, workspace) = (input_type(network), workspace_ident(network));
    let view = quote!(#private::MatrixView<'w, T, #private::Const<#outputs>, #private::Dyn>);
    let (output, result, doc) = if network.takes_ids() {
        (
            quote!(::core::result::Result<#view, #private::BatchError>),
            quote!(::core::result::Result::Ok(<#view>::from_slice_generic(__output?, #private::Const::<#outputs>, #private::Dyn(__batch)))),
            "Batched inference on ids, one sample per column, into `workspace`: a warm call allocates nothing.\n\n# Errors\n\nWhen an id is outside an embedding's vocabulary.",
        )
    } else {
        (
            view.clone(),
            quote!(<#view>::from_slice_generic(__output, #private::Const::<#outputs>, #private::Dyn(__batch))),
            "Batched inference, one sample per column (as [`forward_batch`](Self::forward_batch)), into `workspace`: a warm call allocates nothing. The output is a view into the workspace.",
        )
    };
    quote! {
        #[doc = #doc]
        pub fn forward_batch_with<'w>(
            &self,
            inputs: &#private::OMatrix<#input_type, #private::Const<#inputs>, #private::Dyn>,
            workspace: &'w mut #workspace<T>,
        ) -> #output {
            let __batch = inputs.ncols();
            let __output = self.infer_batch(inputs.as_slice(), __batch, workspace);
            #result
        }
    }
}

/// `forward_batch`: inference on a matrix of samples, one per column (an id network's
/// returns a `Result`, failing on an id outside a vocabulary).
fn forward_batch(network: &Network) -> TokenStream {
    let private = private();
    let (inputs, outputs) = (literal(network.inputs()), literal(network.outputs()));
    let output = quote!(#private::OMatrix<T, #private::Const<#outputs>, #private::Dyn>);
    let body = quote! {
        let mut __workspace = Self::workspace();
        let __batch = inputs.ncols();
        let __output = self.infer_batch(inputs.as_slice(), __batch, &mut __workspace);
    };
    if network.takes_ids() {
        quote! {
            /// Inference on a batch of ids, one sample per column (dropout off, running
            /// statistics).
            ///
            /// # Errors
            ///
            /// When an id is outside an embedding's vocabulary.
            pub fn forward_batch(
                &self,
                inputs: &#private::OMatrix<u32, #private::Const<#inputs>, #private::Dyn>,
            ) -> ::core::result::Result<#output, #private::BatchError> {
                #body
                ::core::result::Result::Ok(<#output>::from_column_slice(__output?))
            }
        }
    } else {
        quote! {
            /// Inference on a batch, one sample per column (dropout off, running statistics).
            #[must_use]
            pub fn forward_batch(
                &self,
                inputs: &#private::OMatrix<T, #private::Const<#inputs>, #private::Dyn>,
            ) -> #output {
                #body
                <#output>::from_column_slice(__output)
            }
        }
    }
}

/// The one-sample forward: a chain of stack vectors. Layers that are the identity in
/// inference (dropout) add no statement.
fn forward_one(network: &Network) -> TokenStream {
    let private = private();
    let mut statements = Vec::new();
    // Each value's stack vector: `None` for the input, then each layer's result.
    let mut values: Vec<Option<Ident>> = vec![None];
    let reference = |value: &Option<Ident>| value.as_ref().map_or_else(|| quote!(input), |x| quote!(&#x));
    for (index, node) in network.nodes.iter().enumerate() {
        if node.layer.identity_in_inference() {
            values.push(values[node.inputs[0]].clone());
            continue;
        }
        let inputs = node.inputs.iter().map(|&v| reference(&values[v])).collect();
        let value = node.layer.forward_one(&site(network, index, inputs));
        let next = format_ident!("__x{}", index);
        let outputs = literal(network.values[index + 1].shape.len());
        statements.push(quote_spanned!(node.span=> let #next: #private::SVector<T, #outputs> = #value;));
        values.push(Some(next));
    }
    let mut result = match values.pop().flatten() {
        Some(last) => quote!(#last),
        None => quote!(*input),
    };
    let validations = validations(network, &quote!(&input[..]));
    if network.takes_ids() {
        result = quote!(::core::result::Result::Ok(#result));
    }
    quote! {
        #validations
        #(#statements)*
        #result
    }
}

/// Batched inference into the workspace. Layers that are the identity in inference are
/// skipped: the layers after them read the buffer before them.
fn infer_body(network: &Network) -> TokenStream {
    let mut statements = Vec::new();
    // Each value's workspace field: `None` for the raw input, then each layer's output.
    let mut values: Vec<Option<Ident>> = vec![None];
    let expression =
        |value: &Option<Ident>| value.as_ref().map_or_else(|| quote!(inputs), |f| quote!(&__workspace.#f));
    for (index, node) in network.nodes.iter().enumerate() {
        if node.layer.identity_in_inference() {
            values.push(values[node.inputs[0]].clone());
            continue;
        }
        let inputs = node.inputs.iter().map(|&v| expression(&values[v])).collect();
        statements.push(node.layer.infer(&site(network, index, inputs)));
        values.push(Some(value_field(network, index + 1)));
    }
    let mut result = match values.pop().flatten() {
        Some(field) => quote!(&__workspace.#field),
        None => {
            // Only layers that are the identity: the output is the input.
            statements.push(quote!(__workspace.input.copy_from_slice(inputs);));
            quote!(&__workspace.input)
        }
    };
    let validations = validations(network, &quote!(inputs));
    if network.takes_ids() {
        result = quote!(::core::result::Result::Ok(#result));
    }
    quote! {
        #validations
        __workspace.prepare(batch);
        #(#statements)*
        #result
    }
}
