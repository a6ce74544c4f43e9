//! Stage 1: tokens → syntax tree. Keeps the user's tokens so every later error can point
//! at them. Purely structural: each entry's arguments stay tokens until its kind parses
//! them (in `check`), so this module names no layer kind.
//!
//! ```text
//! declaration := attribute* visibility `struct` Ident `{` entries `}`
//! entries     := entry (`,` entry)* `,`?
//! entry       := (Ident `:`)? Ident (`(` arguments `)`)? (`{` entries `}`)? (`<-` Ident)?
//! ```
//!
//! Each entry is parsed on its own, so syntax errors in several entries are all reported.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitInt, Token, Visibility, braced, parenthesized};

/// A whole `network!` invocation.
pub struct Declaration {
    /// The struct's attributes, without `#[weights]`.
    pub attrs: Vec<Attribute>,
    /// `#[weights = "model.safetensors"]`: the file to bake in.
    pub weights: Option<syn::LitStr>,
    pub vis: Visibility,
    pub ident: Ident,
    /// The `{ … }` around the layers, for errors about the list as a whole.
    pub brace_span: Span,
    /// Each entry, or its syntax error, in order.
    pub entries: Vec<syn::Result<Entry>>,
}

/// One entry of a layer list: `hidden: dense(2 -> 3, relu)`, `residual { … }`,
/// `b: dense(4) <- input`.
pub struct Entry {
    /// `hidden` in `hidden: dense(…)`.
    pub name: Option<Ident>,
    /// `dense`, `dropout`, `relu`, …
    pub kind: Ident,
    /// `( … )` after the kind, for the kind to parse.
    pub arguments: Option<Group>,
    /// `{ … }` after the kind: the entries of a block.
    pub block: Option<Block>,
    /// `<- name`: the value this layer reads, when not the previous entry's.
    pub source: Option<Ident>,
}

/// The entries of a block, `residual { … }`.
pub struct Block {
    pub span: Span,
    pub entries: Vec<syn::Result<Entry>>,
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
        let mut attrs = input.call(Attribute::parse_outer)?;
        let weights = crate::bake::take_attribute(&mut attrs)?;
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
        Ok(Self { attrs, weights, vis, ident, brace_span: brace.span.join(), entries: parse_entries(body) })
    }
}

/// Splits a layer list at its top-level commas and parses each entry on its own.
fn parse_entries(body: TokenStream) -> Vec<syn::Result<Entry>> {
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
    let mut entries = Vec::new();
    let count = chunks.len();
    for (index, (tokens, comma)) in chunks.into_iter().enumerate() {
        if tokens.is_empty() {
            // A trailing comma (or an empty list) is fine; an empty slot between commas is not.
            if let (Some(comma), true) = (comma, index + 1 < count) {
                entries.push(Err(syn::Error::new(comma, "expected a layer before this `,`")));
            }
            continue;
        }
        entries.push(Entry::parse.parse2(tokens.into_iter().collect()));
    }
    entries
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let first: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a layer, such as `dense(2 -> 3, relu)` or `dropout(0.5)`")
        })?;
        let (name, kind) = if input.peek(Token![:]) && !input.peek(Token![::]) {
            input.parse::<Token![:]>()?;
            // At the end of the entry's tokens syn can only point at the whole macro call;
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
        let arguments = if input.peek(syn::token::Paren) { group(input.parse::<TokenTree>()?) } else { None };
        let block = if input.peek(syn::token::Brace) {
            let content;
            let brace = braced!(content in input);
            Some(Block { span: brace.span.join(), entries: parse_entries(content.parse()?) })
        } else {
            None
        };
        let source = if input.peek(Token![<-]) {
            let arrow = input.parse::<Token![<-]>()?;
            // At the end of the entry's tokens syn can only point at the whole macro call.
            let at = if input.is_empty() {
                arrow.spans[0].join(arrow.spans[1]).unwrap_or(arrow.spans[0])
            } else {
                input.span()
            };
            Some(input.parse::<Ident>().map_err(|_| {
                syn::Error::new(
                    at,
                    "expected the name of the layer this one reads after `<-`, such as `<- input`",
                )
            })?)
        } else {
            None
        };
        if !input.is_empty() {
            return Err(input.error("expected `,` between layers"));
        }
        Ok(Self { name, kind, arguments, block, source })
    }
}

fn group(token: TokenTree) -> Option<Group> {
    match token {
        TokenTree::Group(group) => Some(group),
        _ => None,
    }
}

impl Entry {
    /// The span of the whole entry's head (`name: kind`), for errors about it as a whole.
    pub fn span(&self) -> Span {
        let start = self.name.as_ref().map_or_else(|| self.kind.span(), Spanned::span);
        start.join(self.kind.span()).unwrap_or(start)
    }

    /// Parses the entry's `( … )` with `parser`, which must consume all of it; errors at
    /// the end point at the closing parenthesis.
    pub fn parse_arguments<T>(
        &self,
        parser: impl FnOnce(ParseStream) -> syn::Result<T>,
    ) -> Option<syn::Result<T>> {
        let group = self.arguments.as_ref()?;
        let kind = &self.kind;
        let whole = move |input: ParseStream| {
            let content;
            parenthesized!(content in input);
            let value = parser(&content)?;
            if !content.is_empty() {
                return Err(content.error(format!("unexpected argument to `{kind}`")));
            }
            Ok(value)
        };
        Some(whole.parse2(TokenTree::Group(group.clone()).into()))
    }
}

/// The arguments of a layer that keeps its input's size: `layer_norm`, `layer_norm(6)`,
/// `batch_norm(6, relu, momentum = 0.01)`: an optional size (checked against the input),
/// an optional activation applied after the layer, and `key = value` options.
pub struct Arguments {
    pub size: Option<LitInt>,
    pub activation: Option<(Ident, Vec<Number>)>,
    /// `eps = 1e-6`.
    pub options: Vec<(Ident, Number)>,
}

impl Parse for Arguments {
    fn parse(content: ParseStream) -> syn::Result<Self> {
        let size = if content.peek(LitInt) { Some(content.parse()?) } else { None };
        let mut arguments = Self { size, activation: None, options: Vec::new() };
        let mut first = arguments.size.is_none();
        while !content.is_empty() {
            if !first {
                content.parse::<Token![,]>()?;
                if content.is_empty() {
                    break;
                }
            }
            first = false;
            let name: Ident = content.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected an activation (such as `relu`) or an option (such as `eps = 1e-5`)",
                )
            })?;
            if content.peek(Token![=]) {
                content.parse::<Token![=]>()?;
                // Any value parses; one that is no number (`affine = false`) becomes NaN, which
                // the kind's option check reports after checking the option's name.
                let value = if content.peek(syn::LitFloat) || content.peek(LitInt) || content.peek(Token![-])
                {
                    content.parse()?
                } else {
                    let token: TokenTree = content.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            format!("expected a value for `{name}`, such as `{name} = 0.1`"),
                        )
                    })?;
                    Number { value: f64::NAN, span: token.span(), text: token.to_string() }
                };
                arguments.options.push((name, value));
                continue;
            }
            parse_activation(content, name, &mut arguments.activation)?;
        }
        Ok(arguments)
    }
}

/// After an activation's name, its optional numbers (`leaky_relu(0.2)`) into `slot`; an
/// error on both names when `slot` already holds one: a layer takes one activation.
pub fn parse_activation(
    content: ParseStream,
    name: Ident,
    slot: &mut Option<(Ident, Vec<Number>)>,
) -> syn::Result<()> {
    let numbers = parse_optional_numbers(content)?;
    if let Some((previous, _)) = slot {
        let mut error = syn::Error::new(
            name.span(),
            format!("a layer takes one activation, and `{previous}` is already given"),
        );
        error.combine(syn::Error::new(previous.span(), "first activation given here"));
        return Err(error);
    }
    *slot = Some((name, numbers));
    Ok(())
}

/// `(number, …)` if present: the arguments of `leaky_relu(0.2)` or `constant(0.1)`.
pub fn parse_optional_numbers(content: ParseStream) -> syn::Result<Vec<Number>> {
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
