//! `batch_norm`, `batch_norm(F)`, `batch_norm(F, relu, momentum = 0.1, eps = 1e-5)`:
//! PyTorch's `BatchNorm1d` on a vector `[F]` and `BatchNorm2d` on an image `[C, H, W]`
//! (per channel, over the batch and the pixels), with learnable `weight` (γ) and `bias` (β)
//! and the state `running_mean`, `running_var` and `num_batches_tracked`; then an optional
//! activation. Training normalises with the batch's statistics and updates the running
//! ones; inference (`forward`, `forward_batch`, `infer`) always uses the running ones.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::activation::Fused;
use super::{
    Buffer, Built, Kind, Layer, NumericOption, Outcome, PreActivation, Scratch, Site, Tensor, arguments,
    literal, private,
};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["batch_norm"], build, block: false };

/// PyTorch's defaults.
const OPTIONS: &[NumericOption] = &[
    NumericOption {
        name: "momentum",
        default: 0.1,
        valid: |m| m > 0.0 && m <= 1.0,
        needs: "in (0, 1], the weight of each new batch (PyTorch's convention: Keras's 0.99 is 0.01 here)",
    },
    NumericOption { name: "eps", default: 1e-5, valid: |e| e > 0.0, needs: "a number above 0" },
];

struct BatchNorm {
    shape: Shape,
    channels: usize,
    /// Values per channel in one sample (1 for a vector, `H·W` for an image).
    spatial: usize,
    activation: Fused,
    momentum: f64,
    epsilon: f64,
    /// The arguments as written after the size (`relu`, `momentum = 0.3`), for the
    /// description.
    written: Vec<String>,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let Some(arguments) = arguments::resolve(entry, context, "batch_norm", OPTIONS) else {
        return Outcome::Failed { output: None };
    };
    let Some(source) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let (channels, spatial) = match source.shape.0.as_slice() {
        [features] => (*features, 1),
        [channels, height, width] => (*channels, height * width),
        _ => {
            let message = format!(
                "`batch_norm` normalises a vector [F] or an image [C, H, W], but {}; `layer_norm` normalises each step of a sequence, or `flatten` it first",
                source.produces()
            );
            context.errors().at(&entry.kind, message);
            return Outcome::Failed { output: None };
        }
    };
    let failed = || Outcome::Failed { output: Some((source.shape.clone(), "batch_norm".to_owned())) };
    if let Some(literal) = &arguments.size
        && context.size(literal, "a batch_norm layer").is_some_and(|declared| declared != channels)
    {
        let what = if spatial == 1 { "features" } else { "channels" };
        let message = format!(
            "this layer normalises {} {what}, but {}; write `batch_norm({channels})` or leave the size out: `batch_norm`",
            literal.base10_digits(),
            source.produces()
        );
        context.errors().at(literal, message);
        return failed();
    }
    let (Some(activation), Some(options)) = (arguments.activation, arguments.options) else {
        return failed();
    };
    let layer = BatchNorm {
        activation: Fused { activation, width: source.shape.len() },
        shape: source.shape.clone(),
        channels,
        spatial,
        momentum: options[0],
        epsilon: options[1],
        written: arguments.written,
    };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: entry.kind.span() })
}

impl BatchNorm {
    /// `(C, S)` as literals, the kernels' const generics.
    fn sizes(&self) -> (Literal, Literal) {
        (literal(self.channels), literal(self.spatial))
    }
}

impl Layer for BatchNorm {
    fn describe(&self) -> String {
        let parts: Vec<String> =
            std::iter::once(self.channels.to_string()).chain(self.written.clone()).collect();
        format!("batch_norm({})", parts.join(", "))
    }

    fn output(&self) -> Shape {
        self.shape.clone()
    }

    fn parameters(&self) -> Vec<Tensor> {
        vec![
            Tensor { name: "weight", shape: vec![self.channels] },
            Tensor { name: "bias", shape: vec![self.channels] },
        ]
    }

    fn buffers(&self) -> Vec<Buffer> {
        vec![
            Buffer { name: "running_mean", shape: vec![self.channels], initial: 0.0, integer: false },
            Buffer { name: "running_var", shape: vec![self.channels], initial: 1.0, integer: false },
            Buffer { name: "num_batches_tracked", shape: vec![], initial: 0.0, integer: true },
        ]
    }

    fn scratch(&self) -> Vec<Scratch> {
        let mut scratch = vec![
            Scratch::per_sample("normalised", self.shape.len()),
            Scratch::fixed("mean", self.channels),
            Scratch::fixed("inverse_std", self.channels),
        ];
        scratch.extend(self.activation.scratch());
        scratch
    }

    fn pre_activation(&self) -> PreActivation {
        self.activation.pre_activation()
    }

    fn minimum_training_batch(&self) -> usize {
        // One sample per channel has no variance to normalise by (PyTorch raises too);
        // an image's pixels give a channel several values even in a batch of one.
        if self.spatial == 1 { 2 } else { 1 }
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
        let (channels, spatial) = self.sizes();
        let size = literal(self.shape.len());
        let (weight, bias) = (site.parameter("weight"), site.parameter("bias"));
        let (mean, var) = (site.buffer("running_mean"), site.buffer("running_var"));
        let (epsilon, x) = (Literal::f64_suffixed(self.epsilon), &site.inputs[0]);
        self.activation.one(quote! {
            #private::batch_norm::forward_one::<T, #channels, #spatial, #size>((#weight, #bias), (#mean, #var), #epsilon, #x)
        })
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let (channels, spatial) = self.sizes();
        let (weight, bias) = (site.parameter("weight"), site.parameter("bias"));
        let (mean, var) = (site.buffer("running_mean"), site.buffer("running_var"));
        let (epsilon, x, output) = (Literal::f64_suffixed(self.epsilon), &site.inputs[0], site.output());
        let activate = self.activation.in_place(site);
        quote! {
            #private::batch_norm::forward::<T, #channels, #spatial>(
                #x, (#weight, #bias), (#mean, #var), #epsilon, &mut __workspace.#output,
            );
            #activate
        }
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        let private = private();
        let (channels, spatial) = self.sizes();
        let (weight, bias) = (site.parameter("weight"), site.parameter("bias"));
        let split = site.split_buffers();
        let (mean, var, tracked) =
            (site.state("running_mean"), site.state("running_var"), site.state("num_batches_tracked"));
        let (momentum, epsilon) = (Literal::f64_suffixed(self.momentum), Literal::f64_suffixed(self.epsilon));
        let (normalised, batch_mean, inverse_std) =
            (site.scratch("normalised"), site.scratch("mean"), site.scratch("inverse_std"));
        let (x, z, activate) = (&site.inputs[0], self.activation.z(site), self.activation.forward(site));
        quote! {
            #split
            #private::batch_norm::forward_train::<T, #channels, #spatial>(
                #x, (#weight, #bias), (#mean, #var, #tracked), (#momentum, #epsilon),
                (&mut __workspace.#normalised, &mut __workspace.#batch_mean, &mut __workspace.#inverse_std),
                &mut __workspace.#z,
            );
            #activate
        }
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let (channels, spatial) = self.sizes();
        let weight = site.parameter("weight");
        let (normalised, inverse_std) = (site.scratch("normalised"), site.scratch("inverse_std"));
        let gradient = site.output_gradient();
        let through_activation = self.activation.backward(site);
        let (grad_weight, grad_bias) = (site.gradient("weight"), site.gradient("bias"));
        let grad_input = site.input_gradient_option(0);
        quote! {
            #through_activation
            #private::batch_norm::backward::<T, #channels, #spatial>(
                #weight, (&__workspace.#normalised, &__workspace.#inverse_std), &__workspace.#gradient,
                (#grad_weight, #grad_bias), #grad_input,
            );
        }
    }
}
