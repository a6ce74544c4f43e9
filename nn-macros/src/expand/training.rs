//! `impl nn::Network`: parameter specs, initialisation, the training forward and backward.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::activation::{
    activation_backward, activation_backward_in_place, activation_forward, activation_value,
};
use super::inference::DISPATCH_FROM_PARAMETERS;
use super::{buffer, input_buffer, literal, private, ranges, workspace_ident};
use crate::model::{Kind, Network};

pub(super) fn network_impl(network: &Network) -> TokenStream {
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

pub(super) fn forward_train_body(network: &Network) -> TokenStream {
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
                if layer.keeps_pre_activation() && activation.kind.is_elementwise() {
                    let z = buffer(layer, "z");
                    let activation = activation_value(*activation);
                    quote! {
                        #private::dense::forward_train::<T, _, #inputs, #outputs>(
                            &#activation, #w, #b, &__workspace.#source, &mut __workspace.#z, &mut __workspace.#output,
                        );
                    }
                } else if layer.keeps_pre_activation() {
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

pub(super) fn backward_body(network: &Network) -> TokenStream {
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
                let (w, source) = (quote!(&self.parameters[#weight..#bias]), quote!(&__workspace.#source));
                match &layer.kind {
                    Kind::Dense { activation, .. }
                        if layer.keeps_pre_activation() && activation.kind.is_elementwise() =>
                    {
                        let z = buffer(layer, "z");
                        let activation = activation_value(*activation);
                        quote! {
                            let (__weight, __bias) = __gradients[#weight..#end].split_at_mut(#split);
                            #private::dense::backward::<T, _, #inputs, #outputs>(
                                &#activation, #w, #source, (&__workspace.#z, &__workspace.#output),
                                &mut __workspace.#gradient, (__weight, __bias), #grad_input,
                            );
                        }
                    }
                    _ => {
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
                                #w, #source, &__workspace.#gradient, __weight, __bias, #grad_input,
                            );
                        }
                    }
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
