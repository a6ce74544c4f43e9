//! Stage 2: syntax tree → checked [`model`](crate::model). Resolves every shape, validates
//! every value and name, and reports all mistakes of the declaration together.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::{Ident, LitInt};

use crate::catalog::{ActivationKind, DENSE_OPTIONS, INITIALISERS, LAYER_KINDS};
use crate::errors::Errors;
use crate::model::{Activation, Init, Kind, Layer, Network};
use crate::parse::{self, Arguments, Declaration};
use crate::suggest;

/// The most parameters a network may have: a `Box<[f64; N]>` must stay below `isize::MAX`
/// bytes on every target, 32-bit ones included.
const MAX_PARAMETERS: usize = (i32::MAX as usize) / 8;

/// Methods every network has. A dense layer's accessors (`name()`, `name_mut()`) must not
/// hide them.
const RESERVED: &[&str] = &[
    "backward",
    "forward",
    "forward_batch",
    "forward_train",
    "from_parameters",
    "infer",
    "infer_batch",
    "initialise",
    "parameter",
    "parameter_specs",
    "parameters",
    "seeded",
    "workspace",
];

/// What is known of the values flowing into the next layer.
#[derive(Clone)]
enum Width {
    /// Nothing declared yet.
    Unknown,
    /// Produced by the named layer (`None`: the network's input).
    Known { size: usize, from: Option<(String, String)> },
    /// An earlier mistake hides it; checks that need it are skipped to avoid cascades.
    Poisoned,
}

/// Checks a declaration, returning its model or every mistake in it.
pub fn check(declaration: &Declaration) -> Result<Network, syn::Error> {
    let mut errors = Errors::default();
    if let Some(syntax) = &declaration.syntax_errors {
        errors.push(syntax.clone());
    }
    // After a syntax error an entry is missing, so no width can be trusted until a dense
    // layer states its output: the checks that follow sizes from layer to layer are skipped
    // rather than reported as cascades.
    let width = if declaration.syntax_errors.is_some() { Width::Poisoned } else { Width::Unknown };
    let mut checker = Checker {
        errors,
        width,
        layers: Vec::new(),
        offset: 0,
        has_input: false,
        names: HashMap::new(),
        idents: HashMap::new(),
    };
    for (position, layer) in declaration.layers.iter().enumerate() {
        checker.layer(position, layer);
    }
    let Checker { mut errors, mut layers, offset, .. } = checker;
    if declaration.layers.is_empty() && declaration.syntax_errors.is_none() {
        errors.at_span(
            declaration.brace_span,
            "a network needs at least one layer, such as `dense(2 -> 1, sigmoid)`",
        );
    }
    let only_input = declaration.layers.iter().all(|l| matches!(l.arguments, Arguments::Input(_)));
    if !declaration.layers.is_empty() && only_input && declaration.syntax_errors.is_none() {
        errors.at_span(declaration.brace_span, "a network needs at least one layer after `input(…)`");
    }
    errors.finish()?;
    let inputs = layers.first().map_or(0, |l| l.inputs);
    let outputs = layers.last().map_or(0, |l| l.outputs);
    mark_gradients(&mut layers);
    Ok(Network {
        attrs: declaration.attrs.clone(),
        vis: declaration.vis.clone(),
        ident: declaration.ident.clone(),
        inputs,
        outputs,
        parameters: offset,
        layers,
    })
}

/// Backward runs from the output down to the first layer with parameters: every layer from
/// there on needs its output's gradient, and every layer after it passes a gradient down.
fn mark_gradients(layers: &mut [Layer]) {
    let first_with_parameters = layers.iter().position(|l| matches!(l.kind, Kind::Dense { .. }));
    let last = layers.len().saturating_sub(1);
    for (index, layer) in layers.iter_mut().enumerate() {
        let from = first_with_parameters.unwrap_or(last);
        layer.has_gradient = index >= from;
        layer.propagates_gradient = first_with_parameters.is_some_and(|f| index > f);
    }
}

struct Checker {
    errors: Errors,
    width: Width,
    layers: Vec<Layer>,
    offset: usize,
    /// Whether the first entry is `input(…)`, which is not a layer.
    has_input: bool,
    /// Taken layer names, with where they were taken.
    names: HashMap<String, Span>,
    /// Taken Rust identifiers (a default `layer1` may collide with a declared name), and
    /// whether each is a default name.
    idents: HashMap<String, (Span, bool)>,
}

impl Checker {
    fn layer(&mut self, position: usize, layer: &parse::Layer) {
        // Default names count declared layers (not `input`), whether or not they passed.
        let index = position - usize::from(self.has_input);
        match &layer.arguments {
            Arguments::Input(size) => self.input(position, layer, size),
            Arguments::Dense(dense) => {
                if let Some((inputs, outputs, activation, init)) = self.dense(dense) {
                    let description = match dense.activation {
                        Some(_) => format!("dense({inputs} -> {outputs}, {})", describe(activation)),
                        None => format!("dense({inputs} -> {outputs})"),
                    };
                    let offset = self.offset;
                    let count = inputs.checked_mul(outputs).and_then(|w| w.checked_add(outputs));
                    match count.and_then(|c| c.checked_add(offset)).filter(|&end| end <= MAX_PARAMETERS) {
                        Some(end) => self.offset = end,
                        None => self.errors.at(
                            &dense.outputs,
                            format!(
                                "`{description}` makes the network larger than {MAX_PARAMETERS} parameters"
                            ),
                        ),
                    }
                    let kind = Kind::Dense { activation, init, offset };
                    self.push(layer, index, description, inputs, outputs, kind);
                } else {
                    // The layer is wrong, but when its output size is clear the layers after it
                    // can still be checked against it.
                    self.width = match dense.outputs.base10_parse::<usize>() {
                        Ok(size) if size > 0 => {
                            let name =
                                layer.name.as_ref().map_or_else(|| index.to_string(), ToString::to_string);
                            Width::Known { size, from: Some((name, as_written(dense))) }
                        }
                        _ => Width::Poisoned,
                    };
                }
            }
            Arguments::Dropout(p) => {
                if !(0.0..1.0).contains(&p.value) {
                    let why = if p.value >= 1.0 { ", and 1 would drop every value" } else { "" };
                    self.errors.at_span(
                        p.span,
                        format!(
                            "dropout probability must be in [0, 1), found {}: it is the chance of dropping each value{why}",
                            p.text
                        ),
                    );
                }
                if let Some(size) = self.flowing_width(layer) {
                    let description = format!("dropout({})", p.text);
                    self.push(layer, index, description, size, size, Kind::Dropout { probability: p.value });
                }
            }
            Arguments::Other(arguments) => self.activation_layer(index, layer, arguments.as_ref()),
        }
    }

    /// `input(N)`: declares the input size; only as the first entry.
    fn input(&mut self, position: usize, layer: &parse::Layer, size: &LitInt) {
        if position != 0 {
            self.errors
                .at(&layer.kind, "`input(…)` declares the network's input size, so it must come first");
            return;
        }
        if let Some(name) = &layer.name {
            self.errors.at(name, "`input(…)` is not a layer and takes no name");
        }
        if let Some(size) = self.size(size, "an input") {
            if !matches!(self.width, Width::Poisoned) {
                self.width = Width::Known { size, from: None };
            }
            self.has_input = true;
        } else {
            self.width = Width::Poisoned;
        }
    }

    /// Parses a size literal, which must be at least 1.
    fn size(&mut self, literal: &LitInt, what: &str) -> Option<usize> {
        match literal.base10_parse::<usize>() {
            Ok(0) => {
                self.errors.at(
                    literal,
                    format!("{what} of size 0 has nothing to compute; a size must be at least 1"),
                );
                None
            }
            Ok(size) => Some(size),
            Err(_) => {
                let digits = literal.base10_digits();
                self.errors.at(literal, format!("`{digits}` is too large: {what} must fit in memory"));
                None
            }
        }
    }

    /// The width flowing into a layer that keeps it, or `None` (after reporting) when it
    /// is not known.
    fn flowing_width(&mut self, layer: &parse::Layer) -> Option<usize> {
        match &self.width {
            Width::Known { size, .. } => Some(*size),
            Width::Poisoned => None,
            Width::Unknown => {
                self.errors.at(
                    &layer.kind,
                    format!(
                        "the input size of `{}` is unknown: begin the network with `input(N)` or a `dense(IN -> OUT)` layer",
                        layer.kind
                    ),
                );
                self.width = Width::Poisoned;
                None
            }
        }
    }

    fn dense(&mut self, dense: &parse::Dense) -> Option<(usize, usize, Activation, Init)> {
        let outputs = self.size(&dense.outputs, "a dense layer");
        let inputs = match (&dense.inputs, self.width.clone()) {
            (Some(literal), width) => {
                let declared = self.size(literal, "a dense layer's input");
                if let (Some(declared), Width::Known { size, from }, Some(outputs)) =
                    (declared, width, outputs)
                    && declared != size
                {
                    let source = match from {
                        Some((name, description)) => {
                            format!("the previous layer `{name}` (`{description}`) produces {size}")
                        }
                        None => format!("the network's input is `input({size})`"),
                    };
                    let message = format!(
                        "this layer takes {declared} inputs, but {source}; write `dense({size} -> {outputs})` or leave the input size out: `dense({outputs})`"
                    );
                    self.errors.at(literal, message);
                    None
                } else {
                    declared
                }
            }
            (None, Width::Known { size, .. }) => Some(size),
            (None, Width::Poisoned) => None,
            (None, Width::Unknown) => {
                let out = dense.outputs.base10_digits();
                self.errors.at(
                    &dense.outputs,
                    format!(
                        "the first layer's input size cannot be inferred: write `dense(IN -> {out})` or begin the network with `input(IN)`"
                    ),
                );
                None
            }
        };
        let activation = match &dense.activation {
            Some(activation) => {
                self.activation(&activation.name, &activation.arguments, activation_candidates())
            }
            None => Some(Activation { kind: ActivationKind::Identity, parameter: None }),
        };
        let mut init = Some(Init { variant: "TorchLinear", argument: None });
        for option in &dense.options {
            init = self.dense_option(option).or(init);
        }
        Some((inputs?, outputs?, activation?, init?))
    }

    fn dense_option(&mut self, option: &parse::Option_) -> Option<Init> {
        let key = option.key.to_string();
        if !DENSE_OPTIONS.contains(&key.as_str()) {
            let hint = suggest::hint(&key, DENSE_OPTIONS.iter().copied());
            self.errors.at(&option.key, format!("unknown option `{key}` for a dense layer; {hint}"));
            return None;
        }
        let value = option.value.to_string();
        let Some(&(_, variant, takes_value)) = INITIALISERS.iter().find(|(name, ..)| *name == value) else {
            let hint = suggest::hint(&value, INITIALISERS.iter().map(|(name, ..)| *name));
            self.errors.at(&option.value, format!("unknown initialiser `{value}`; {hint}"));
            return None;
        };
        match (takes_value, option.arguments.as_slice()) {
            (false, []) => Some(Init { variant, argument: None }),
            (true, [number]) if number.value.is_finite() => {
                Some(Init { variant, argument: Some(number.value) })
            }
            (false, [first, ..]) => {
                self.errors.at_span(first.span, format!("`{value}` takes no value"));
                None
            }
            _ => {
                self.errors
                    .at(&option.value, format!("`{value}` needs one finite value: `init = {value}(0.1)`"));
                None
            }
        }
    }

    /// Resolves an activation name and checks its parameter.
    fn activation<'a>(
        &mut self,
        name: &Ident,
        arguments: &[parse::Number],
        candidates: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Option<Activation> {
        let text = name.to_string();
        let Some(kind) = ActivationKind::from_name(&text) else {
            let hint = suggest::hint(&text, candidates);
            self.errors.at(name, format!("unknown activation `{text}`; {hint}"));
            return None;
        };
        match (kind.parameter(), arguments) {
            (_, []) => Some(Activation { kind, parameter: None }),
            (None, [first, ..]) => {
                self.errors.at_span(first.span, format!("`{text}` takes no arguments"));
                None
            }
            (Some(parameter), [number]) => {
                let valid = number.value.is_finite() && (!parameter.positive || number.value > 0.0);
                if valid {
                    Some(Activation { kind, parameter: Some(number.value) })
                } else {
                    let needs =
                        if parameter.positive { "a finite number above 0" } else { "a finite number" };
                    let message =
                        format!("the {} of `{text}` must be {needs}, found {}", parameter.name, number.text);
                    self.errors.at_span(number.span, message);
                    None
                }
            }
            (Some(parameter), [_, extra, ..]) => {
                let message = format!(
                    "`{text}` takes one argument, its {} (default {:?}): `{text}({:?})`",
                    parameter.name, parameter.default, parameter.default
                );
                self.errors.at_span(extra.span, message);
                None
            }
        }
    }

    /// A layer that is only an activation: `relu`.
    fn activation_layer(&mut self, index: usize, layer: &parse::Layer, arguments: Option<&TokenStream>) {
        let text = layer.kind.to_string();
        if ActivationKind::from_name(&text).is_none() {
            let candidates = LAYER_KINDS.iter().copied().chain(ActivationKind::names());
            let hint = suggest::hint(&text, candidates);
            self.errors.at(&layer.kind, format!("unknown layer `{text}`; {hint}"));
            self.width = Width::Poisoned;
            return;
        }
        let arguments = match arguments.map(|tokens| parse::parse_numbers.parse2(tokens.clone())) {
            None => Vec::new(),
            Some(Ok(numbers)) => numbers,
            Some(Err(error)) => {
                self.errors.push(error);
                return;
            }
        };
        let activation = self.activation(&layer.kind, &arguments, activation_candidates());
        let size = self.flowing_width(layer);
        if let (Some(activation), Some(size)) = (activation, size) {
            let description = describe(activation);
            self.push(layer, index, description, size, size, Kind::Activation(activation));
        }
    }

    /// Records a checked layer, its name, and the width it produces.
    fn push(
        &mut self,
        layer: &parse::Layer,
        index: usize,
        description: String,
        inputs: usize,
        outputs: usize,
        kind: Kind,
    ) {
        let (name, ident) = match &layer.name {
            Some(name) => (name.to_string(), name.clone()),
            None => (index.to_string(), Ident::new(&format!("layer{index}"), layer.kind.span())),
        };
        let at = layer.name.as_ref().map_or_else(|| layer.kind.span(), Ident::span);
        let is_dense = matches!(kind, Kind::Dense { .. });
        let text = ident.to_string();
        if let Some(method) =
            RESERVED.iter().find(|&&r| is_dense && (text == r || text == format!("{r}_mut")))
        {
            self.errors.at_span(
                at,
                format!("a dense layer named `{ident}` would hide the network's own `{method}` method; choose another name"),
            );
        }
        let taken = match self.names.get(&name) {
            Some(&first) => Some((first, false)),
            None => self.idents.get(&text).copied(),
        };
        if let Some((first, is_default)) = taken {
            let mut error = syn::Error::new(
                at,
                format!("duplicate layer name `{ident}`: every layer needs its own name"),
            );
            let note = if is_default {
                format!("`{ident}` is already the default name of this unnamed layer")
            } else {
                format!("`{ident}` is first used here")
            };
            error.combine(syn::Error::new(first, note));
            self.errors.push(error);
        }
        let is_default = layer.name.is_none();
        self.names.insert(name.clone(), at);
        self.idents.insert(text.clone(), (at, is_default));
        if is_dense {
            self.idents.insert(format!("{text}_mut"), (at, is_default));
        }
        let span = layer.span();
        if !matches!(self.width, Width::Poisoned) || matches!(kind, Kind::Dense { .. }) {
            self.width = Width::Known { size: outputs, from: Some((name.clone(), description.clone())) };
        }
        self.layers.push(Layer {
            name,
            ident,
            span,
            description,
            inputs,
            outputs,
            kind,
            propagates_gradient: false,
            has_gradient: false,
        });
    }
}

/// An activation as a declaration writes it: `relu`, `leaky_relu(0.2)`.
fn describe(activation: Activation) -> String {
    match activation.parameter {
        Some(value) => format!("{}({value})", activation.kind.name()),
        None => activation.kind.name().to_owned(),
    }
}

/// A dense layer as the user wrote it, for messages about the layers after it.
fn as_written(dense: &parse::Dense) -> String {
    let inputs = dense.inputs.as_ref().map_or_else(|| "…".to_owned(), |l| l.base10_digits().to_owned());
    let outputs = dense.outputs.base10_digits();
    match &dense.activation {
        Some(activation) => format!("dense({inputs} -> {outputs}, {})", activation.name),
        None => format!("dense({inputs} -> {outputs})"),
    }
}

fn activation_candidates() -> impl Iterator<Item = &'static str> + Clone {
    ActivationKind::names()
}
