//! The passes of a dense layer under spectral normalisation (`norm = spectral`):
//! `z = (W x)/σ + b` with `σ = uᵀ W v` from the power-iteration state, then the
//! activation; the kernels are `nn::layer::spectral_norm`'s.

use proc_macro2::TokenStream;
use quote::quote;

use super::Dense;
use crate::layers::activation::{self, Fused};
use crate::layers::{Site, literal, private};

/// The passes of a spectrally normalised layer: `z = (W x)/σ + b`, then the activation.
impl Dense {
    pub(super) fn spectral_forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, b, x) = (site.parameter("weight_orig"), site.parameter("bias"), &site.inputs[0]);
        let (u, v) = (site.buffer("weight_u"), site.buffer("weight_v"));
        if self.activation.kind.is_elementwise() {
            let activation = activation::value(self.activation);
            quote!(#private::spectral_norm::forward_one::<T, _, #inputs, #outputs>(&#activation, (#w, #b), (#u, #v), #x))
        } else {
            let identity = quote!(#private::activation::Identity);
            let z = quote!(&#private::spectral_norm::forward_one::<T, _, #inputs, #outputs>(&#identity, (#w, #b), (#u, #v), #x));
            activation::one(self.activation, &z)
        }
    }

    /// The activation after `z = (W x)/σ + b`.
    fn fused(&self) -> Fused {
        Fused { activation: self.activation, width: self.outputs }
    }

    pub(super) fn spectral_infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, b, x, output) =
            (site.parameter("weight_orig"), site.parameter("bias"), &site.inputs[0], site.output());
        let (u, v) = (site.buffer("weight_u"), site.buffer("weight_v"));
        let activate = self.fused().in_place(site);
        quote! {
            let __sigma = #private::spectral_norm::sigma::<T, #inputs, #outputs>(#w, #u, #v);
            #private::spectral_norm::affine::<T, #inputs, #outputs>(#w, #b, __sigma, #x, &mut __workspace.#output);
            #activate
        }
    }

    pub(super) fn spectral_forward_train(&self, site: &Site) -> TokenStream {
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, b, x) = (site.parameter("weight_orig"), site.parameter("bias"), &site.inputs[0]);
        let split = site.split_buffers();
        let (u, v) = (site.state("weight_u"), site.state("weight_v"));
        let (iterations, sigma) = (literal(self.spectral.unwrap_or(1)), site.scratch("sigma"));
        let (z, activate) = (self.fused().z(site), self.fused().forward(site));
        quote! {
            #split
            #private::spectral_norm::power_iteration::<T, #inputs, #outputs>(#w, (#u, #v), #iterations);
            __workspace.#sigma[0] = #private::spectral_norm::sigma::<T, #inputs, #outputs>(#w, #u, #v);
            #private::spectral_norm::affine::<T, #inputs, #outputs>(#w, #b, __workspace.#sigma[0], #x, &mut __workspace.#z);
            #activate
        }
    }

    pub(super) fn spectral_backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let (inputs, outputs) = self.sizes();
        let (w, x) = (site.parameter("weight_orig"), &site.inputs[0]);
        let (u, v, sigma) = (site.buffer("weight_u"), site.buffer("weight_v"), site.scratch("sigma"));
        let gradient = site.output_gradient();
        let through_activation = self.fused().backward(site);
        let (grad_weight, grad_bias) = (site.gradient("weight_orig"), site.gradient("bias"));
        let grad_input = site.input_gradient_option(0);
        quote! {
            #through_activation
            #private::spectral_norm::backward::<T, #inputs, #outputs>(
                #w, #x, (#u, #v, __workspace.#sigma[0]), &mut __workspace.#gradient,
                (#grad_weight, #grad_bias), #grad_input,
            );
        }
    }
}
