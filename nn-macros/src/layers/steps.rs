//! `last_step` and `mean_over_steps`: a sequence `[T, F]` reduced to a vector `[F]`, its
//! last step or the mean over its steps (PyTorch's `x[:, -1]`, `x.mean(dim=1)`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Built, Kind, Layer, Outcome, Site, literal, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["last_step", "mean_over_steps"], build, block: false };

struct Reduce {
    /// `last_step` (else `mean_over_steps`).
    last: bool,
    steps: usize,
    features: usize,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let kind = entry.kind.to_string();
    if let Some(arguments) = &entry.arguments {
        context.errors().at_span(arguments.span(), format!("`{kind}` takes no arguments"));
    }
    let Some(source) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let [steps, features] = source.shape.0.as_slice() else {
        let message = format!("`{kind}` reduces a sequence `[T, F]`, but {}", source.produces());
        context.errors().at(&entry.kind, message);
        return Outcome::Failed { output: None };
    };
    let layer = Reduce { last: kind == "last_step", steps: *steps, features: *features };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: entry.kind.span() })
}

impl Reduce {
    /// The runtime function for a pass (`last`, `mean_backward`, …).
    fn function(&self, pass: &str) -> TokenStream {
        let private = private();
        let name = format_ident!("{}{pass}", if self.last { "last" } else { "mean" });
        quote!(#private::steps::#name)
    }
}

impl Layer for Reduce {
    fn describe(&self) -> String {
        (if self.last { "last_step" } else { "mean_over_steps" }).to_owned()
    }

    fn output(&self) -> Shape {
        Shape::vector(self.features)
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let (features, size) = (literal(self.features), literal(self.steps * self.features));
        let (function, x) = (self.function("_one"), &site.inputs[0]);
        quote!(#function::<T, #features, #size>(#x))
    }

    /// One step of a sequence: the last step passes through (its value is the running
    /// output); a mean needs the whole sequence.
    fn stream(&self, site: &Site) -> Option<TokenStream> {
        let x = &site.inputs[0];
        self.last.then(|| quote!(*(#x)))
    }

    fn infer(&self, site: &Site) -> TokenStream {
        self.forward_train(site)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        let features = literal(self.features);
        let (function, x, output) = (self.function(""), &site.inputs[0], site.output());
        quote!(#function::<T, #features>(#x, &mut __workspace.#output);)
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let Some(grad_input) = &site.input_gradients[0] else {
            return TokenStream::new();
        };
        let features = literal(self.features);
        let (function, gradient) = (self.function("_backward"), site.output_gradient());
        quote!(#function::<T, #features>(&__workspace.#gradient, &mut __workspace.#grad_input);)
    }
}
