//! Stage 1: tokens → syntax tree. Keeps the user's tokens so every later error can point
//! at them. Purely syntactic: whether a name is a known activation is `check`'s question.
//!
//! ```text
//! declaration := attribute* visibility `struct` Ident `{` layer (`,` layer)* `,`? `}`
//! layer       := (Ident `:`)? Ident (`(` arguments `)`)?
//! ```
//!
//! Each layer is parsed on its own, so syntax errors in several layers are all reported.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitInt, Token, Visibility, braced, parenthesized};

use crate::errors::Errors;

/// A whole `network!` invocation.
pub struct Declaration {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    /// The `{ … }` around the layers, for errors about the list as a whole.
    pub brace_span: Span,
    pub layers: Vec<Layer>,
    /// Syntax errors inside individual layers (the header parsed fine).
    pub syntax_errors: Option<syn::Error>,
}

/// One entry of the layer list.
pub struct Layer {
    /// `hidden` in `hidden: dense(…)`.
    pub name: Option<Ident>,
    /// `dense`, `dropout`, `relu`, …
    pub kind: Ident,
    pub arguments: Arguments,
}

/// A layer's arguments, by the layer kind's syntax.
pub enum Arguments {
    /// `dense(IN -> OUT, activation, key = value, …)` or `dense(OUT, …)`.
    Dense(Dense),
    /// `dropout(p)`.
    Dropout(Number),
    /// `input(N)`.
    Input(LitInt),
    /// Any other kind, with its raw arguments: an activation (`relu`, `leaky_relu(0.1)`) or
    /// a mistake, which `check` names.
    Other(Option<TokenStream>),
}

/// The arguments of `dense(…)`.
pub struct Dense {
    pub inputs: Option<LitInt>,
    pub outputs: LitInt,
    pub activation: Option<Activation>,
    pub options: Vec<Option_>,
}

/// An activation named inside a layer: `sigmoid`, `leaky_relu(0.1)`.
pub struct Activation {
    pub name: Ident,
    pub arguments: Vec<Number>,
}

/// `key = value` or `key = value(arguments)` inside a layer's arguments.
pub struct Option_ {
    pub key: Ident,
    pub value: Ident,
    pub arguments: Vec<Number>,
}

/// A numeric literal, possibly negative, with its span and its text as written.
pub struct Number {
    pub value: f64,
    pub span: Span,
    pub text: String,
}

impl Parse for Number {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let minus: Option<Token![-]> = input.parse()?;
        let lookahead = input.lookahead1();
        let (magnitude, end, digits) = if lookahead.peek(syn::LitFloat) {
            let lit: syn::LitFloat = input.parse()?;
            (lit.base10_parse::<f64>()?, lit.span(), lit.to_string())
        } else if lookahead.peek(LitInt) {
            let lit: LitInt = input.parse()?;
            (lit.base10_parse::<f64>()?, lit.span(), lit.to_string())
        } else {
            return Err(lookahead.error());
        };
        let span = minus.map_or(end, |m| m.span.join(end).unwrap_or(end));
        let sign = if minus.is_some() { "-" } else { "" };
        let value = if minus.is_some() { -magnitude } else { magnitude };
        Ok(Self { value, span, text: format!("{sign}{digits}") })
    }
}

impl Parse for Declaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident: Ident = input.parse()?;
        if input.peek(Token![<]) {
            return Err(input.error(
                "a network takes no generic parameters: it is generic over its scalar type (`f32` or `f64`) already",
            ));
        }
        let content;
        let brace = braced!(content in input);
        let body: TokenStream = content.parse()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the network's `{ … }`"));
        }
        let mut errors = Errors::default();
        let layers = parse_layers(body, &mut errors);
        Ok(Self {
            attrs,
            vis,
            ident,
            brace_span: brace.span.join(),
            layers,
            syntax_errors: errors.finish().err(),
        })
    }
}

/// Splits the layer list at its top-level commas and parses each layer on its own.
fn parse_layers(body: TokenStream, errors: &mut Errors) -> Vec<Layer> {
    let mut chunks: Vec<(Vec<TokenTree>, Option<Span>)> = vec![(Vec::new(), None)];
    for token in body {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                if let Some(last) = chunks.last_mut() {
                    last.1 = Some(p.span());
                }
                chunks.push((Vec::new(), None));
            }
            _ => {
                if let Some(last) = chunks.last_mut() {
                    last.0.push(token);
                }
            }
        }
    }
    let mut layers = Vec::new();
    let count = chunks.len();
    for (index, (tokens, comma)) in chunks.into_iter().enumerate() {
        if tokens.is_empty() {
            // A trailing comma (or an empty list) is fine; an empty slot between commas is not.
            if let (Some(comma), true) = (comma, index + 1 < count) {
                errors.at_span(comma, "expected a layer before this `,`");
            }
            continue;
        }
        match Layer::parse.parse2(tokens.into_iter().collect()) {
            Ok(layer) => layers.push(layer),
            Err(error) => errors.push(error),
        }
    }
    layers
}

impl Parse for Layer {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let first: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a layer, such as `dense(2 -> 3, relu)` or `dropout(0.5)`")
        })?;
        let (name, kind) = if input.peek(Token![:]) && !input.peek(Token![::]) {
            input.parse::<Token![:]>()?;
            // At the end of the layer's tokens syn can only point at the whole macro call;
            // the name the user wrote is the better place.
            let kind: Ident = input.parse().map_err(|_| {
                syn::Error::new(
                    first.span(),
                    format!("expected a layer after `{first}:`, such as `dense(3, relu)`"),
                )
            })?;
            (Some(first), kind)
        } else {
            (None, first)
        };
        let arguments = if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            parse_arguments(&kind, &content)?
        } else {
            match kind.to_string().as_str() {
                "dense" => {
                    return Err(syn::Error::new(
                        kind.span(),
                        "`dense` needs its sizes: `dense(IN -> OUT, activation)` or `dense(OUT, activation)`",
                    ));
                }
                "dropout" => {
                    return Err(syn::Error::new(
                        kind.span(),
                        "`dropout` needs its probability: `dropout(0.5)`",
                    ));
                }
                "input" => {
                    return Err(syn::Error::new(kind.span(), "`input` needs its size: `input(4)`"));
                }
                _ => Arguments::Other(None),
            }
        };
        if !input.is_empty() {
            return Err(input.error("expected `,` between layers"));
        }
        Ok(Self { name, kind, arguments })
    }
}

fn parse_arguments(kind: &Ident, content: ParseStream) -> syn::Result<Arguments> {
    let arguments = match kind.to_string().as_str() {
        "dense" => Arguments::Dense(parse_dense(content)?),
        "dropout" => {
            let p = content.parse::<Number>().map_err(|e| {
                syn::Error::new(e.span(), "expected the dropout probability, a number such as `0.5`")
            })?;
            Arguments::Dropout(p)
        }
        "input" => {
            let size: LitInt = content
                .parse()
                .map_err(|e| syn::Error::new(e.span(), "expected the input size, an integer such as `4`"))?;
            Arguments::Input(size)
        }
        _ => Arguments::Other(Some(content.parse()?)),
    };
    if !content.is_empty() {
        return Err(content.error(format!("unexpected argument to `{kind}`")));
    }
    Ok(arguments)
}

/// `(number, …)` if present: the arguments of `leaky_relu(0.2)` or `constant(0.1)`.
fn parse_optional_numbers(content: ParseStream) -> syn::Result<Vec<Number>> {
    if content.peek(syn::token::Paren) {
        let inner;
        parenthesized!(inner in content);
        parse_numbers(&inner)
    } else {
        Ok(Vec::new())
    }
}

/// `number, number, …`, the arguments of an activation.
pub fn parse_numbers(content: ParseStream) -> syn::Result<Vec<Number>> {
    let numbers = content.parse_terminated(Number::parse, Token![,])?;
    Ok(numbers.into_iter().collect())
}

fn parse_dense(content: ParseStream) -> syn::Result<Dense> {
    let first: LitInt = content.parse().map_err(|e| {
        syn::Error::new(e.span(), "expected the layer's sizes: `dense(IN -> OUT)` or `dense(OUT)`")
    })?;
    let (inputs, outputs) = if content.peek(Token![->]) {
        content.parse::<Token![->]>()?;
        let outputs: LitInt = content
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected the output size after `->`, an integer"))?;
        (Some(first), outputs)
    } else {
        if content.peek(Token![-])
            || content.peek(Token![>])
            || content.peek(Token![=>])
            || content.peek(LitInt)
        {
            return Err(content.error("expected `->` between the input and output sizes"));
        }
        (None, first)
    };
    let mut activation: Option<Activation> = None;
    let mut options = Vec::new();
    while !content.is_empty() {
        content.parse::<Token![,]>()?;
        if content.is_empty() {
            break;
        }
        let name: Ident = content.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an activation (such as `relu`) or an option (such as `init = he_uniform`)",
            )
        })?;
        if content.peek(Token![=]) {
            content.parse::<Token![=]>()?;
            let value: Ident = content.parse()?;
            let arguments = parse_optional_numbers(content)?;
            options.push(Option_ { key: name, value, arguments });
            continue;
        }
        let arguments = parse_optional_numbers(content)?;
        if let Some(previous) = &activation {
            let mut error = syn::Error::new(
                name.span(),
                format!("a dense layer takes one activation, and `{}` is already given", previous.name),
            );
            error.combine(syn::Error::new(previous.name.span(), "first activation given here"));
            return Err(error);
        }
        activation = Some(Activation { name, arguments });
    }
    Ok(Dense { inputs, outputs, activation, options })
}

impl Layer {
    /// The span of the whole layer, for errors about it as a whole.
    pub fn span(&self) -> Span {
        let start = self.name.as_ref().map_or_else(|| self.kind.span(), Spanned::span);
        start.join(self.kind.span()).unwrap_or(start)
    }
}
