//! `input(N)`: declares the network's input size; only as the first entry. Not a layer.

use syn::LitInt;

use super::{Kind, Outcome};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["input"], build, block: false };

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let parsed = entry.parse_arguments(|content| {
        content
            .parse::<LitInt>()
            .map_err(|e| syn::Error::new(e.span(), "expected the input size, an integer such as `4`"))
    });
    let size = match parsed {
        Some(Ok(size)) => size,
        Some(Err(error)) => {
            context.errors().push(error);
            context.poison();
            return Outcome::Declaration;
        }
        None => {
            context.errors().at(&entry.kind, "`input` needs its size: `input(4)`");
            context.poison();
            return Outcome::Declaration;
        }
    };
    if !context.is_first() {
        context
            .errors()
            .at(&entry.kind, "`input(…)` declares the network's input size, so it must come first");
        return Outcome::Declaration;
    }
    if let Some(name) = &entry.name {
        context.errors().at(name, "`input(…)` is not a layer and takes no name");
    }
    match context.size(&size, "an input") {
        Some(size) => {
            context.declare_input(Shape::vector(size), false);
        }
        None => context.poison(),
    }
    Outcome::Declaration
}
