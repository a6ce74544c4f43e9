//! `concat(a, b, …)`: named values joined along their feature axis — the last axis of a
//! vector `[F]` or a sequence `[T, F]`, the channel axis of an image `[C, H, W]` — as
//! `torch.cat` along that dimension. Every other axis must agree.

use proc_macro2::TokenStream;
use quote::quote;

use super::add::references;
use super::{Built, Kind, Layer, Outcome, Site, literal, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["concat"], build, block: false };

/// Per sample: for each of `outer` blocks, every input's chunk in turn.
struct Concat {
    description: String,
    shape: Shape,
    /// Blocks per sample (the product of the axes before the joined one).
    outer: usize,
    /// Each input's values per block.
    chunks: Vec<usize>,
}

/// The axis a shape is joined along.
fn axis(shape: &Shape) -> usize {
    if shape.0.len() == 3 { 0 } else { shape.0.len() - 1 }
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let Some(sources) = references(entry, context, "concat") else {
        return Outcome::Failed { output: None };
    };
    let (first, first_source) = &sources[0];
    let axis = axis(&first_source.shape);
    let mut joined = first_source.shape.0.clone();
    joined[axis] = 0;
    let mut fits = true;
    for (name, source) in &sources {
        let (mut theirs, mut ours) = (source.shape.0.clone(), first_source.shape.0.clone());
        if theirs.len() == ours.len() {
            (theirs[axis], ours[axis]) = (0, 0);
        }
        if theirs != ours {
            let message = format!(
                "`concat` joins values along their feature axis, so every other axis must agree, but `{first}` is {} and `{name}` is {}",
                first_source.shape, source.shape
            );
            context.errors().at(name, message);
            fits = false;
            continue;
        }
        joined[axis] += source.shape.0[axis];
    }
    if !fits {
        return Outcome::Failed { output: None };
    }
    let outer = first_source.shape.0[..axis].iter().product();
    let chunks = sources.iter().map(|(_, s)| s.shape.0[axis..].iter().product()).collect();
    let names: Vec<String> = sources.iter().map(|(name, _)| name.to_string()).collect();
    let layer =
        Concat { description: format!("concat({})", names.join(", ")), shape: Shape(joined), outer, chunks };
    let inputs = sources.iter().map(|(_, source)| source.value).collect();
    Outcome::Layer(Built { layer: Box::new(layer), inputs, span: entry.kind.span() })
}

impl Layer for Concat {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn output(&self) -> Shape {
        self.shape.clone()
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (inputs, chunks) = (&site.inputs, self.chunks.iter().map(|&c| literal(c)));
        let (outer, size) = (literal(self.outer), literal(self.shape.len()));
        quote!(#private::concat::forward_one::<T, #size>(&[#(((#inputs).as_slice(), #chunks)),*], #outer))
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let (inputs, chunks) = (&site.inputs, self.chunks.iter().map(|&c| literal(c)));
        let (outer, output) = (literal(self.outer), site.output());
        quote!(#private::concat::forward(&[#((#inputs, #chunks)),*], #outer, &mut __workspace.#output);)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        self.infer(site)
    }

    /// Each input's gradient is its own chunks of `∂L/∂a`.
    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let gradient = site.output_gradient();
        let (outer, width) = (literal(self.outer), literal(self.chunks.iter().sum()));
        let mut offset = 0;
        let mut statements = Vec::new();
        for (grad_input, &chunk) in site.input_gradients.iter().zip(&self.chunks) {
            if let Some(grad_input) = grad_input {
                let (start, chunk) = (literal(offset), literal(chunk));
                statements.push(quote! {
                    #private::concat::backward(
                        &__workspace.#gradient, (#start, #chunk, #width), #outer, &mut __workspace.#grad_input,
                    );
                });
            }
            offset += chunk;
        }
        quote!(#(#statements)*)
    }
}
