//! Stage 2: syntax tree → checked [`model`](crate::model). Walks the entries, lets each
//! entry's kind (`crate::layers`) parse its arguments and compute its output shape, and
//! does what is common to every kind: names, the flow of values (the previous entry's, or
//! `<- name`), parameter allocation, and which values need a gradient. Every mistake of the
//! declaration is reported together.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::{Ident, LitInt};

use crate::errors::Errors;
use crate::layers::{self, Built, Outcome};
use crate::model::{Element, Network, Node, Shape, Value};
use crate::parse::{Declaration, Entry};
use crate::suggest;

/// The most parameters a network may have: a `Box<[f64; N]>` must stay below `isize::MAX`
/// bytes on every target, 32-bit ones included.
const MAX_PARAMETERS: usize = (i32::MAX as usize) / 8;

/// The most values one sample of a layer's output or scratch may hold, for the same reason:
/// a workspace buffer of that many `f64` must be addressable on a 32-bit target.
const MAX_VALUES: usize = MAX_PARAMETERS;

/// Methods every network has. A layer's accessors (`name()`, `name_mut()`) must not hide
/// them.
const RESERVED: &[&str] = &[
    "backward",
    "buffer",
    "buffer_specs",
    "buffers",
    "forward",
    "forward_batch",
    "forward_batch_with",
    "forward_slice",
    "forward_train",
    "forward_vector",
    "from_parameters",
    "from_state",
    "infer",
    "infer_batch",
    "initialise",
    "load",
    "parameter",
    "parameter_specs",
    "parameters",
    "save",
    "seeded",
    "workspace",
];

/// The name by which layers refer to the network's input (`dense(4) <- input`).
const INPUT: &str = "input";

/// A value a layer may read: its index, shape and where it comes from.
#[derive(Clone)]
pub struct Source {
    /// Its index in the model's values (meaningless once a mistake was reported).
    pub value: usize,
    pub shape: Shape,
    /// The layer that computes it, `(name, description)`; `None` for the network's input.
    pub producer: Option<(String, String)>,
    /// Whether it is the previous entry's output (rather than a value named with `<-`).
    pub previous: bool,
    /// Whether it holds ids (the input of a network that begins with an embedding).
    pub ids: bool,
    /// How its size comes about, when it is not plain (`8×13×13 = 1352` after a flatten).
    pub arithmetic: Option<String>,
}

impl Source {
    /// Where it comes from and its size, for messages: "the previous layer `hidden`
    /// (`dense(2 -> 3, relu)`) produces 3", "the network's input is `input(3)`".
    pub fn produces(&self) -> String {
        let size = match (self.shape.0.as_slice(), &self.arithmetic) {
            (_, Some(arithmetic)) => arithmetic.clone(),
            ([size], None) => size.to_string(),
            _ => self.shape.to_string(),
        };
        match &self.producer {
            Some((name, description)) => {
                let which = if self.previous { "the previous layer" } else { "layer" };
                format!("{which} `{name}` (`{description}`) produces {size}")
            }
            None => {
                let sizes: Vec<String> = self.shape.0.iter().map(ToString::to_string).collect();
                format!("the network's input is `input({})`", sizes.join(", "))
            }
        }
    }
}

/// What flows into an entry.
#[derive(Clone)]
pub enum Incoming {
    Known(Source),
    /// Nothing declared yet: the first layer must state its input size.
    Unknown,
    /// An earlier mistake hides it; checks that need it are skipped to avoid cascades.
    Poisoned,
}

/// A node before the model is finished.
struct Draft {
    name: String,
    ident: Ident,
    span: Span,
    built: Built,
    offsets: Vec<usize>,
    buffer_offsets: Vec<usize>,
}

/// The checker's state, lent to each kind as it checks its entry.
pub struct Context {
    errors: Errors,
    /// The input's shape once known.
    input: Option<Shape>,
    /// Whether the input holds ids, and whether a layer has read it as real values.
    input_ids: bool,
    input_read_as_real: bool,
    nodes: Vec<Draft>,
    /// What the next entry reads by default.
    flow: Incoming,
    offset: usize,
    /// The next free place in the state buffer.
    buffer_offset: usize,
    /// Layer names that can be referenced (`<- name`, `add(a, b)`), with their values.
    values: HashMap<String, usize>,
    /// Every name the declaration gives, to tell "later" from "unknown".
    declared: Vec<String>,
    /// Names of layers that did not pass their checks: reading them reports nothing more.
    failed: Vec<String>,
    /// Taken layer names, with where they were taken.
    names: HashMap<String, Span>,
    /// Taken Rust identifiers (a default `layer1` may collide with a declared name), and
    /// whether each is a default name.
    idents: HashMap<String, (Span, bool)>,
    /// The current entry: its name and identifier, and whether it is the first entry.
    current: (String, Ident, bool),
}

/// Checks a declaration, returning its model or every mistake in it.
pub fn check(declaration: &Declaration) -> Result<Network, syn::Error> {
    let mut declared = Vec::new();
    collect_names(&declaration.entries, &mut declared);
    let mut context = Context {
        errors: Errors::default(),
        input: None,
        input_ids: false,
        input_read_as_real: false,
        nodes: Vec::new(),
        flow: Incoming::Unknown,
        offset: 0,
        buffer_offset: 0,
        values: HashMap::new(),
        declared,
        failed: Vec::new(),
        names: HashMap::new(),
        idents: HashMap::new(),
        current: (String::new(), declaration.ident.clone(), true),
    };
    let layers = context.chain(&declaration.entries, None);
    if layers == 0 {
        let message = if declaration.entries.is_empty() {
            "a network needs at least one layer, such as `dense(2 -> 1, sigmoid)`"
        } else {
            "a network needs at least one layer after `input(…)`"
        };
        context.errors.at_span(declaration.brace_span, message);
    }
    let mut network = context.finish(declaration)?;
    if let Some(path) = &declaration.weights {
        network.weights = Some(crate::bake::read(path, &network)?);
    }
    Ok(network)
}

fn collect_names(entries: &[syn::Result<Entry>], names: &mut Vec<String>) {
    for entry in entries.iter().flatten() {
        if let Some(name) = &entry.name {
            names.push(name.to_string());
        }
        if let Some(block) = &entry.block {
            collect_names(&block.entries, names);
        }
    }
}

impl Context {
    /// Checks entries as a chain, each reading the previous one's output; `prefix` names
    /// the block they are in, whose name unnamed layers take as a prefix (`2.0`, `2.1`, …;
    /// a declared name is used as written).
    /// Returns how many of them are layers.
    fn chain(&mut self, entries: &[syn::Result<Entry>], prefix: Option<(&str, &Ident)>) -> usize {
        let mut index = 0;
        for (position, entry) in entries.iter().enumerate() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    // An entry is missing, so no size can be trusted until a layer states
                    // its output: checks that follow sizes from layer to layer are skipped
                    // rather than reported as cascades.
                    self.errors.push(error.clone());
                    self.flow = Incoming::Poisoned;
                    index += 1;
                    continue;
                }
            };
            let (name, ident) = match (&entry.name, prefix) {
                (Some(name), _) => (name.to_string(), name.clone()),
                (None, None) => (index.to_string(), Ident::new(&format!("layer{index}"), entry.kind.span())),
                (None, Some((block, ident))) => {
                    let ident = Ident::new(&format!("{ident}_{index}"), entry.kind.span());
                    (format!("{block}.{index}"), ident)
                }
            };
            self.current = (name, ident, prefix.is_none() && position == 0);
            if self.entry(entry) {
                // Default names count layers, whether or not they passed.
                index += 1;
            }
        }
        index
    }

    /// Checks one entry; returns whether it is a layer (counted for default names).
    fn entry(&mut self, entry: &Entry) -> bool {
        let text = entry.kind.to_string();
        let Some(kind) = layers::kind(&text) else {
            let hint = suggest::hint(&text, layers::names());
            self.errors.at(&entry.kind, format!("unknown layer `{text}`; {hint}"));
            self.flow = Incoming::Poisoned;
            return true;
        };
        if let (Some(block), false) = (&entry.block, kind.block) {
            self.errors.at_span(block.span, format!("`{text}` takes no `{{ … }}` block of layers"));
        }
        let (name, ident, _) = self.current.clone();
        match (kind.build)(entry, self) {
            Outcome::Layer(built) => {
                self.push(entry, name, ident, built);
                true
            }
            Outcome::Declaration => false,
            Outcome::Failed { output } => {
                if let Some(name) = &entry.name {
                    self.failed.push(name.to_string());
                }
                self.flow = match output {
                    Some((shape, as_written)) => {
                        let producer = Some((name, as_written));
                        Incoming::Known(Source {
                            value: usize::MAX,
                            shape,
                            producer,
                            previous: true,
                            ids: false,
                            arithmetic: None,
                        })
                    }
                    None => Incoming::Poisoned,
                };
                true
            }
        }
    }

    /// Records a checked layer: its names, its parameters, and the value it produces.
    fn push(&mut self, entry: &Entry, name: String, ident: Ident, built: Built) {
        let at = entry.name.as_ref().map_or_else(|| entry.kind.span(), Ident::span);
        let text = ident.to_string();
        let has_accessors = built.layer.has_accessors();
        if let Some(method) =
            RESERVED.iter().find(|&&r| has_accessors && (text == r || text == format!("{r}_mut")))
        {
            self.errors.at_span(
                at,
                format!(
                    "a {} layer named `{ident}` would hide the network's own `{method}` method; choose another name",
                    entry.kind
                ),
            );
        }
        self.claim(&name, &text, at, entry.name.is_none(), has_accessors);
        let description = built.layer.describe();
        let offsets = self.allocate(&built, &description);
        self.bound_values(&built, &description);
        let buffer_offsets = built
            .layer
            .buffers()
            .iter()
            .map(|buffer| {
                let offset = self.buffer_offset;
                self.buffer_offset += buffer.shape.iter().product::<usize>();
                offset
            })
            .collect();
        let value = self.nodes.len() + 1;
        if entry.name.is_some() {
            self.values.insert(text, value);
        }
        let shape = built.layer.output();
        self.flow = Incoming::Known(Source {
            value,
            shape,
            producer: Some((name.clone(), description)),
            previous: true,
            ids: false,
            arithmetic: built.layer.size_arithmetic(),
        });
        self.nodes.push(Draft { name, ident, span: entry.span(), built, offsets, buffer_offsets });
    }

    /// Reserves a layer's name and identifier, reporting a clash.
    fn claim(&mut self, name: &str, ident: &str, at: Span, is_default: bool, has_accessors: bool) {
        let taken = match self.names.get(name) {
            Some(&first) => Some((first, false)),
            None => self.idents.get(ident).copied(),
        };
        if let Some((first, first_is_default)) = taken {
            let mut error = syn::Error::new(
                at,
                format!("duplicate layer name `{ident}`: every layer needs its own name"),
            );
            let note = if first_is_default {
                format!("`{ident}` is already the default name of this unnamed layer")
            } else {
                format!("`{ident}` is first used here")
            };
            error.combine(syn::Error::new(first, note));
            self.errors.push(error);
        }
        self.names.insert(name.to_owned(), at);
        self.idents.insert(ident.to_owned(), (at, is_default));
        if has_accessors {
            self.idents.insert(format!("{ident}_mut"), (at, is_default));
        }
    }

    /// Places a layer's parameter tensors in the flat buffer.
    fn allocate(&mut self, built: &Built, description: &str) -> Vec<usize> {
        let mut offsets = Vec::new();
        let mut end = Some(self.offset);
        for tensor in built.layer.parameters() {
            offsets.push(end.unwrap_or(0));
            let count = tensor.shape.iter().try_fold(1_usize, |n, &d| n.checked_mul(d));
            end = end.zip(count).and_then(|(e, c)| e.checked_add(c));
        }
        match end.filter(|&end| end <= MAX_PARAMETERS) {
            Some(end) => self.offset = end,
            None => self.errors.at_span(
                built.span,
                format!("`{description}` makes the network larger than {MAX_PARAMETERS} parameters"),
            ),
        }
        offsets
    }

    /// Rejects a layer whose output or scratch for one sample would not fit in memory (sizes
    /// each in range whose product is not: `self_attention` over 2³² steps).
    fn bound_values(&mut self, built: &Built, description: &str) {
        let layer = &built.layer;
        let scratch = layer.scratch().into_iter().flat_map(|s| [(s.name, s.per_sample), (s.name, s.fixed)]);
        let own = [("output", layer.output().len()), ("forward scratch", layer.forward_scratch())];
        let largest = scratch.chain(own).max_by_key(|&(_, values)| values);
        if let Some((name, values)) = largest.filter(|&(_, values)| values > MAX_VALUES) {
            let values = if values == usize::MAX {
                "more than memory can address".to_owned()
            } else {
                values.to_string()
            };
            self.errors.at_span(
                built.span,
                format!(
                    "`{description}` needs {values} values in its `{name}` buffer, more than the {MAX_VALUES} a buffer may hold; use smaller sizes"
                ),
            );
        }
    }

    /// The assembled model, or every mistake.
    fn finish(self, declaration: &Declaration) -> Result<Network, syn::Error> {
        let Self { errors, input, input_ids: self_input_ids, nodes, offset, buffer_offset, .. } = self;
        errors.finish()?;
        let element = if self_input_ids { Element::Id } else { Element::Real };
        let mut values = vec![Value {
            shape: input.unwrap_or_else(|| Shape::vector(0)),
            element,
            requires_gradient: false,
            consumers: Vec::new(),
        }];
        let mut model_nodes = Vec::new();
        for (index, draft) in nodes.into_iter().enumerate() {
            let has_parameters = !draft.offsets.is_empty();
            let mut requires_gradient = has_parameters;
            for (slot, &input) in draft.built.inputs.iter().enumerate() {
                values[input].consumers.push((index, slot));
                requires_gradient |= values[input].requires_gradient;
            }
            values.push(Value {
                shape: draft.built.layer.output(),
                element: Element::Real,
                requires_gradient,
                consumers: Vec::new(),
            });
            model_nodes.push(Node {
                name: draft.name,
                ident: draft.ident,
                span: draft.span,
                inputs: draft.built.inputs,
                offsets: draft.offsets,
                buffer_offsets: draft.buffer_offsets,
                layer: draft.built.layer,
            });
        }
        Ok(Network {
            attrs: declaration.attrs.clone(),
            vis: declaration.vis.clone(),
            ident: declaration.ident.clone(),
            values,
            nodes: model_nodes,
            parameters: offset,
            buffers: buffer_offset,
            weights: None,
        })
    }
}

/// The interface the layer kinds check their entries through.
impl Context {
    /// Records a mistake.
    pub fn errors(&mut self) -> &mut Errors {
        &mut self.errors
    }

    /// Hides what flows on after a mistake, so the entries after it report nothing about it.
    pub fn poison(&mut self) {
        self.flow = Incoming::Poisoned;
    }

    /// Whether this entry is the declaration's first.
    pub fn is_first(&self) -> bool {
        self.current.2
    }

    /// What flows into `entry`, a layer that reads real values: the value it names with
    /// `<-`, else the previous entry's.
    pub fn incoming(&mut self, entry: &Entry) -> Incoming {
        match self.incoming_any(entry) {
            Incoming::Known(source) => {
                self.real(&entry.kind, source).map_or(Incoming::Poisoned, Incoming::Known)
            }
            other => other,
        }
    }

    /// What flows into `entry`, ids included (for an embedding).
    pub fn incoming_any(&mut self, entry: &Entry) -> Incoming {
        match &entry.source {
            Some(name) => self.reference_any(name).map_or(Incoming::Poisoned, Incoming::Known),
            None => self.flow.clone(),
        }
    }

    /// `source` for a layer that reads real values, or `None` after reporting that it holds
    /// ids.
    fn real(&mut self, reader: &Ident, source: Source) -> Option<Source> {
        if source.ids {
            self.errors.at(
                reader,
                format!("`{reader}` reads real values, but the network's input is ids (it begins with an embedding); read the embedding's output instead"),
            );
            return None;
        }
        if source.value == 0 {
            self.input_read_as_real = true;
        }
        Some(source)
    }

    /// The value flowing into `entry`, or `None` after reporting that it is not known.
    pub fn source(&mut self, entry: &Entry) -> Option<Source> {
        match self.incoming(entry) {
            Incoming::Known(source) => Some(source),
            Incoming::Poisoned => None,
            Incoming::Unknown => {
                self.errors.at(
                    &entry.kind,
                    format!(
                        "the input size of `{}` is unknown: begin the network with `input(N)` or a `dense(IN -> OUT)` layer",
                        entry.kind
                    ),
                );
                self.flow = Incoming::Poisoned;
                None
            }
        }
    }

    /// Declares the network's input shape (by `input(N)` or the first layer's stated input
    /// size), returning it as a value.
    ///
    /// `read`: whether the declaring layer itself reads it (a first `dense(IN -> OUT)`), so
    /// that no embedding may later claim it as ids.
    pub fn declare_input(&mut self, shape: Shape, read: bool) -> Source {
        self.input_read_as_real |= read;
        self.input = Some(shape.clone());
        let source = Source { value: 0, shape, producer: None, previous: true, ids: false, arithmetic: None };
        if !matches!(self.flow, Incoming::Poisoned) {
            self.flow = Incoming::Known(source.clone());
        }
        source
    }

    /// Declares the network's input as `shape` ids (by an embedding), returning it; `None`
    /// after reporting that a layer already reads it as real values.
    pub fn declare_ids(&mut self, reader: &Ident, shape: Shape) -> Option<Source> {
        if self.input_read_as_real {
            let message = "an embedding reads ids, but a layer before it already reads the network's input as real values";
            self.errors.at(reader, message);
            return None;
        }
        self.input = Some(shape.clone());
        self.input_ids = true;
        Some(Source { value: 0, shape, producer: None, previous: true, ids: true, arithmetic: None })
    }

    /// The value a layer that reads real values refers to by name (`input` for the
    /// network's input), or `None` after reporting why there is none.
    pub fn reference(&mut self, name: &Ident) -> Option<Source> {
        let source = self.reference_any(name)?;
        self.real(name, source)
    }

    /// The value a name refers to, ids included.
    fn reference_any(&mut self, name: &Ident) -> Option<Source> {
        let text = name.to_string();
        if text == INPUT {
            let ids = self.input_ids;
            return match &self.input {
                Some(shape) => Some(Source {
                    value: 0,
                    shape: shape.clone(),
                    producer: None,
                    previous: false,
                    ids,
                    arithmetic: None,
                }),
                None => {
                    self.errors.at(
                        name,
                        "the network's input size is unknown here: begin the network with `input(N)`",
                    );
                    None
                }
            };
        }
        if let Some(&value) = self.values.get(&text) {
            let node = &self.nodes[value - 1];
            let producer = Some((node.name.clone(), node.built.layer.describe()));
            return Some(Source {
                value,
                shape: node.built.layer.output(),
                producer,
                previous: false,
                ids: false,
                arithmetic: node.built.layer.size_arithmetic(),
            });
        }
        if self.failed.contains(&text) {
            return None;
        }
        let message = if self.declared.contains(&text) {
            format!(
                "layer `{text}` is computed after this one; a layer can only read the input and the layers before it"
            )
        } else {
            let candidates: Vec<&str> =
                self.values.keys().map(String::as_str).chain(std::iter::once(INPUT)).collect();
            format!("no layer named `{text}`; {}", suggest::hint(&text, candidates))
        };
        self.errors.at(name, message);
        None
    }

    /// Checks a block's entries as a chain reading `from`, naming its layers after the
    /// current entry (`2.0`, `2.1`, …); returns what the block's last entry produces, and
    /// `None` when the block has no layer or a mistake in one.
    pub fn block(&mut self, from: &Source, entries: &[syn::Result<Entry>]) -> Option<Source> {
        let (name, ident, first) = self.current.clone();
        self.flow = Incoming::Known(Source { previous: true, ..from.clone() });
        let layers = self.chain(entries, Some((&name, &ident)));
        self.current = (name, ident, first);
        if layers == 0 {
            return None;
        }
        match self.flow.clone() {
            Incoming::Known(source) if source.value != usize::MAX => Some(source),
            _ => None,
        }
    }

    /// Parses a size literal, which must be at least 1.
    pub fn size(&mut self, literal: &LitInt, what: &str) -> Option<usize> {
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
}
