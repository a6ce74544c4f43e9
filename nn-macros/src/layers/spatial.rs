//! What convolution, pooling and upsampling share: their arguments,
//! `kind(lead (-> size)?, activation?, key = value, …)` with `lead` a size or a pair
//! (`conv2d(1 -> 6, kernel = (3, 5), padding = same, relu)`, `max_pool2d(2)`,
//! `upsample(2)`), the images and signals they read, and the output-size arithmetic, every
//! impossible shape reported on the token that makes it so.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitInt, Token, parenthesized};

use crate::check::{Context, Source};
use crate::errors::Errors;
use crate::parse::{Entry, Number, parse_activation};
use crate::suggest;

/// One value as written: `3`, `(3, 5)`, or a word (`same`, `false`).
pub enum Value {
    Sizes(Vec<LitInt>, Span),
    Word(Ident),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Self::Sizes(_, span) => *span,
            Self::Word(word) => word.span(),
        }
    }

    /// As written, for descriptions.
    pub fn text(&self) -> String {
        match self {
            Self::Sizes(sizes, _) if sizes.len() == 1 => sizes[0].base10_digits().to_owned(),
            Self::Sizes(sizes, _) => {
                let parts: Vec<&str> = sizes.iter().map(LitInt::base10_digits).collect();
                format!("({})", parts.join(", "))
            }
            Self::Word(word) => word.to_string(),
        }
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitInt) {
            let size: LitInt = input.parse()?;
            let span = size.span();
            return Ok(Self::Sizes(vec![size], span));
        }
        if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let sizes = content.parse_terminated(|input: ParseStream| input.parse::<LitInt>(), Token![,])?;
            return Ok(Self::Sizes(sizes.into_iter().collect(), paren.span.join()));
        }
        if input.peek(Token![-]) {
            return Err(input.error("expected a size of 0 or more; sizes cannot be negative"));
        }
        input.call(Ident::parse_any).map(Self::Word).map_err(|e| {
            syn::Error::new(e.span(), "expected a size (`3`), a pair of sizes (`(3, 5)`) or a word (`same`)")
        })
    }
}

/// The arguments as written.
pub struct Arguments {
    /// The first argument when it is not named: a size or pair.
    pub lead: Option<Value>,
    /// `-> OUT` after the first argument: the output channels of `IN -> OUT`.
    pub outputs: Option<LitInt>,
    pub activation: Option<(Ident, Vec<Number>)>,
    pub options: Vec<(Ident, Value)>,
}

impl Parse for Arguments {
    fn parse(content: ParseStream) -> syn::Result<Self> {
        let mut arguments = Self { lead: None, outputs: None, activation: None, options: Vec::new() };
        if content.peek(LitInt) || content.peek(syn::token::Paren) {
            arguments.lead = Some(content.parse()?);
            if content.peek(Token![->]) {
                content.parse::<Token![->]>()?;
                arguments.outputs = Some(content.parse().map_err(|e| {
                    syn::Error::new(e.span(), "expected the output channels after `->`, an integer")
                })?);
            }
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
        }
        while !content.is_empty() {
            let name: Ident = content.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected an activation (such as `relu`) or an option (such as `stride = 2`)",
                )
            })?;
            if content.peek(Token![=]) {
                content.parse::<Token![=]>()?;
                arguments.options.push((name, content.parse()?));
            } else {
                parse_activation(content, name, &mut arguments.activation)?;
            }
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
        }
        Ok(arguments)
    }
}

/// Parses `entry`'s arguments (none is an empty list); `None` after a syntax error.
pub fn parse(entry: &Entry, context: &mut Context) -> Option<Arguments> {
    match entry.parse_arguments(Arguments::parse) {
        None => Some(Arguments { lead: None, outputs: None, activation: None, options: Vec::new() }),
        Some(Ok(arguments)) => Some(arguments),
        Some(Err(error)) => {
            context.errors().push(error);
            None
        }
    }
}

/// The options a kind accepts, by name: looks each up, reporting unknown and repeated ones.
pub struct Options<'a> {
    given: &'a [(Ident, Value)],
}

impl<'a> Options<'a> {
    /// Checks every given option's name against `accepted`; `None` after reporting one.
    pub fn check(
        errors: &mut Errors,
        kind: &str,
        given: &'a [(Ident, Value)],
        accepted: &[&str],
    ) -> Option<Self> {
        let mut seen: Vec<String> = Vec::new();
        let mut valid = true;
        for (key, _) in given {
            let text = key.to_string();
            if !accepted.contains(&text.as_str()) {
                let hint = suggest::hint(&text, accepted.iter().copied());
                errors.at(key, format!("unknown option `{text}` for `{kind}`; {hint}"));
                valid = false;
            } else if seen.contains(&text) {
                errors.at(key, format!("`{text}` is given twice"));
                valid = false;
            }
            seen.push(text);
        }
        valid.then_some(Self { given })
    }

    /// The value given for `name`, with its key.
    pub fn get(&self, name: &str) -> Option<(&'a Ident, &'a Value)> {
        self.given.iter().find(|(key, _)| key == name).map(|(key, value)| (key, value))
    }
}

/// A spatial size per axis (`[H, W]` or `[L]`): `value` as one size for every axis or one
/// per axis, each at least `minimum`; `None` after reporting why not.
pub fn per_axis(
    errors: &mut Errors,
    name: &str,
    value: &Value,
    axes: usize,
    minimum: usize,
) -> Option<Vec<usize>> {
    let Value::Sizes(sizes, span) = value else {
        let example = if axes == 1 { "`3`".to_owned() } else { "`3` or `(3, 5)`".to_owned() };
        errors.at_span(value.span(), format!("`{name}` takes a size, such as {example}"));
        return None;
    };
    if sizes.len() != 1 && sizes.len() != axes {
        let message = if axes == 1 {
            format!("`{name}` of a 1-D layer takes one size, such as `{name} = 3`")
        } else {
            format!("`{name}` takes one size for both axes or two, (height, width): `{name} = (3, 5)`")
        };
        errors.at_span(*span, message);
        return None;
    }
    let mut values = Vec::new();
    for size in sizes {
        if size.base10_digits().starts_with('-') {
            errors.at(size, format!("`{name}` cannot be negative, found {}", size.base10_digits()));
            return None;
        }
        match size.base10_parse::<usize>() {
            Ok(v) if v >= minimum && v <= 1 << 20 => values.push(v),
            Ok(v) if v < minimum => {
                let why = if name == "stride" { " (a stride of 0 never moves)" } else { "" };
                errors.at(size, format!("`{name}` must be at least {minimum}{why}, found {v}"));
                return None;
            }
            _ => {
                errors.at(size, format!("`{name}` is too large; at most {}", 1 << 20));
                return None;
            }
        }
    }
    Some(if values.len() == 1 { vec![values[0]; axes] } else { values })
}

/// The spatial sizes of the value a spatial layer reads: `[H, W]` of an image `[C, H, W]`
/// (`axes` 2) or `[L]` of a signal `[C, L]` (`axes` 1), with `C`; `None` after reporting.
pub fn planes(
    context: &mut Context,
    entry: &Entry,
    source: &Source,
    axes: usize,
) -> Option<(usize, Vec<usize>)> {
    match source.shape.0.as_slice() {
        [channels, sizes @ ..] if sizes.len() == axes => Some((*channels, sizes.to_vec())),
        _ => {
            let (reads, declare) = if axes == 2 {
                ("an image [C, H, W]", "`input(C, H, W)`")
            } else {
                ("a signal [C, L]", "`input(C, L)`")
            };
            let message = format!(
                "`{}` reads {reads}, but {}; declare the input as {declare}",
                entry.kind,
                source.produces()
            );
            context.errors().at(&entry.kind, message);
            None
        }
    }
}

/// One axis of a sliding window: `⌊(size + padding − span)/stride⌋ + 1` with `span =
/// dilation·(kernel − 1) + 1` and `padding` the total of both sides. `Err` says why the
/// window does not fit the `axis` (`height`, `width`, `length`).
pub fn slide(
    axis: &str,
    size: usize,
    padding: usize,
    (kernel, dilation, stride): (usize, usize, usize),
) -> Result<usize, String> {
    let span = dilation * (kernel - 1) + 1;
    let padded = size + padding;
    if span > padded {
        let spans = if dilation > 1 {
            format!("{dilation}·({kernel} − 1) + 1 = {span}")
        } else {
            kernel.to_string()
        };
        let input =
            if padding > 0 { format!("{size} + {padding} of padding = {padded}") } else { size.to_string() };
        return Err(format!(
            "the window does not fit the input's {axis}: it spans {spans}, but the {axis} is {input}; use a smaller kernel or dilation, or more padding"
        ));
    }
    Ok((padded - span) / stride + 1)
}

/// The names of `axes` spatial axes, for messages.
pub fn axis_names(axes: usize) -> &'static [&'static str] {
    if axes == 1 { &["length"] } else { &["height", "width"] }
}

/// A `usize` product as a span-free check: `None` on overflow.
pub fn product(values: &[usize]) -> Option<usize> {
    values.iter().try_fold(1_usize, |total, &v| total.checked_mul(v))
}

/// The span of the whole `( … )` of an entry, or its kind.
pub fn arguments_span(entry: &Entry) -> Span {
    entry.arguments.as_ref().map_or_else(|| entry.kind.span(), proc_macro2::Group::span)
}
