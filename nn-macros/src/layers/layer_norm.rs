//! `layer_norm`, `layer_norm(F)`, `layer_norm(F, gelu, eps = 1e-5)`: PyTorch's
//! `LayerNorm(F)` over the last axis (a vector's features, or each step's in a sequence),
//! with learnable `weight` (γ, initially 1) and `bias` (β, initially 0); then an optional
//! activation. No batch statistics and no running state: training and inference agree.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::activation::Fused;
use super::{
    Built, Kind, Layer, NumericOption, Outcome, PreActivation, Scratch, Site, Tensor, arguments, literal,
    private,
};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["layer_norm"], build, block: false };

/// PyTorch's default.
const OPTIONS: &[NumericOption] =
    &[NumericOption { name: "eps", default: 1e-5, valid: |e| e > 0.0, needs: "a number above 0" }];

struct LayerNorm {
    shape: Shape,
    /// Values normalised together: the last axis.
    features: usize,
    activation: Fused,
    /// The arguments as written after the size (`gelu`, `eps = 1e-6`), for the description.
    written: Vec<String>,
    epsilon: f64,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let Some(arguments) = arguments::resolve(entry, context, "layer_norm", OPTIONS) else {
        return Outcome::Failed { output: None };
    };
    let Some(source) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let features = source.shape.0.last().copied().unwrap_or(1);
    let failed = || Outcome::Failed { output: Some((source.shape.clone(), "layer_norm".to_owned())) };
    if let Some(literal) = &arguments.size
        && context.size(literal, "a layer_norm layer").is_some_and(|declared| declared != features)
    {
        let message = format!(
            "this layer normalises {} features, but {}; write `layer_norm({features})` or leave the size out: `layer_norm`",
            literal.base10_digits(),
            source.produces()
        );
        context.errors().at(literal, message);
        return failed();
    }
    let (Some(activation), Some(options)) = (arguments.activation, arguments.options) else {
        return failed();
    };
    let layer = LayerNorm {
        activation: Fused { activation, width: source.shape.len() },
        shape: source.shape.clone(),
        features,
        written: arguments.written,
        epsilon: options[0],
    };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: entry.kind.span() })
}

impl LayerNorm {
    /// Rows normalised per sample (1 for a vector, `T` for a sequence).
    fn rows(&self) -> usize {
        self.shape.len() / self.features
    }
}

impl Layer for LayerNorm {
    fn describe(&self) -> String {
        let parts: Vec<String> =
            std::iter::once(self.features.to_string()).chain(self.written.clone()).collect();
        format!("layer_norm({})", parts.join(", "))
    }

    fn output(&self) -> Shape {
        self.shape.clone()
    }

    fn parameters(&self) -> Vec<Tensor> {
        vec![
            Tensor { name: "weight", shape: vec![self.features] },
            Tensor { name: "bias", shape: vec![self.features] },
        ]
    }

    fn scratch(&self) -> Vec<Scratch> {
        let mut scratch = vec![
            Scratch::per_sample("normalised", self.shape.len()),
            Scratch::per_sample("mean", self.rows()),
            Scratch::per_sample("inverse_std", self.rows()),
        ];
        scratch.extend(self.activation.scratch());
        scratch
    }

    fn pre_activation(&self) -> PreActivation {
        self.activation.pre_activation()
    }

    fn initialise(&self, site: &Site) -> TokenStream {
        let (weight, bias) = (site.tensor("weight"), site.tensor("bias"));
        quote! {
            // γ = 1, β = 0, as PyTorch.
            #weight.fill(T::one());
            #bias.fill(T::zero());
        }
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (features, size) = (literal(self.features), literal(self.shape.len()));
        let (weight, bias) = (site.parameter("weight"), site.parameter("bias"));
        let (epsilon, x) = (Literal::f64_suffixed(self.epsilon), &site.inputs[0]);
        self.activation.one(quote! {
            #private::layer_norm::forward_one::<T, #features, #size>((#weight, #bias), #epsilon, #x)
        })
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let features = literal(self.features);
        let (weight, bias) = (site.parameter("weight"), site.parameter("bias"));
        let (epsilon, x, output) = (Literal::f64_suffixed(self.epsilon), &site.inputs[0], site.output());
        let activate = self.activation.in_place(site);
        quote! {
            #private::layer_norm::forward::<T, #features>(#x, (#weight, #bias), #epsilon, &mut __workspace.#output);
            #activate
        }
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        let private = private();
        let features = literal(self.features);
        let (weight, bias) = (site.parameter("weight"), site.parameter("bias"));
        let (normalised, mean, inverse_std) =
            (site.scratch("normalised"), site.scratch("mean"), site.scratch("inverse_std"));
        let (epsilon, x) = (Literal::f64_suffixed(self.epsilon), &site.inputs[0]);
        let (z, activate) = (self.activation.z(site), self.activation.forward(site));
        quote! {
            #private::layer_norm::forward_train::<T, #features>(
                #x, (#weight, #bias), #epsilon,
                (&mut __workspace.#normalised, &mut __workspace.#mean, &mut __workspace.#inverse_std),
                &mut __workspace.#z,
            );
            #activate
        }
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let features = literal(self.features);
        let weight = site.parameter("weight");
        let (normalised, inverse_std, gradient) =
            (site.scratch("normalised"), site.scratch("inverse_std"), site.output_gradient());
        let through_activation = self.activation.backward(site);
        let (grad_weight, grad_bias) = (site.gradient("weight"), site.gradient("bias"));
        let grad_input = site.input_gradient_option(0);
        quote! {
            #through_activation
            #private::layer_norm::backward::<T, #features>(
                #weight, (&__workspace.#normalised, &__workspace.#inverse_std), &__workspace.#gradient,
                (#grad_weight, #grad_bias), #grad_input,
            );
        }
    }
}
