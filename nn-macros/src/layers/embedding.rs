//! `embedding(VOCAB -> DIM)`: PyTorch's `nn.Embedding(VOCAB, DIM)`, a `weight` `[VOCAB,
//! DIM]` drawn from `N(0, 1)` as PyTorch does. It reads the network's input as `u32` ids:
//! as the first layer it takes one id per sample and gives a vector `[DIM]`; after
//! `input(L)` it takes `L` ids per sample and gives a sequence `[L, DIM]`. Another embedding
//! may read the same ids with `<- input`. An id outside the vocabulary is a typed error
//! (`BatchError::IdOutOfRange`) found before any layer runs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{LitInt, Token};

use super::{Built, Kind, Layer, Outcome, Site, Tensor, literal, private};
use crate::check::{Context, Incoming, Source};
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["embedding"], build, block: false };

struct Embedding {
    vocabulary: usize,
    dimension: usize,
    /// Ids per sample.
    length: usize,
    /// Whether the output is a sequence `[L, D]` (the input was declared with `input(L)`).
    sequence: bool,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let parsed = entry.parse_arguments(|content| {
        let vocabulary: LitInt = content.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the vocabulary and the embedding size: `embedding(VOCAB -> DIM)`",
            )
        })?;
        content.parse::<Token![->]>().map_err(|e| {
            syn::Error::new(e.span(), "expected `->` between the vocabulary and the embedding size")
        })?;
        let dimension: LitInt = content.parse()?;
        Ok((vocabulary, dimension))
    });
    let (vocabulary, dimension) = match parsed {
        Some(Ok(sizes)) => sizes,
        Some(Err(error)) => {
            context.errors().push(error);
            return Outcome::Failed { output: None };
        }
        None => {
            let message = "`embedding` needs its vocabulary and size: `embedding(VOCAB -> DIM)`";
            context.errors().at(&entry.kind, message);
            return Outcome::Failed { output: None };
        }
    };
    let vocabulary = context.size(&vocabulary, "an embedding's vocabulary");
    let dimension_size = context.size(&dimension, "an embedding");
    let Some((source, sequence)) = ids(entry, context) else {
        return Outcome::Failed { output: None };
    };
    let (Some(vocabulary), Some(dimension_size)) = (vocabulary, dimension_size) else {
        return Outcome::Failed { output: None };
    };
    let layer = Embedding { vocabulary, dimension: dimension_size, length: source.shape.len(), sequence };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: dimension.span() })
}

/// The ids the embedding reads, and whether they were declared with `input(L)`; `None`
/// after reporting that it reads something else.
fn ids(entry: &Entry, context: &mut Context) -> Option<(Source, bool)> {
    match context.incoming_any(entry) {
        Incoming::Unknown => context.declare_ids(&entry.kind, Shape::vector(1)).map(|ids| (ids, false)),
        Incoming::Known(source) if source.value == 0 => {
            let shape = source.shape.clone();
            let ids = if source.ids { Some(source) } else { context.declare_ids(&entry.kind, shape) };
            ids.map(|ids| (ids, true))
        }
        Incoming::Known(source) => {
            let what = source.producer.map_or_else(String::new, |(name, description)| {
                format!("; here it would read the output of layer `{name}` (`{description}`)")
            });
            let message = format!(
                "an embedding reads the network's input ids, so it must be the first layer or read `<- input`{what}"
            );
            context.errors().at(&entry.kind, message);
            None
        }
        Incoming::Poisoned => None,
    }
}

impl Layer for Embedding {
    fn describe(&self) -> String {
        format!("embedding({} -> {})", self.vocabulary, self.dimension)
    }

    fn output(&self) -> Shape {
        if self.sequence { Shape(vec![self.length, self.dimension]) } else { Shape::vector(self.dimension) }
    }

    fn parameters(&self) -> Vec<Tensor> {
        vec![Tensor { name: "weight", shape: vec![self.vocabulary, self.dimension] }]
    }

    fn initialise(&self, site: &Site) -> TokenStream {
        let private = private();
        let weight = site.tensor("weight");
        quote!(#private::fill_normal(#weight, 1.0, __rng);)
    }

    fn validate(&self, site: &Site) -> TokenStream {
        let private = private();
        let (ids, name) = (&site.inputs[0], &site.name);
        let (length, vocabulary) = (literal(self.length), literal(self.vocabulary));
        quote!(#private::embedding::check(#ids, #length, #vocabulary, #name)?;)
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (dimension, size) = (literal(self.dimension), literal(self.length * self.dimension));
        let (weight, ids) = (site.parameter("weight"), &site.inputs[0]);
        quote!(#private::embedding::forward_one::<T, #dimension, #size>(#weight, &#ids[..]))
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let dimension = literal(self.dimension);
        let (weight, ids, output) = (site.parameter("weight"), &site.inputs[0], site.output());
        quote!(#private::embedding::forward::<T, #dimension>(#weight, #ids, &mut __workspace.#output);)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        self.infer(site)
    }

    /// Scatter-adds the output gradient into the rows the ids selected; ids get none.
    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let dimension = literal(self.dimension);
        let (ids, gradient, grad_weight) = (&site.inputs[0], site.output_gradient(), site.gradient("weight"));
        quote!(#private::embedding::backward::<T, #dimension>(#ids, &__workspace.#gradient, #grad_weight);)
    }
}
