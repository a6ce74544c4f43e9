//! `residual { layer, layer, … }`: `x + f(x)`, where `f` is the block's layers as a chain
//! reading `x`. The block must keep `x`'s shape. Its unnamed layers are named after the
//! block (`2.0`, `2.1`, or `res.0` for `res: residual { … }`), as in a nested
//! `nn.Sequential`; named ones keep their names.

use super::add::Add;
use super::{Built, Kind, Outcome};
use crate::check::Context;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["residual"], build, block: true };

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let example = "`residual { dense(8, relu), dense(8) }`";
    if let Some(arguments) = &entry.arguments {
        let message = format!("`residual` takes its layers in braces, not parentheses: {example}");
        context.errors().at_span(arguments.span(), message);
        return Outcome::Failed { output: None };
    }
    let Some(block) = &entry.block else {
        context.errors().at(&entry.kind, format!("`residual` needs its layers in braces: {example}"));
        return Outcome::Failed { output: None };
    };
    let Some(input) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let Some(output) = context.block(&input, &block.entries) else {
        if block.entries.is_empty() {
            context
                .errors()
                .at_span(block.span, "a residual block needs at least one layer: `residual { dense(8) }`");
        }
        return Outcome::Failed { output: Some((input.shape, "residual { … }".to_owned())) };
    };
    if output.shape != input.shape {
        let name = output.producer.as_ref().map_or_else(String::new, |(name, _)| format!(" `{name}`"));
        let advice = match input.shape.0.as_slice() {
            [size] => format!("; end the block with a layer of {size} outputs, such as `dense({size})`"),
            _ => String::new(),
        };
        let message = format!(
            "a residual block adds its input to its output, so it must keep the shape: it reads {} but its last layer{name} produces {}{advice}",
            input.shape, output.shape
        );
        context.errors().at(&entry.kind, message);
        return Outcome::Failed { output: Some((input.shape, "residual { … }".to_owned())) };
    }
    let layer = Add { description: "residual".to_owned(), shape: input.shape };
    Outcome::Layer(Built {
        layer: Box::new(layer),
        inputs: vec![input.value, output.value],
        span: entry.kind.span(),
    })
}
