//! `add(a, b, …)`: the elementwise sum of named values of one shape. `residual { … }`
//! builds the same layer over a block's input and output.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, Token};

use super::{Built, Kind, Layer, Outcome, Site, private};
use crate::check::{Context, Source};
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["add"], build, block: false };

/// `a = x₁ + x₂ + …`.
pub struct Add {
    /// As a declaration writes it: `add(a, b)`, `residual`.
    pub description: String,
    pub shape: Shape,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let Some(sources) = references(entry, context, "add") else {
        return Outcome::Failed { output: None };
    };
    let (first, first_source) = &sources[0];
    let mut same = true;
    for (name, source) in &sources[1..] {
        if source.shape != first_source.shape {
            let message = format!(
                "`add` sums values of one shape, but `{first}` is {} and `{name}` is {}",
                first_source.shape, source.shape
            );
            context.errors().at(name, message);
            same = false;
        }
    }
    if !same {
        return Outcome::Failed { output: None };
    }
    let names: Vec<String> = sources.iter().map(|(name, _)| name.to_string()).collect();
    let layer = Add { description: format!("add({})", names.join(", ")), shape: first_source.shape.clone() };
    let inputs = sources.iter().map(|(_, source)| source.value).collect();
    Outcome::Layer(Built { layer: Box::new(layer), inputs, span: entry.kind.span() })
}

/// The values a merging layer names (`add(a, b)`, `concat(a, b)`), at least two, resolved;
/// `None` after reporting a mistake.
pub fn references(entry: &Entry, context: &mut Context, kind: &str) -> Option<Vec<(Ident, Source)>> {
    let example = format!("`{kind}(a, b)`");
    let parsed = entry.parse_arguments(|content| {
        let names = content.parse_terminated(<Ident as syn::parse::Parse>::parse, Token![,])?;
        Ok(names.into_iter().collect::<Vec<Ident>>())
    });
    let names = match parsed {
        Some(Ok(names)) if names.len() >= 2 => names,
        Some(Err(error)) => {
            let message = format!("expected the names of the layers to merge, as in {example}");
            context.errors().push(syn::Error::new(error.span(), message));
            return None;
        }
        _ => {
            let message = format!("`{kind}` merges two or more named layers: {example}");
            context.errors().at(&entry.kind, message);
            return None;
        }
    };
    if let Some(source) = &entry.source {
        let message = format!("`{kind}` names the values it reads in its parentheses, not with `<-`");
        context.errors().at(source, message);
    }
    let mut sources = Vec::new();
    for name in names {
        let source = context.reference(&name);
        sources.push((name, source));
    }
    sources.into_iter().map(|(name, source)| Some((name, source?))).collect()
}

impl Layer for Add {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn output(&self) -> Shape {
        self.shape.clone()
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let inputs = &site.inputs;
        let first = &inputs[0];
        let rest = &inputs[1..];
        quote!(#first #(+ #rest)*)
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let (inputs, output) = (&site.inputs, site.output());
        quote!(#private::add::forward(&[#(#inputs),*], &mut __workspace.#output);)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        self.infer(site)
    }

    /// `∂L/∂xᵢ = ∂L/∂a` for every input.
    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let gradient = site.output_gradient();
        let copies = site.input_gradients.iter().flatten().map(|grad_input| {
            quote!(#private::add::backward(&__workspace.#gradient, &mut __workspace.#grad_input);)
        });
        quote!(#(#copies)*)
    }
}
