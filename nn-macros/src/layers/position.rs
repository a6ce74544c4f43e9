//! `positional`, `positional(T)`: a learned position table `weight` `[T, E]` added to a
//! sequence `[T, E]` (an `nn.Embedding(T, E)` read at positions `0 … T−1`, drawn from
//! `N(0, 1)` as PyTorch's); `T` is checked against the sequence when written. `sinusoidal`:
//! the fixed sinusoids of "Attention Is All You Need", no parameters.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitInt;

use super::{Built, Kind, Layer, Outcome, Scratch, Site, Tensor, literal, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["positional", "sinusoidal"], build, block: false };

struct Position {
    /// A learned table (else the sinusoids).
    learned: bool,
    steps: usize,
    embed: usize,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let failed = Outcome::Failed { output: None };
    let learned = entry.kind == "positional";
    let written = match (learned, entry.parse_arguments(<LitInt as syn::parse::Parse>::parse)) {
        (_, None) => None,
        (true, Some(Ok(steps))) => Some(steps),
        (true, Some(Err(error))) => {
            context
                .errors()
                .push(syn::Error::new(error.span(), "expected the sequence's length: `positional(T)`"));
            return failed;
        }
        (false, Some(_)) => {
            let span = entry.arguments.as_ref().map_or_else(|| entry.kind.span(), proc_macro2::Group::span);
            context.errors().at_span(
                span,
                "`sinusoidal` takes no arguments: its table follows from the sequence's shape",
            );
            return failed;
        }
    };
    let Some(source) = context.source(entry) else {
        return failed;
    };
    let &[steps, embed] = source.shape.0.as_slice() else {
        let message = format!(
            "`{}` encodes the positions of a sequence `[T, E]`, but {}",
            entry.kind,
            source.produces()
        );
        context.errors().at(&entry.kind, message);
        return failed;
    };
    if let Some(written) = written
        && context.size(&written, "a position table").is_some_and(|size| size != steps)
    {
        let message = format!(
            "this table has {} positions, but {}; write `positional({steps})` or leave the length out",
            written.base10_digits(),
            source.produces()
        );
        context.errors().at(&written, message);
        return failed;
    }
    let layer = Position { learned, steps, embed };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: entry.kind.span() })
}

impl Position {
    /// The table as a `&[T]` expression: the parameter, or the sinusoids computed into
    /// scratch by [`Position::fill`].
    fn table(&self, site: &Site) -> TokenStream {
        if self.learned {
            site.parameter("weight")
        } else {
            let table = site.scratch("table");
            quote!(&__workspace.#table)
        }
    }

    /// Computes the sinusoids into scratch (nothing for a learned table).
    fn fill(&self, site: &Site) -> TokenStream {
        if self.learned {
            return TokenStream::new();
        }
        let private = private();
        let (table, embed) = (site.scratch("table"), literal(self.embed));
        quote!(#private::position::sinusoids(&mut __workspace.#table, #embed);)
    }
}

impl Layer for Position {
    fn describe(&self) -> String {
        if self.learned { format!("positional({})", self.steps) } else { "sinusoidal".to_owned() }
    }

    fn output(&self) -> Shape {
        Shape(vec![self.steps, self.embed])
    }

    fn parameters(&self) -> Vec<Tensor> {
        if self.learned {
            vec![Tensor { name: "weight", shape: vec![self.steps, self.embed] }]
        } else {
            Vec::new()
        }
    }

    fn scratch(&self) -> Vec<Scratch> {
        if self.learned { Vec::new() } else { vec![Scratch::fixed("table", self.steps * self.embed)] }
    }

    fn initialise(&self, site: &Site) -> TokenStream {
        if !self.learned {
            return TokenStream::new();
        }
        let (private, weight) = (private(), site.tensor("weight"));
        quote!(#private::fill_normal(#weight, 1.0, __rng);)
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (size, x) = (literal(self.steps * self.embed), &site.inputs[0]);
        if self.learned {
            let weight = site.parameter("weight");
            quote!(#private::position::learned_one::<T, #size>(#weight, #x))
        } else {
            let embed = literal(self.embed);
            quote!(#private::position::sinusoidal_one::<T, #size>(#embed, #x))
        }
    }

    fn infer(&self, site: &Site) -> TokenStream {
        self.forward_train(site)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        let private = private();
        let (fill, table, x, output) = (self.fill(site), self.table(site), &site.inputs[0], site.output());
        quote! {
            #fill
            #private::position::forward(#table, #x, &mut __workspace.#output);
        }
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let gradient = site.output_gradient();
        let grad_table = if self.learned {
            let weight = site.gradient("weight");
            quote!(::core::option::Option::Some(&mut #weight[..]))
        } else {
            quote!(::core::option::Option::None)
        };
        let grad_input = match &site.input_gradients[0] {
            Some(field) => quote!(::core::option::Option::Some(&mut __workspace.#field[..])),
            None => quote!(::core::option::Option::None),
        };
        quote!(#private::position::backward(&__workspace.#gradient, #grad_table, #grad_input);)
    }
}
