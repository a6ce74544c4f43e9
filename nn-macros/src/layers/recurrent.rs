//! `rnn(F -> H, tanh | relu)`, `gru(F -> H)`, `lstm(F -> H)`: PyTorch's `nn.RNN`, `nn.GRU`
//! and `nn.LSTM` (one layer, `batch_first=True`) over a sequence `[T, F]`. `F` may be left
//! out (`gru(H)`). The output is the whole sequence `[T, H]`, or with `last` the final
//! state `[H]` (Keras's `return_sequences=False`); `bidirectional` adds a reverse direction
//! and concatenates, `[T, 2H]` (`last`: `[h_fwd,T−1, h_rev,0]`, PyTorch's `h_n`). Stacked
//! layers are consecutive entries. Parameters per direction, PyTorch's names and gate order
//! (RNN one block, GRU `r, z, n`, LSTM `i, f, g, o`): `weight_ih_l0` `[G·H, F]`,
//! `weight_hh_l0` `[G·H, H]`, `bias_ih_l0`, `bias_hh_l0` `[G·H]`, then the same with
//! `_reverse`; all drawn from `U(−1/√H, 1/√H)` as PyTorch does.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::ParseStream;
use syn::{Ident, LitInt, Token};

use super::{Built, Kind, Layer, Outcome, Scratch, Site, Tensor, literal, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;
use crate::suggest;

pub const KIND: Kind = Kind { names: || vec!["rnn", "gru", "lstm"], build, block: false };

/// The cell a layer runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// The Elman RNN with `tanh` (else `relu`).
    Rnn {
        tanh: bool,
    },
    Gru,
    Lstm,
}

impl Cell {
    /// Gate blocks stacked in the weights.
    fn gates(self) -> usize {
        match self {
            Self::Rnn { .. } => 1,
            Self::Gru => 3,
            Self::Lstm => 4,
        }
    }

    /// Values the cell keeps per step and unit (the runtime's `Cell::KEPT`).
    fn kept(self) -> usize {
        match self {
            Self::Rnn { .. } => 0,
            Self::Gru => 3,
            Self::Lstm => 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Rnn { .. } => "rnn",
            Self::Gru => "gru",
            Self::Lstm => "lstm",
        }
    }

    /// The runtime cell, as an expression.
    fn value(self) -> TokenStream {
        let private = private();
        match self {
            Self::Rnn { tanh: true } => quote!(#private::recurrent::Rnn(#private::activation::Tanh)),
            Self::Rnn { tanh: false } => quote!(#private::recurrent::Rnn(#private::activation::Relu)),
            Self::Gru => quote!(#private::recurrent::Gru),
            Self::Lstm => quote!(#private::recurrent::Lstm),
        }
    }
}

/// The arguments as written: `(F ->)? H`, then words.
struct Arguments {
    inputs: Option<LitInt>,
    hidden: LitInt,
    words: Vec<Ident>,
}

/// A checked recurrent layer.
struct Recurrent {
    cell: Cell,
    steps: usize,
    inputs: usize,
    hidden: usize,
    bidirectional: bool,
    last: bool,
}

/// The words a layer accepts after its sizes.
const WORDS: &[&str] = &["last", "bidirectional", "tanh", "relu"];

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let kind = entry.kind.to_string();
    let arguments = match entry.parse_arguments(parse) {
        Some(Ok(arguments)) => arguments,
        Some(Err(error)) => {
            context.errors().push(error);
            return Outcome::Failed { output: None };
        }
        None => {
            let message = format!("`{kind}` needs its sizes: `{kind}(F -> H)` or `{kind}(H)`");
            context.errors().at(&entry.kind, message);
            return Outcome::Failed { output: None };
        }
    };
    let hidden = context.size(&arguments.hidden, "a recurrent layer");
    let declared =
        arguments.inputs.as_ref().map(|size| (size, context.size(size, "a recurrent layer's input")));
    let words = words(context, &kind, &arguments.words);
    let Some(source) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let Some((steps, inputs)) = sequence(context, entry, &source) else {
        return Outcome::Failed { output: None };
    };
    if let Some((literal, Some(declared))) = declared
        && declared != inputs
    {
        let message = format!(
            "this layer reads {declared} features per step, but {}; write `{kind}({inputs} -> …)` or leave the input size out",
            source.produces()
        );
        context.errors().at(literal, message);
        return Outcome::Failed { output: None };
    }
    let (Some(hidden), Some((cell, bidirectional, last))) = (hidden, words) else {
        return Outcome::Failed { output: None };
    };
    let layer = Recurrent { cell, steps, inputs, hidden, bidirectional, last };
    Outcome::Layer(Built {
        layer: Box::new(layer),
        inputs: vec![source.value],
        span: arguments.hidden.span(),
    })
}

fn parse(content: ParseStream) -> syn::Result<Arguments> {
    let first: LitInt = content
        .parse()
        .map_err(|e| syn::Error::new(e.span(), "expected the layer's sizes: `gru(F -> H)` or `gru(H)`"))?;
    let (inputs, hidden) = if content.peek(Token![->]) {
        content.parse::<Token![->]>()?;
        let hidden = content
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected the hidden size after `->`, an integer"))?;
        (Some(first), hidden)
    } else {
        (None, first)
    };
    let mut words = Vec::new();
    while !content.is_empty() {
        content.parse::<Token![,]>()?;
        if content.is_empty() {
            break;
        }
        words.push(content.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected `last`, `bidirectional` or (for `rnn`) `tanh` or `relu`")
        })?);
    }
    Ok(Arguments { inputs, hidden, words })
}

/// The cell, `bidirectional` and `last` from the kind and its words; `None` after
/// reporting an unknown, repeated or misplaced word.
fn words(context: &mut Context, kind: &str, words: &[Ident]) -> Option<(Cell, bool, bool)> {
    let mut cell = match kind {
        "gru" => Cell::Gru,
        "lstm" => Cell::Lstm,
        _ => Cell::Rnn { tanh: true },
    };
    let (mut bidirectional, mut last, mut valid) = (false, false, true);
    let mut seen: Vec<String> = Vec::new();
    for word in words {
        let text = word.to_string();
        let nonlinearity = |w: &String| w == "tanh" || w == "relu";
        let repeated = if seen.contains(&text) {
            Some(format!("`{text}` is given twice"))
        } else if nonlinearity(&text) {
            seen.iter()
                .find(|w| nonlinearity(w))
                .map(|first| format!("an `rnn` takes one nonlinearity, and `{first}` is already given"))
        } else {
            None
        };
        if let Some(message) = repeated {
            context.errors().at(word, message);
            valid = false;
            continue;
        }
        seen.push(text.clone());
        match text.as_str() {
            "last" => last = true,
            "bidirectional" => bidirectional = true,
            "tanh" | "relu" if kind == "rnn" => cell = Cell::Rnn { tanh: text == "tanh" },
            "tanh" | "relu" => {
                let message = format!(
                    "`{kind}` has its own gate nonlinearities (σ and tanh, as PyTorch's); only `rnn` takes `tanh` or `relu`"
                );
                context.errors().at(word, message);
                valid = false;
            }
            _ => {
                let hint = suggest::hint(&text, WORDS.iter().copied());
                context.errors().at(word, format!("unknown option `{text}` for `{kind}`; {hint}"));
                valid = false;
            }
        }
    }
    valid.then_some((cell, bidirectional, last))
}

/// The steps and features of the sequence a recurrent layer reads, or `None` after
/// reporting that it reads something else.
fn sequence(context: &mut Context, entry: &Entry, source: &crate::check::Source) -> Option<(usize, usize)> {
    if let [steps, features] = source.shape.0.as_slice() {
        return Some((*steps, *features));
    }
    let kind = &entry.kind;
    let message = format!(
        "`{kind}` reads a sequence `[T, F]`, but {}; begin the network with `input(T, F)`, or embed a sequence of ids",
        source.produces()
    );
    context.errors().at(kind, message);
    None
}

impl Recurrent {
    /// Values of streaming state: `h`, and the LSTM's `c`.
    fn state(&self) -> usize {
        if self.cell == Cell::Lstm { 2 * self.hidden } else { self.hidden }
    }

    fn directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// Output features per step, `D·H`.
    fn width(&self) -> usize {
        self.directions() * self.hidden
    }

    /// The directions' parameter names, `(weight_ih, weight_hh, bias_ih, bias_hh)`.
    fn names(&self) -> Vec<[&'static str; 4]> {
        let forward = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];
        let reverse =
            ["weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"];
        if self.bidirectional { vec![forward, reverse] } else { vec![forward] }
    }

    /// The directions, with their runtime names and scratch suffixes.
    fn directions_with(&self) -> Vec<(TokenStream, &'static str)> {
        let private = private();
        let forward = (quote!(#private::recurrent::Direction::Forward), "");
        let reverse = (quote!(#private::recurrent::Direction::Reverse), "_reverse");
        if self.bidirectional { vec![forward, reverse] } else { vec![forward] }
    }

    /// `Sequence { … }` as a literal.
    fn shape(&self) -> TokenStream {
        let private = private();
        let (steps, inputs, hidden) = (literal(self.steps), literal(self.inputs), literal(self.hidden));
        let directions = literal(self.directions());
        quote!(#private::recurrent::Sequence { steps: #steps, inputs: #inputs, hidden: #hidden, directions: #directions })
    }

    /// A direction's `Weights { … }` from the parameter buffer.
    fn weights(site: &Site, names: [&'static str; 4]) -> TokenStream {
        let private = private();
        let [input, hidden, input_bias, hidden_bias] = names.map(|name| site.parameter(name));
        quote!(#private::recurrent::Weights { input: #input, hidden: #hidden, input_bias: #input_bias, hidden_bias: #hidden_bias })
    }

    /// The workspace field holding the whole output sequence (the output itself, or the
    /// `states` scratch of a `last` layer).
    fn sequence_field(&self, site: &Site) -> Ident {
        if self.last { site.scratch("states") } else { site.output() }
    }

    /// A direction's scratch field, or an empty slice when the cell keeps no such values.
    fn tape_field(site: &Site, name: &str, suffix: &str, used: bool, mutable: bool) -> TokenStream {
        match (used, mutable) {
            (false, true) => quote!(&mut [][..]),
            (false, false) => quote!(&[][..]),
            (true, true) => {
                let field = site.scratch(&format!("{name}{suffix}"));
                quote!(&mut __workspace.#field)
            }
            (true, false) => {
                let field = site.scratch(&format!("{name}{suffix}"));
                quote!(&__workspace.#field)
            }
        }
    }
}

/// A direction's tape buffer: `pre`, `gh` or `kept`, with `_reverse` in the reverse direction.
fn scratch_name(name: &'static str, suffix: &str) -> &'static str {
    match (name, suffix.is_empty()) {
        (_, true) => name,
        ("pre", false) => "pre_reverse",
        ("gh", false) => "gh_reverse",
        ("kept", false) => "kept_reverse",
        (other, false) => unreachable!("no tape buffer `{other}`"),
    }
}

impl Recurrent {
    /// Multiply-adds per direction: the input projection (`T·F·G·H`) and the hidden one
    /// (`T·H·G·H`).
    fn products(&self) -> (usize, usize) {
        let gated = self.cell.gates().saturating_mul(self.hidden).saturating_mul(self.steps);
        (gated.saturating_mul(self.inputs), gated.saturating_mul(self.hidden))
    }
}

impl Layer for Recurrent {
    /// `2·T·G·H·(F + H)` per direction.
    fn flops(&self) -> usize {
        let (input, hidden) = self.products();
        2usize.saturating_mul(self.directions()).saturating_mul(input.saturating_add(hidden))
    }

    /// The hidden products twice (weights, and the state through time); the input
    /// projection once more for the input's gradient when it needs one.
    fn backward_flops(&self, input_gradient: bool) -> usize {
        let (input, hidden) = self.products();
        let per_direction =
            input.saturating_mul(1 + usize::from(input_gradient)).saturating_add(hidden.saturating_mul(2));
        2usize.saturating_mul(self.directions()).saturating_mul(per_direction)
    }

    fn describe(&self) -> String {
        let mut parts = vec![format!("{} -> {}", self.inputs, self.hidden)];
        if let Cell::Rnn { tanh: false } = self.cell {
            parts.push("relu".to_owned());
        }
        if self.bidirectional {
            parts.push("bidirectional".to_owned());
        }
        if self.last {
            parts.push("last".to_owned());
        }
        format!("{}({})", self.cell.name(), parts.join(", "))
    }

    fn output(&self) -> Shape {
        if self.last { Shape::vector(self.width()) } else { Shape(vec![self.steps, self.width()]) }
    }

    fn parameters(&self) -> Vec<Tensor> {
        let rows = self.cell.gates() * self.hidden;
        self.names()
            .into_iter()
            .flat_map(|[input, hidden, input_bias, hidden_bias]| {
                [
                    Tensor { name: input, shape: vec![rows, self.inputs] },
                    Tensor { name: hidden, shape: vec![rows, self.hidden] },
                    Tensor { name: input_bias, shape: vec![rows] },
                    Tensor { name: hidden_bias, shape: vec![rows] },
                ]
            })
            .collect()
    }

    fn scratch(&self) -> Vec<Scratch> {
        let gates = self.cell.gates() * self.hidden * self.steps;
        let mut scratch = Vec::new();
        for (_, suffix) in self.directions_with() {
            scratch.push(Scratch::per_sample(scratch_name("pre", suffix), gates));
            if self.cell == Cell::Gru {
                scratch.push(Scratch::per_sample(scratch_name("gh", suffix), gates));
            }
            if self.cell.kept() > 0 {
                scratch.push(Scratch::per_sample(
                    scratch_name("kept", suffix),
                    self.cell.kept() * self.hidden * self.steps,
                ));
            }
        }
        if self.last {
            scratch.push(Scratch::per_sample("states", self.steps * self.width()));
        }
        scratch.push(Scratch::per_sample("dpre", gates));
        if self.cell == Cell::Gru {
            scratch.push(Scratch::per_sample("dgh", gates));
        }
        scratch.push(Scratch::per_sample("carry", self.hidden));
        if self.cell == Cell::Lstm {
            scratch.push(Scratch::per_sample("carry_cell", self.hidden));
        }
        scratch
    }

    fn initialise(&self, site: &Site) -> TokenStream {
        let private = private();
        let bound = proc_macro2::Literal::f64_suffixed(1.0 / (self.hidden as f64).sqrt());
        let tensors = self.names().into_iter().flatten().map(|name| site.tensor(name));
        quote!(#(#private::fill_uniform(#tensors, #bound, __rng);)*)
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (inputs, hidden) = (literal(self.inputs), literal(self.hidden));
        let gates = literal(self.cell.gates() * self.hidden);
        let kept = literal(self.cell.kept() * self.hidden);
        let state = literal(self.state());
        let size_in = literal(self.steps * self.inputs);
        let size_out = literal(self.output().len());
        let (cell, shape, last) = (self.cell.value(), self.shape(), self.last);
        let weights = self.names().into_iter().map(|names| Self::weights(site, names));
        let x = &site.inputs[0];
        let transposed = literal(self.forward_scratch());
        quote! {
            #private::scratch!(T, #transposed, |__transposed| {
                #private::recurrent::forward_one::<T, _, #inputs, #hidden, #gates, #kept, #state, #size_in, #size_out>(
                    #cell, (#shape, #last), &[#(#weights),*], #x, __transposed,
                )
            })
        }
    }

    /// `W_hh` transposed, `G·H·H`, shared by both directions.
    fn forward_scratch(&self) -> usize {
        self.cell.gates() * self.hidden * self.hidden
    }

    fn stream_state(&self) -> usize {
        self.state()
    }

    /// `W_hh` transposed, for the streaming product.
    fn stream_weights(&self) -> usize {
        if self.bidirectional { 0 } else { self.cell.gates() * self.hidden * self.hidden }
    }

    fn stream_prepare(&self, site: &Site) -> TokenStream {
        let (private, hidden) = (private(), literal(self.hidden));
        let weight = site.parameter(self.names()[0][1]);
        quote!(#private::recurrent::transpose_hidden(#weight, #hidden, __derived);)
    }

    /// One step from the state `h` (and `c`); a reverse direction needs the whole sequence.
    /// A `last` layer streams its running state.
    fn stream(&self, site: &Site) -> Option<TokenStream> {
        if self.bidirectional {
            return None;
        }
        let private = private();
        let (inputs, hidden) = (literal(self.inputs), literal(self.hidden));
        let (gates, kept) =
            (literal(self.cell.gates() * self.hidden), literal(self.cell.kept() * self.hidden));
        let (cell, x) = (self.cell.value(), &site.inputs[0]);
        let weights = Self::weights(site, self.names()[0]);
        Some(quote! {
            #private::recurrent::step::<T, _, #inputs, #hidden, #gates, #kept>(#cell, #weights, __derived, __state, #x)
        })
    }

    fn infer(&self, site: &Site) -> TokenStream {
        self.forward_train(site)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        let private = private();
        let (cell, shape, x) = (self.cell.value(), self.shape(), &site.inputs[0]);
        let sequence = self.sequence_field(site);
        let (gru, kept) = (self.cell == Cell::Gru, self.cell.kept() > 0);
        let directions =
            self.names().into_iter().zip(self.directions_with()).map(|(names, (direction, suffix))| {
                let weights = Self::weights(site, names);
                let pre = Self::tape_field(site, "pre", suffix, true, true);
                let gh = Self::tape_field(site, "gh", suffix, gru, true);
                let kept = Self::tape_field(site, "kept", suffix, kept, true);
                quote! {
                    #private::recurrent::forward(
                        #cell, #shape, #direction, #weights, #x, &mut __workspace.#sequence,
                        #private::recurrent::Tape { pre: #pre, gh: #gh, kept: #kept },
                    );
                }
            });
        let gather = if self.last {
            let output = site.output();
            quote!(#private::recurrent::last(#shape, &__workspace.#sequence, &mut __workspace.#output);)
        } else {
            TokenStream::new()
        };
        quote!(#(#directions)* #gather)
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let (cell, shape, x) = (self.cell.value(), self.shape(), &site.inputs[0]);
        let sequence = self.sequence_field(site);
        let gradient = site.output_gradient();
        let upstream = if self.last {
            quote!(#private::recurrent::Upstream::Last(&__workspace.#gradient))
        } else {
            quote!(#private::recurrent::Upstream::Sequence(&__workspace.#gradient))
        };
        let (gru, lstm, kept) = (self.cell == Cell::Gru, self.cell == Cell::Lstm, self.cell.kept() > 0);
        let dgh = Self::tape_field(site, "dgh", "", gru, true);
        let carry_cell = Self::tape_field(site, "carry_cell", "", lstm, true);
        let (dpre, carry) = (site.scratch("dpre"), site.scratch("carry"));
        let directions = self.names().into_iter().zip(self.directions_with()).enumerate().map(
            |(index, (names, (direction, suffix)))| {
                let weights = Self::weights(site, names);
                let pre = Self::tape_field(site, "pre", suffix, true, false);
                let gh = Self::tape_field(site, "gh", suffix, gru, false);
                let kept = Self::tape_field(site, "kept", suffix, kept, false);
                let [input, hidden, input_bias, hidden_bias] = names.map(|name| site.gradient(name));
                let accumulate = index > 0;
                let grad_input = match &site.input_gradients[0] {
                    Some(field) => quote!(::core::option::Option::Some((&mut __workspace.#field[..], #accumulate))),
                    None => quote!(::core::option::Option::None),
                };
                quote! {
                    #private::recurrent::backward(
                        #cell, (#shape, #direction), #weights, (#x, &__workspace.#sequence),
                        &#private::recurrent::Tape { pre: #pre, gh: #gh, kept: #kept },
                        #upstream,
                        #private::recurrent::Work { dpre: &mut __workspace.#dpre, dgh: #dgh, carry: &mut __workspace.#carry, carry_cell: #carry_cell },
                        #private::recurrent::Gradients { input: #input, hidden: #hidden, input_bias: #input_bias, hidden_bias: #hidden_bias },
                        #grad_input,
                    );
                }
            },
        );
        quote!(#(#directions)*)
    }
}
