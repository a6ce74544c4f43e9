//! `input(N)`, `input(T, F)`, `input(C, H, W)`: declares the shape of the network's input —
//! a vector; a sequence of `T` steps of `F` features (PyTorch's `batch_first` `[T, F]`), or
//! equally a 1-D signal of `C` channels `[C, L]`, as the layers after it read it; or an
//! image of `C` channels `[C, H, W]`. Only as the first entry. Not a layer.

use syn::punctuated::Punctuated;
use syn::{LitInt, Token};

use super::{Kind, Outcome};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["input"], build, block: false };

/// What an input size list must look like, for the errors.
const FORMS: &str = "`input(4)`, `input(T, F)` for a sequence (or `input(C, L)` for a signal) or `input(C, H, W)` for an image";

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let parsed = entry.parse_arguments(|content| {
        let sizes = Punctuated::<LitInt, Token![,]>::parse_separated_nonempty(content)
            .map_err(|e| syn::Error::new(e.span(), format!("expected the input's sizes: {FORMS}")))?;
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
        Ok(sizes.into_iter().collect::<Vec<_>>())
    });
    let sizes = match parsed {
        Some(Ok(sizes)) => sizes,
        Some(Err(error)) => {
            context.errors().push(error);
            context.poison();
            return Outcome::Declaration;
        }
        None => {
            context.errors().at(&entry.kind, format!("`input` needs its size: {FORMS}"));
            context.poison();
            return Outcome::Declaration;
        }
    };
    if sizes.len() > 3 {
        let message = format!("an input has at most three sizes: {FORMS}");
        context.errors().at(&sizes[3], message);
        context.poison();
        return Outcome::Declaration;
    }
    if !context.is_first() {
        context
            .errors()
            .at(&entry.kind, "`input(…)` declares the network's input size, so it must come first");
        return Outcome::Declaration;
    }
    if let Some(name) = &entry.name {
        context.errors().at(name, "`input(…)` is not a layer and takes no name");
    }
    let resolved: Option<Vec<usize>> = sizes.iter().map(|size| context.size(size, "an input")).collect();
    match resolved {
        Some(shape) if shape.iter().try_fold(1_usize, |total, &size| total.checked_mul(size)).is_some() => {
            context.declare_input(Shape(shape), false);
        }
        Some(_) => {
            context.errors().at(&sizes[0], "this input is too large: its values must fit in memory");
            context.poison();
        }
        None => context.poison(),
    }
    Outcome::Declaration
}
