//! `impl nn::Network`: parameter specs, initialisation, the training forward and backward.

use proc_macro2::TokenStream;
use quote::quote;

use super::inference::DISPATCH_FROM_PARAMETERS;
use super::{
    gradient_field, gradient_part, input_type, literal, one_sample, private, site, split_tensors, stream,
    validations, value_field, workspace, workspace_ident,
};
use crate::layers::Samples;
use crate::model::Network;

pub(super) fn network_impl(network: &Network) -> TokenStream {
    let private = private();
    let ident = &network.ident;
    let (inputs, outputs) = (literal(network.inputs()), literal(network.outputs()));
    let (parameters, buffers) = (literal(network.parameters), literal(network.buffers));
    let workspace = workspace_ident(network);
    let state = state_methods(network);
    let input_shape = network.values[0].shape.0.iter().map(|&d| literal(d));
    let output_shape = network.values[network.output()].shape.0.iter().map(|&d| literal(d));
    let input_type = input_type(network);
    let infer_result = if network.takes_ids() {
        quote!(self.infer_batch(inputs, __batch, __workspace))
    } else {
        quote!(::core::result::Result::Ok(self.infer_batch(inputs, __batch, __workspace)))
    };
    let training = training_methods(network);
    quote! {
        impl<T: #private::Real> #private::Network<T> for #ident<T> {
            const INPUTS: usize = #inputs;
            const OUTPUTS: usize = #outputs;
            const INPUT_SHAPE: &'static [usize] = &[#(#input_shape),*];
            const OUTPUT_SHAPE: &'static [usize] = &[#(#output_shape),*];
            const PARAMETERS: usize = #parameters;
            const BUFFERS: usize = #buffers;

            type Input = #input_type;
            type Workspace = #workspace<T>;

            #state

            fn infer<'w>(
                &self,
                inputs: &[#input_type],
                __workspace: &'w mut #workspace<T>,
            ) -> ::core::result::Result<&'w [T], #private::BatchError> {
                let __batch = #private::batch_size(inputs.len(), #inputs)?;
                #infer_result
            }

            #training
        }
    }
}

/// The training forward and backward, each as the trait's method (the inputs kept in the
/// workspace) and as its `_borrowing` form (the inputs passed to both), through the
/// network's runner.
///
/// A small network's one-sample passes inline into their caller, the trainer's step, as its
/// four-sample step on the stack does, and only its other batches call a pass of their own
/// ([`inlines_one_sample`]).
fn training_methods(network: &Network) -> TokenStream {
    let inline_one = inlines_one_sample(network);
    let keeping = forward_method(network, &quote!(forward_train), true, inline_one);
    let borrowing = forward_method(network, &quote!(forward_train_borrowing), false, inline_one);
    let backward = backward_methods(network, inline_one);
    let train = inline_one.then(|| train_method(network));
    quote!(#keeping #borrowing #backward #train)
}

/// `train_borrowing` for a network whose one-sample passes inline: one sample's layer
/// outputs and the loss's gradient pass between the forward pass, the loss and the backward
/// pass as local arrays (the workspace still receives them all; [`stack_step`]); a batch
/// of [`FEW_SAMPLES`] takes the same path (`train_few`), and any other batch runs the
/// trait's sequence through the workspace.
fn train_method(network: &Network) -> TokenStream {
    let private = private();
    let (inputs, few_inputs) = (literal(network.inputs()), literal(FEW_SAMPLES * network.inputs()));
    let few = literal(FEW_SAMPLES);
    let arguments = quote!(inputs, workspace, rng, gradients, batch_error, loss, update);
    let one = stack_step(network, Samples::One);
    let parameters = train_parameters(network);
    quote! {
        #[inline(always)]
        #[allow(clippy::inline_always)]
        fn train_borrowing<R: #private::Rng + ?Sized, E>(#parameters) -> ::core::result::Result<(T, bool), E> {
            if inputs.len() == #few_inputs {
                return self.train_few::<#few, R, E>(#arguments);
            }
            if inputs.len() != #inputs {
                return #private::train_in_turn(self, #arguments);
            }
            #one
        }
    }
}

/// The batch size that trains on the stack as one sample does, each value's samples in
/// vector lanes (`train_few`): four, one `f32` vector in the default build. Every value,
/// the loss's gradient and a tiny network's gradients stay in registers, and each layer's
/// sums run across the samples' lanes with no loop over the batch: W1's step at four
/// samples 77.4 → 69.1 ns, default build (the hand-written step 72.6; callgrind 1049 → 788
/// instructions).
///
/// Other sizes would pay too (W1, through the workspace → on the stack: two samples 86.9 →
/// 61.1 ns, three 88.4 → 67.2, five 108.1 → 92.5, eight 109.3 → 98.7), but each size is a
/// step compiled for every small network a program trains: two to eight, each a function
/// of its own, took a release build of eight such networks 8.4 → 24.1 s (33.1 inlined into
/// one), and a second size inlined beside four slowed the step at four (74.7–76.0 ns).
/// `train_few` takes any size.
const FEW_SAMPLES: usize = 4;

/// `train_few::<__B>`: a training step on `__B` samples on the stack.
fn train_few_method(network: &Network) -> TokenStream {
    let private = private();
    let body = stack_step(network, Samples::Few);
    let parameters = train_parameters(network);
    quote! {
        #[inline(always)]
        #[allow(clippy::too_many_arguments, clippy::inline_always)]
        fn train_few<const __B: usize, R: #private::Rng + ?Sized, E>(
            #parameters
        ) -> ::core::result::Result<(T, bool), E> {
            #body
        }
    }
}

/// The parameters of `train_borrowing` and of the steps it calls, which take the same.
fn train_parameters(network: &Network) -> TokenStream {
    let private = private();
    let (workspace, input_type) = (workspace_ident(network), input_type(network));
    quote! {
        &mut self,
        inputs: &[#input_type],
        workspace: &mut #workspace<T>,
        rng: &mut R,
        gradients: &mut [T],
        batch_error: impl FnOnce(#private::BatchError) -> E,
        loss: impl FnOnce(&[T], &mut [T]) -> ::core::result::Result<T, E>,
        update: impl FnOnce(&[T], #private::Gradients<'_, T>) -> bool,
    }
}

/// A training step on the stack: the forward pass's values, the loss's gradient and, for a
/// tiny network (at most [`LOCAL_GRADIENTS_UP_TO`] parameters), the gradients passed as
/// local arrays; the workspace still receives every value and the output's gradient.
fn stack_step(network: &Network, samples: Samples) -> TokenStream {
    let private = private();
    let (outputs, parameters) = (literal(network.outputs()), literal(network.parameters));
    let last = gradient_field(network, network.output(), 0);
    let values = one_sample::layer_values(network);
    let output = values.last().expect("a network has a layer");
    let (forward, backward, output_gradient, kept) = match samples {
        Samples::One => (
            quote!(forward_train_one),
            quote!(backward_one),
            quote!([#private::zero::<T>(); #outputs]),
            quote!(#outputs),
        ),
        Samples::Few => (
            quote!(forward_train_few::<__B, R>),
            quote!(backward_few::<__B>),
            quote!([[#private::zero::<T>(); #outputs]; __B]),
            quote!(__B * #outputs),
        ),
    };
    // The loss takes the output and gives its gradient sample by sample, as a slice.
    let (output_values, gradient_values, to_backward) = match samples {
        Samples::One => (quote!(&#output), quote!(&mut output_gradient), quote!(output_gradient)),
        Samples::Few => (
            quote!(#private::samples_of(&#output).as_flattened()),
            quote!(output_gradient.as_flattened_mut()),
            quote!(#private::few_samples(output_gradient.as_flattened())),
        ),
    };
    quote! {
        let (#(#values,)*) = self.#forward(inputs, workspace, rng, false).map_err(batch_error)?;
        let mut output_gradient = #output_gradient;
        let value = loss(#output_values, #gradient_values)?;
        workspace.#last[..#kept].copy_from_slice(&#gradient_values[..#kept]);
        let output_gradient = #to_backward;
        let gradients = #private::gradient_buffer::<T, #parameters>(gradients);
        if #parameters > #private::LOCAL_GRADIENTS_UP_TO {
            self.#backward(inputs, workspace, gradients, output_gradient, (#(&#values,)*));
            let parameters = #private::Network::parameters(self);
            return ::core::result::Result::Ok((value, update(parameters, #private::Gradients::Stored(gradients))));
        }
        let mut local = [#private::zero::<T>(); #parameters];
        self.#backward(inputs, workspace, &mut local, output_gradient, (#(&#values,)*));
        let local = #private::Gradients::Local { gradients: &mut local, values: gradients };
        ::core::result::Result::Ok((value, update(#private::Network::parameters(self), local)))
    }
}

/// `run_best` for a network large enough to dispatch to wider vectors, else `run_direct`.
fn runner(network: &Network) -> TokenStream {
    if network.parameters >= DISPATCH_FROM_PARAMETERS { quote!(run_best) } else { quote!(run_direct) }
}

/// `#[inline(always)]` on a method whose one-sample pass inlines (`inline_one`).
fn inline_attribute(inline_one: bool) -> Option<TokenStream> {
    inline_one.then(|| quote!(#[inline(always)] #[allow(clippy::inline_always)]))
}

/// `forward_train` (`keep_input`: the inputs copied into the workspace) or
/// `forward_train_borrowing`; with `inline_one`, its one-sample pass inlined.
fn forward_method(
    network: &Network,
    method: &TokenStream,
    keep_input: bool,
    inline_one: bool,
) -> TokenStream {
    let private = private();
    let (ident, workspace, input_type) = (&network.ident, workspace_ident(network), input_type(network));
    let runner = runner(network);
    let run = |network: TokenStream| {
        quote! {
            struct __Train<'a, T, R: ?Sized> {
                network: &'a mut #ident<T>,
                inputs: &'a [#input_type],
                workspace: &'a mut #workspace<T>,
                rng: &'a mut R,
            }
            impl<T: #private::Real, R: #private::Rng + ?Sized> #private::Pass for __Train<'_, T, R> {
                type Output = ::core::result::Result<(), #private::BatchError>;
                #[inline(always)]
                #[allow(clippy::inline_always)]
                fn run(self) -> Self::Output {
                    self.network.forward_train_body(self.inputs, self.workspace, self.rng, #keep_input)
                }
            }
            #private::#runner(__Train { network: #network, inputs, workspace, rng })
        }
    };
    let body = if inline_one {
        let run = run(quote!(network));
        let inputs_per_sample = literal(network.inputs());
        quote! {
            if inputs.len() == #inputs_per_sample {
                return self.forward_train_body(inputs, workspace, rng, #keep_input);
            }
            #[inline(never)]
            fn batch<T: #private::Real, R: #private::Rng + ?Sized>(
                network: &mut #ident<T>,
                inputs: &[#input_type],
                workspace: &mut #workspace<T>,
                rng: &mut R,
            ) -> ::core::result::Result<(), #private::BatchError> {
                #run
            }
            batch(self, inputs, workspace, rng)
        }
    } else {
        run(quote!(self))
    };
    let inline = inline_attribute(inline_one);
    quote! {
        #inline
        fn #method<R: #private::Rng + ?Sized>(
            &mut self,
            inputs: &[#input_type],
            workspace: &mut #workspace<T>,
            rng: &mut R,
        ) -> ::core::result::Result<(), #private::BatchError> {
            #body
        }
    }
}

/// `backward`, which takes the inputs the workspace kept, and `backward_borrowing`; with
/// `inline_one`, the latter's one-sample pass inlined.
fn backward_methods(network: &Network, inline_one: bool) -> TokenStream {
    let private = private();
    let (ident, workspace, input_type) = (&network.ident, workspace_ident(network), input_type(network));
    let runner = runner(network);
    let run = |network: TokenStream| {
        quote! {
            struct __Backward<'a, T> {
                network: &'a #ident<T>,
                inputs: &'a [#input_type],
                workspace: &'a mut #workspace<T>,
                gradients: &'a mut [T],
            }
            impl<T: #private::Real> #private::Pass for __Backward<'_, T> {
                type Output = ();
                #[inline(always)]
                #[allow(clippy::inline_always)]
                fn run(self) {
                    self.network.backward_body(self.inputs, self.workspace, self.gradients);
                }
            }
            #private::#runner(__Backward { network: #network, inputs, workspace, gradients });
        }
    };
    let body = if inline_one {
        let run = run(quote!(network));
        quote! {
            if workspace.batch == 1 {
                return self.backward_body(inputs, workspace, gradients);
            }
            #[inline(never)]
            fn batch<T: #private::Real>(
                network: &#ident<T>,
                inputs: &[#input_type],
                workspace: &mut #workspace<T>,
                gradients: &mut [T],
            ) {
                #run
            }
            batch(self, inputs, workspace, gradients);
        }
    } else {
        run(quote!(self))
    };
    let inline = inline_attribute(inline_one);
    quote! {
        fn backward(&self, workspace: &mut #workspace<T>, gradients: &mut [T]) {
            // Out of the workspace for the pass (an empty `Vec` in its place allocates
            // nothing), so that the pass can read it beside the workspace's other buffers.
            let inputs = ::core::mem::take(&mut workspace.input);
            self.backward_borrowing(&inputs, workspace, gradients);
            workspace.input = inputs;
        }

        #inline
        fn backward_borrowing(&self, inputs: &[#input_type], workspace: &mut #workspace<T>, gradients: &mut [T]) {
            #body
        }
    }
}

/// Whether a network's one-sample training passes inline into their caller: those of a
/// network small enough to run its passes as compiled (no dispatch to wider vectors), with a
/// one-sample path. Their calls' own work — saving and restoring registers, moving the
/// arguments — was a tenth of W1's one-sample step (494 → 455 instructions), and two steps
/// interleaved, which overlap as far as the core allows, went 98.3 → 93.7 ns. A batch
/// through the workspace keeps its pass out of line: inlined too, W1's four-sample step ran
/// 1087 → 1194 instructions, the layers' kernels then no longer inlining into it. (Such a
/// network's four-sample step inlines on the stack instead: [`FEW_SAMPLES`].)
fn inlines_one_sample(network: &Network) -> bool {
    network.parameters < DISPATCH_FROM_PARAMETERS && one_sample::applies(network)
}

/// The trait methods about parameters and state: specs, construction, the flat buffers.
fn state_methods(network: &Network) -> TokenStream {
    let private = private();
    let specs = parameter_specs(network);
    let buffer_specs = buffer_specs(network);
    let initial_buffers = initial_buffers(network);
    let initialise = initialise_body(network);
    let init_rng = if network.parameters > 0 { quote!(__rng) } else { quote!(_rng) };
    // The trainer swaps in new parameters after every step. The revision tells a streaming
    // state when to rebuild the weights it derives, and batched inference when to pack its
    // weights again; where neither keeps any, nothing reads it, and drawing one was 0.8 ns
    // of W1's 62 ns step.
    let reads_revision = stream::derives_weights(network) || workspace::prepacks_weights(network);
    let bump = reads_revision.then(|| quote!(self.revision.bump();));
    quote! {
            fn parameter_specs() -> &'static [#private::ParameterSpec] {
                #specs
            }

            fn buffer_specs() -> &'static [#private::ParameterSpec] {
                #buffer_specs
            }

            fn initialise<R: #private::Rng + ?Sized>(#init_rng: &mut R) -> Self {
                #initialise
            }

            fn from_parameters(
                parameters: #private::Vec<T>,
            ) -> ::core::result::Result<Self, #private::ParameterCountError> {
                ::core::result::Result::Ok(Self {
                    parameters: #private::parameters_from_vec(parameters)?,
                    buffers: #initial_buffers,
                    revision: #private::Revision::new(),
                })
            }

            fn from_state(
                parameters: #private::Vec<T>,
                buffers: #private::Vec<T>,
            ) -> ::core::result::Result<Self, #private::ParameterCountError> {
                ::core::result::Result::Ok(Self {
                    parameters: #private::parameters_from_vec(parameters)?,
                    buffers: #private::state_from_vec(buffers, "buffer values")?,
                    revision: #private::Revision::new(),
                })
            }

            fn parameters(&self) -> &[T] {
                &self.parameters[..]
            }

            fn parameters_mut(&mut self) -> &mut [T] {
                self.revision.bump();
                &mut self.parameters[..]
            }

            fn swap_parameters(&mut self, other: &mut #private::Lines<T>) {
                #bump
                #private::swap_parameters(&mut self.parameters, other);
            }

            fn buffers(&self) -> &[T] {
                &self.buffers[..]
            }

            fn buffers_mut(&mut self) -> &mut [T] {
                &mut self.buffers[..]
            }
    }
}

/// One `ParameterSpec` literal.
fn spec(name: &str, shape: &[usize], offset: usize, integer: bool) -> TokenStream {
    let private = private();
    let (shape, offset) = (shape.iter().map(|&d| literal(d)), literal(offset));
    quote!(#private::ParameterSpec { name: #name, shape: &[#(#shape),*], offset: #offset, integer: #integer })
}

fn parameter_specs(network: &Network) -> TokenStream {
    let private = private();
    let mut specs = Vec::new();
    for node in &network.nodes {
        for (tensor, &offset) in node.layer.parameters().iter().zip(&node.offsets) {
            specs.push(spec(&format!("{}.{}", node.name, tensor.name), &tensor.shape, offset, false));
        }
    }
    quote! {
        const SPECS: &[#private::ParameterSpec] = &[#(#specs),*];
        SPECS
    }
}

fn buffer_specs(network: &Network) -> TokenStream {
    let private = private();
    let mut specs = Vec::new();
    for node in &network.nodes {
        for (buffer, &offset) in node.layer.buffers().iter().zip(&node.buffer_offsets) {
            specs.push(spec(
                &format!("{}.{}", node.name, buffer.name),
                &buffer.shape,
                offset,
                buffer.integer,
            ));
        }
    }
    quote! {
        const SPECS: &[#private::ParameterSpec] = &[#(#specs),*];
        SPECS
    }
}

/// The state buffer at its initial values: `initial_buffers::<T, B>(&[(start, end, value)])`.
fn initial_buffers(network: &Network) -> TokenStream {
    let private = private();
    let buffers = literal(network.buffers);
    let mut fills = Vec::new();
    for node in &network.nodes {
        for (buffer, &offset) in node.layer.buffers().iter().zip(&node.buffer_offsets) {
            if buffer.initial != 0.0 {
                let end = literal(offset + buffer.shape.iter().product::<usize>());
                let (start, value) = (literal(offset), proc_macro2::Literal::f64_suffixed(buffer.initial));
                fills.push(quote!((#start, #end, #value)));
            }
        }
    }
    quote!(#private::initial_buffers::<T, #buffers>(&[#(#fills),*]))
}

/// Every layer with parameters or state fills them, with its tensors bound as mutable
/// slices of the two buffers.
fn initialise_body(network: &Network) -> TokenStream {
    let private = private();
    let parameters = literal(network.parameters);
    let fills: Vec<TokenStream> = (0..network.nodes.len())
        .filter(|&node| {
            !network.nodes[node].offsets.is_empty() || !network.nodes[node].buffer_offsets.is_empty()
        })
        .map(|node| {
            let site = site(network, node, Vec::new());
            let split = split_tensors(network, node, &quote!(__parameters), "__");
            let state = site.split_buffers_in(&quote!(__buffers));
            let fill = network.nodes[node].layer.initialise(&site);
            quote!(#split #state #fill)
        })
        .collect();
    let mutable = |binding: TokenStream, mutated: bool| {
        if mutated { quote!(let mut #binding) } else { quote!(let #binding) }
    };
    let parameters_binding = mutable(quote!(__parameters), network.parameters > 0);
    let state_binding = mutable(quote!(__buffers), network.buffers > 0);
    let buffers = initial_buffers(network);
    quote! {
        #parameters_binding = #private::zeroed_parameters::<T, #parameters>();
        #state_binding = #buffers;
        #(#fills)*
        Self { parameters: __parameters, buffers: __buffers, revision: #private::Revision::new() }
    }
}

/// The training pass's expression for each value: its workspace buffer.
pub(super) fn training_inputs(network: &Network, node: usize) -> Vec<TokenStream> {
    network.nodes[node]
        .inputs
        .iter()
        .map(|&value| {
            if value == 0 {
                return quote!(inputs);
            }
            let field = value_field(network, value);
            quote!(&__workspace.#field)
        })
        .collect()
}

pub(super) fn forward_train_body(network: &Network) -> TokenStream {
    let private = private();
    let inputs = literal(network.inputs());
    let statements = (0..network.nodes.len()).map(|node| {
        let site = site(network, node, training_inputs(network, node));
        network.nodes[node].layer.forward_train(&site)
    });
    let checks = checks(network);
    let one_sample = one_sample::forward_train(network);
    quote! {
        let __batch = #private::batch_size(inputs.len(), #inputs)?;
        #one_sample
        #checks
        __workspace.prepare(__batch);
        if __keep_input {
            __workspace.input.copy_from_slice(inputs);
        }
        #(#statements)*
        ::core::result::Result::Ok(())
    }
}

/// What a training batch of `__batch` samples of `inputs` must satisfy, each an early
/// `return` of the error. Every layer's batch requirement is checked before any layer runs
/// (and updates its running statistics), so a rejected batch leaves the network as it was.
fn checks(network: &Network) -> TokenStream {
    let private = private();
    let minimums = network.nodes.iter().filter(|n| n.layer.minimum_training_batch() > 1).map(|node| {
        let (name, minimum) = (&node.name, literal(node.layer.minimum_training_batch()));
        quote! {
            if __batch < #minimum {
                return ::core::result::Result::Err(#private::BatchError::TooSmall { layer: #name, minimum: #minimum, batch: __batch });
            }
        }
    });
    let validations = validations(network, &quote!(inputs));
    quote!(#(#minimums)* #validations)
}

/// The one-sample passes' methods ([`one_sample::methods`]), which check a batch of one as
/// the batch pass checks a batch.
pub(super) fn one_sample_methods(network: &Network) -> TokenStream {
    let passes = one_sample::methods(network, &checks(network));
    let train_few = inlines_one_sample(network).then(|| train_few_method(network));
    quote!(#passes #train_few)
}

/// Backward in reverse topological order: every layer whose output needs a gradient
/// writes its inputs' gradients and its parameters' gradients. A value read by several
/// layers gets its gradient from the last of them and sums the others' in (see
/// `gradient_part`).
pub(super) fn backward_body(network: &Network) -> TokenStream {
    let private = private();
    let parameters = literal(network.parameters);
    let mut statements = Vec::new();
    for (index, node) in network.nodes.iter().enumerate().rev() {
        if !network.values[index + 1].requires_gradient {
            continue;
        }
        let split = split_tensors(network, index, &quote!(__gradients), "__grad_");
        let backward = node.layer.backward(&site(network, index, training_inputs(network, index)));
        let sums = (0..node.inputs.len()).filter_map(|slot| {
            let part = gradient_part(network, index, slot).filter(|&part| part > 0)?;
            let value = node.inputs[slot];
            let (total, part) = (gradient_field(network, value, 0), gradient_field(network, value, part));
            Some(quote!(#private::accumulate(&mut __workspace.#total, &__workspace.#part);))
        });
        statements.push(quote!(#split #backward #(#sums)*));
    }
    if statements.is_empty() {
        return quote! {
            let _ = (__workspace, #private::gradient_buffer::<T, #parameters>(gradients));
        };
    }
    let one_sample = one_sample::backward(network);
    quote! {
        let __gradients = #private::gradient_buffer::<T, #parameters>(gradients);
        #one_sample
        #(#statements)*
    }
}
