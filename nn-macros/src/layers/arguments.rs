//! The arguments of a layer that keeps its input's shape, `kind(size?, activation?,
//! key = number, …)` (`batch_norm(6, relu, momentum = 0.01)`, `layer_norm(eps = 1e-6)`),
//! parsed and resolved the same way for every such kind.

use syn::LitInt;

use super::NumericOption;
use super::activation::{self, Activation};
use crate::check::Context;
use crate::parse::{Arguments, Entry};

/// Resolved arguments; each part is `None` after its mistake was reported.
pub struct Resolved {
    /// The size as written, for the kind to check against its input.
    pub size: Option<LitInt>,
    pub activation: Option<Activation>,
    /// The options' values, in the order the kind accepts them.
    pub options: Option<Vec<f64>>,
    /// The activation and options as written after the size (`gelu`, `eps = 1e-6`), for
    /// the layer's description.
    pub written: Vec<String>,
}

/// Parses and resolves `entry`'s arguments; `None` after a syntax error (reported).
pub fn resolve(
    entry: &Entry,
    context: &mut Context,
    kind: &str,
    accepted: &[NumericOption],
) -> Option<Resolved> {
    let arguments = match entry.parse_arguments(<Arguments as syn::parse::Parse>::parse) {
        None => Arguments { size: None, activation: None, options: Vec::new() },
        Some(Ok(arguments)) => arguments,
        Some(Err(error)) => {
            context.errors().push(error);
            return None;
        }
    };
    let activation = match &arguments.activation {
        Some((name, numbers)) => activation::resolve(context.errors(), name, numbers),
        None => Some(Activation::IDENTITY),
    };
    let options = super::numeric_options(context.errors(), kind, &arguments.options, accepted);
    let written_activation = arguments.activation.as_ref().and(activation).map(Activation::describe);
    let written_options = arguments.options.iter().map(|(key, value)| format!("{key} = {}", value.text));
    let written = written_activation.into_iter().chain(written_options).collect();
    Some(Resolved { size: arguments.size, activation, options, written })
}
