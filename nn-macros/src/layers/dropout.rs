//! `dropout(p)`: inverted dropout (PyTorch's semantics), active only in training; inference
//! skips it.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Built, Kind, Layer, Outcome, Scratch, Site, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::{Entry, Number};

pub const KIND: Kind = Kind { names: || vec!["dropout"], build, block: false };

struct Dropout {
    probability: f64,
    /// As written: `0.5`.
    text: String,
    shape: Shape,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let parsed = entry.parse_arguments(|content| {
        content.parse::<Number>().map_err(|e| {
            syn::Error::new(e.span(), "expected the dropout probability, a number such as `0.5`")
        })
    });
    let probability = match parsed {
        Some(Ok(probability)) => probability,
        Some(Err(error)) => {
            context.errors().push(error);
            return Outcome::Failed { output: None };
        }
        None => {
            context.errors().at(&entry.kind, "`dropout` needs its probability: `dropout(0.5)`");
            return Outcome::Failed { output: None };
        }
    };
    if !(0.0..1.0).contains(&probability.value) {
        let why = if probability.value >= 1.0 { ", and 1 would drop every value" } else { "" };
        context.errors().at_span(
            probability.span,
            format!(
                "dropout probability must be in [0, 1), found {}: it is the chance of dropping each value{why}",
                probability.text
            ),
        );
    }
    match context.source(entry) {
        Some(source) => Outcome::Layer(Built {
            layer: Box::new(Dropout {
                probability: probability.value,
                text: probability.text,
                shape: source.shape,
            }),
            inputs: vec![source.value],
            span: entry.kind.span(),
        }),
        None => Outcome::Failed { output: None },
    }
}

impl Layer for Dropout {
    fn describe(&self) -> String {
        format!("dropout({})", self.text)
    }

    fn output(&self) -> Shape {
        self.shape.clone()
    }

    fn scratch(&self) -> Vec<Scratch> {
        vec![Scratch::per_sample("mask", self.shape.len())]
    }

    fn identity_in_inference(&self) -> bool {
        true
    }

    fn uses_rng(&self) -> bool {
        true
    }

    /// Never called: inference skips the layer.
    fn forward_one(&self, _site: &Site) -> TokenStream {
        TokenStream::new()
    }

    /// Never called: inference skips the layer.
    fn infer(&self, _site: &Site) -> TokenStream {
        TokenStream::new()
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        let private = private();
        let (mask, output, input) = (site.scratch("mask"), site.output(), &site.inputs[0]);
        let probability = Literal::f64_suffixed(self.probability);
        quote! {
            #private::dropout::forward_train(
                #probability, #input, &mut __workspace.#mask, &mut __workspace.#output, __rng,
            );
        }
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let Some(grad_input) = &site.input_gradients[0] else {
            return TokenStream::new();
        };
        let private = private();
        let (mask, gradient) = (site.scratch("mask"), site.output_gradient());
        quote!(#private::dropout::backward(&__workspace.#mask, &__workspace.#gradient, &mut __workspace.#grad_input);)
    }
}
