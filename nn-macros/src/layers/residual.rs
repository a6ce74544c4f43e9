//! `residual { layer, layer, … }`: `x + f(x)`, where `f` is the block's layers as a chain
//! reading `x`. The block must keep `x`'s shape. Its layers are named after the block
//! (`2.0`, `2.1`, or `res.0` for `res: residual { … }`), as a nested `nn.Sequential`.

use super::add::Add;
use super::{Built, Kind, Outcome};
use crate::check::Context;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["residual"], build, block: true };

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    if let Some(arguments) = &entry.arguments {
        context.errors().at_span(
            arguments.span(),
            "`residual` takes no arguments: its layers go in braces, `residual { dense(8, relu), dense(8) }`",
        );
    }
    let Some(block) = &entry.block else {
        let message = "`residual` needs its layers in braces: `residual { dense(8, relu), dense(8) }`";
        context.errors().at(&entry.kind, message);
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
        let message = format!(
            "a residual block adds its input to its output, so it must keep the shape: it reads {} but its last layer{name} produces {}",
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
