//! `flatten`: a sequence `[L, D]` or an image `[C, H, W]` as one vector, row-major (PyTorch's
//! `torch.flatten(x, 1)`), so a `dense` layer can read all of it. (A `dense` on a sequence
//! acts on each step, as `nn.Linear` does.)

use proc_macro2::TokenStream;
use quote::quote;

use super::{Built, Kind, Layer, Outcome, Site, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["flatten"], build, block: false };

struct Flatten {
    from: Shape,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    if let Some(arguments) = &entry.arguments {
        context.errors().at_span(arguments.span(), "`flatten` takes no arguments");
    }
    match context.source(entry) {
        Some(source) => Outcome::Layer(Built {
            layer: Box::new(Flatten { from: source.shape }),
            inputs: vec![source.value],
            span: entry.kind.span(),
        }),
        None => Outcome::Failed { output: None },
    }
}

impl Layer for Flatten {
    fn describe(&self) -> String {
        "flatten".to_owned()
    }

    fn output(&self) -> Shape {
        Shape::vector(self.from.len())
    }

    fn size_arithmetic(&self) -> Option<String> {
        let factors: Vec<String> = self.from.0.iter().map(ToString::to_string).collect();
        (factors.len() > 1).then(|| format!("{} = {}", factors.join("×"), self.from.len()))
    }

    /// The values do not move: inference reads the buffer before it.
    fn identity_in_inference(&self) -> bool {
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
        let (input, output) = (&site.inputs[0], site.output());
        quote!(#private::flatten::forward(#input, &mut __workspace.#output);)
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let Some(grad_input) = &site.input_gradients[0] else {
            return TokenStream::new();
        };
        let private = private();
        let gradient = site.output_gradient();
        quote!(#private::flatten::backward(&__workspace.#gradient, &mut __workspace.#grad_input);)
    }
}
