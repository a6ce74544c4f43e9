//! Layer kinds: each kind is one module behind the [`Layer`] trait, registered once in
//! [`KINDS`]. A kind parses its own arguments, computes its output shape from its inputs
//! (a spanned error otherwise), declares its parameters and workspace buffers, and writes
//! its calls for every pass. The core (`check`, `expand`) names no kind: it walks the
//! graph, allocates the parameters, routes gradients and wires the buffers.

use std::ops::Range;

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::check::Context;
use crate::errors::Errors;
use crate::model::Shape;
use crate::parse::{Entry, Number};
use crate::suggest;

pub mod activation;
mod add;
mod arguments;
mod attention;
mod batch_norm;
mod concat;
mod conv;
mod dense;
mod dropout;
mod embedding;
mod flatten;
mod input;
mod layer_norm;
mod pool;
mod position;
mod recurrent;
mod residual;
mod spatial;
mod steps;
mod upsample;

/// A kind of layer the declaration language knows.
pub struct Kind {
    /// The names a declaration may use for it (`dense`; every activation's name).
    pub names: fn() -> Vec<&'static str>,
    /// Checks one entry of this kind.
    pub build: fn(&Entry, &mut Context) -> Outcome,
    /// Whether it takes a `{ … }` block of entries.
    pub block: bool,
}

/// Every kind, in the order "expected one of" lists name them.
pub const KINDS: &[Kind] = &[
    input::KIND,      // input(4)
    embedding::KIND,  // embedding(10 -> 4)
    dense::KIND,      // dense(2 -> 3, relu)
    dropout::KIND,    // dropout(0.5)
    batch_norm::KIND, // batch_norm(6, relu)
    layer_norm::KIND, // layer_norm(6, gelu)
    residual::KIND,   // residual { … }
    add::KIND,        // add(a, b)
    concat::KIND,     // concat(a, b)
    conv::KIND,       // conv2d(1 -> 6, kernel = 5, relu), conv1d, conv_transpose2d, …
    pool::KIND,       // max_pool2d(2), avg_pool1d(3, stride = 2), global_avg_pool
    recurrent::KIND,  // gru(1 -> 8), lstm(16, last), rnn(4, relu, bidirectional)
    attention::KIND,  // self_attention(heads = 4, causal)
    position::KIND,   // positional(32), sinusoidal
    upsample::KIND,   // upsample(2)
    flatten::KIND,    // flatten
    steps::KIND,      // last_step, mean_over_steps
    activation::KIND, // relu, leaky_relu(0.2), …
];

/// The kind a declaration names, if any.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| (kind.names)().contains(&name))
}

/// Every name of every kind, for suggestions.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().flat_map(|kind| (kind.names)()).collect()
}

/// What checking an entry gave.
pub enum Outcome {
    /// A layer: a node of the graph.
    Layer(Built),
    /// Not a layer: `input(N)`, which only declares the input.
    Declaration,
    /// A mistake, already reported. When the output shape is still clear, the entries after
    /// it are checked against it: `(shape, the layer as written)`.
    Failed { output: Option<(Shape, String)> },
}

/// A checked layer and the values it reads.
pub struct Built {
    pub layer: Box<dyn Layer>,
    /// The values it reads, by index (from [`crate::check::Source::value`]).
    pub inputs: Vec<usize>,
    /// Where an error about the layer's size points (an oversized parameter count).
    pub span: Span,
}

/// One parameter tensor of a layer: `weight` `[3, 2]`.
pub struct Tensor {
    pub name: &'static str,
    pub shape: Vec<usize>,
}

/// One state tensor of a layer, not trained (`running_mean`), with the value it starts at.
pub struct Buffer {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub initial: f64,
    /// A count, saved as `int64` (`num_batches_tracked`).
    pub integer: bool,
}

/// A workspace buffer of a layer's own: `per_sample · batch + fixed` values, plus what
/// `computed` gives for a convolution's column scratch.
pub struct Scratch {
    pub name: &'static str,
    /// Values for each sample in the batch.
    pub per_sample: usize,
    /// Values whatever the batch.
    pub fixed: usize,
    /// An expression the runtime evaluates, which may read `batch` (a convolution's
    /// scratch, from its `Geometry`).
    pub computed: Option<TokenStream>,
}

impl Scratch {
    /// `values` per sample in the batch.
    pub fn per_sample(name: &'static str, values: usize) -> Self {
        Self { name, per_sample: values, fixed: 0, computed: None }
    }

    /// `values` whatever the batch.
    pub fn fixed(name: &'static str, values: usize) -> Self {
        Self { name, per_sample: 0, fixed: values, computed: None }
    }

    /// As many values as the expression `values` gives for `batch` samples.
    pub fn computed(name: &'static str, values: TokenStream) -> Self {
        Self { name, per_sample: 0, fixed: 0, computed: Some(values) }
    }
}

/// What `layer_pre_activation` reports for a layer.
pub enum PreActivation {
    None,
    /// A workspace buffer of the layer's own (`z`).
    Scratch(&'static str),
    /// The output itself (a dense layer without an activation).
    Output,
    /// The value it reads (an activation layer).
    Input,
}

/// A checked layer of one kind: its shape, its state, and its code for every pass.
///
/// Batches are column-major slices, one sample per column. The emitting methods get a
/// [`Site`] naming every buffer they may touch and write straight-line statements.
pub trait Layer {
    /// The layer as a declaration would write it, sizes resolved: `dense(2 -> 3, sigmoid)`.
    fn describe(&self) -> String;

    /// The shape of one sample of its output.
    fn output(&self) -> Shape;

    /// How the output's size comes about, for messages, when it is not plain from the
    /// shape: `8×13×13 = 1352` after a `flatten`.
    fn size_arithmetic(&self) -> Option<String> {
        None
    }

    /// Its parameter tensors, in buffer order, PyTorch's names and layouts.
    fn parameters(&self) -> Vec<Tensor> {
        Vec::new()
    }

    /// Its state tensors (running statistics), in buffer order, PyTorch's names.
    fn buffers(&self) -> Vec<Buffer> {
        Vec::new()
    }

    /// Workspace buffers the training pass keeps besides the output.
    fn scratch(&self) -> Vec<Scratch> {
        Vec::new()
    }

    /// Workspace buffers (`nn::gemm::Prepacked`) in which batched inference keeps some of
    /// the layer's weights packed for the GEMM between calls, packed again when the
    /// network's revision changes (so a trainer's swap of new parameters draws one).
    fn prepacked(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Floating-point operations of one sample's forward pass: 2 per multiply-add of its
    /// products (dense, convolution, recurrent and attention products), as PyTorch's
    /// `FlopCounterMode` counts them; elementwise work (activations, biases, normalisation)
    /// is not counted.
    fn flops(&self) -> usize {
        0
    }

    /// Floating-point operations of one sample's backward pass, counted as
    /// [`Layer::flops`]: every product once more for its weights' gradient, and once more
    /// for its input's when `input_gradient` (the first layer's input needs none).
    fn backward_flops(&self, input_gradient: bool) -> usize {
        self.flops().saturating_mul(1 + usize::from(input_gradient))
    }

    /// Values of scratch its one-sample forward borrows through `nn::__private::scratch!`: a
    /// thread-local buffer with `std`, a stack array without.
    fn forward_scratch(&self) -> usize {
        0
    }

    /// The fewest samples a training batch may have (2 for a layer that normalises over
    /// the batch); the training pass checks it before any layer runs.
    fn minimum_training_batch(&self) -> usize {
        1
    }

    /// What `layer_pre_activation` returns for it.
    fn pre_activation(&self) -> PreActivation {
        PreActivation::None
    }

    /// Whether inference is the identity (dropout): inference then skips the layer.
    fn identity_in_inference(&self) -> bool {
        false
    }

    /// Whether the training pass draws from the RNG.
    fn uses_rng(&self) -> bool {
        false
    }

    /// Whether it has typed accessors (`hidden()`, `hidden_mut()`), whose names must not
    /// hide the network's own methods.
    fn has_accessors(&self) -> bool {
        false
    }

    /// Its typed accessors, as inherent methods of the network.
    fn accessors(&self, _site: &Site) -> TokenStream {
        TokenStream::new()
    }

    /// Fills its parameters (bound as [`Site::tensor`]) and, where they do not start at a
    /// constant, its state (bound as [`Site::state`]) from `__rng`.
    fn initialise(&self, _site: &Site) -> TokenStream {
        TokenStream::new()
    }

    /// Checks the network's input before any layer runs, in every pass (an embedding's ids
    /// against its vocabulary): statements that may `return` a `BatchError` with `?`. The
    /// site's inputs are the raw input as a `&[u32]` or `&[T]` slice.
    fn validate(&self, _site: &Site) -> TokenStream {
        TokenStream::new()
    }

    /// One sample on the stack: an expression of type `SVector<T, OUT>` from the inputs,
    /// which are `&SVector` references (`&[u32; L]` for ids).
    fn forward_one(&self, site: &Site) -> TokenStream;

    /// Streaming: the values of state the layer carries from one step of a sequence to the
    /// next (a recurrent layer's `h`, and an LSTM's `c`).
    fn stream_state(&self) -> usize {
        0
    }

    /// Streaming: values of its parameters the layer keeps in the state in another layout
    /// (a recurrent layer's transposed `W_hh`), rebuilt whenever the parameters change.
    fn stream_weights(&self) -> usize {
        0
    }

    /// Streaming: writes [`Layer::stream_weights`] into `__derived: &mut [T]`.
    fn stream_prepare(&self, _site: &Site) -> TokenStream {
        TokenStream::new()
    }

    /// Streaming: one step of a sequence through the layer, as [`Layer::forward_one`] on
    /// one step's values (the last axis of each value), with the layer's state bound as
    /// `__state: &mut [T]` and its derived weights as `__derived: &[T]`. `None` (the default) when the layer needs the whole sequence
    /// (attention, a reverse direction, a mean over steps): the network then has no
    /// streaming API.
    fn stream(&self, _site: &Site) -> Option<TokenStream> {
        None
    }

    /// Batched inference into the output buffer.
    fn infer(&self, site: &Site) -> TokenStream;

    /// The training forward: the output and whatever backward needs.
    fn forward_train(&self, site: &Site) -> TokenStream;

    /// Given `∂L/∂output`, writes (overwrites) `∂L/∂input` into each input gradient the
    /// site names and `∂L/∂p` into its parameter gradients ([`Site::gradient`]).
    fn backward(&self, site: &Site) -> TokenStream;

    /// One sample's training forward on the stack: an expression of type `[T; OUT]` from
    /// the input, a `&[T; IN]` array, that also writes into the workspace whatever
    /// [`Layer::backward`] or [`Layer::backward_on_stack`] reads. For [`Samples::Few`], the
    /// same for `__B` samples held feature by feature: `[[T; __B]; OUT]` from a
    /// `&[[T; __B]; IN]`, the workspace written sample by sample as a batch's pass writes
    /// it. `None` (the default): a network with this layer trains one sample and a few
    /// through the batch path.
    fn forward_train_on_stack(&self, _site: &Site, _samples: Samples) -> Option<TokenStream> {
        None
    }

    /// One sample's backward pass on the stack: given `∂L/∂output` as the `[T; OUT]`
    /// array `output_gradient`, an expression of type `[T; IN]` for `∂L/∂input` (dropped
    /// when the input needs none) that writes `∂L/∂p` into the parameter gradients. The
    /// site's input and `output`, the layer's output value, are `&[T]` expressions: the
    /// forward pass's arrays where it ran in the same step, else the workspace's. For
    /// [`Samples::Few`], the same for `__B` samples held feature by feature: the gradients
    /// `[[T; __B]; OUT]` and `[[T; __B]; IN]`, the input and `output` references to such
    /// arrays (the forward pass's), and what else the layer reads (`z`) the workspace's,
    /// sample by sample. `None` (the default): a network with this layer backpropagates
    /// one sample and a few through the batch path.
    fn backward_on_stack(
        &self,
        _site: &Site,
        _samples: Samples,
        _output_gradient: &Ident,
        _output: &TokenStream,
    ) -> Option<TokenStream> {
        None
    }
}

/// How many samples a pass on the stack takes: one, each value a `[T; N]` array, or a few,
/// `__B` of them (a const parameter of the generated pass), each value a `[[T; __B]; N]`
/// (feature by feature, the samples in lanes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Samples {
    One,
    Few,
}

impl Samples {
    /// The runtime kernel `{name}_one` or `{name}_few`, with the const arguments it takes
    /// after the layer's own: none, or `__B`.
    pub fn kernel(self, name: &str) -> (Ident, TokenStream) {
        match self {
            Self::One => (format_ident!("{name}_one"), TokenStream::new()),
            Self::Few => (format_ident!("{name}_few"), quote!(, __B)),
        }
    }
}

/// The buffers a layer's code may touch in one pass, as the core wired them.
pub struct Site {
    /// The layer's PyTorch-style name (`hidden`, `0`).
    pub name: String,
    /// The layer's identifier (`hidden`, `layer0`).
    pub ident: Ident,
    /// The user's tokens for the layer, for `quote_spanned!`.
    pub span: Span,
    /// Each input: a `&[T]` expression (a `&SVector` in the one-sample pass).
    pub inputs: Vec<TokenStream>,
    /// Where each input's gradient goes (a workspace field), or `None` when no gradient
    /// flows into that input.
    pub input_gradients: Vec<Option<Ident>>,
    /// The parameter tensors' ranges in the flat buffer, by name.
    pub parameters: Vec<(&'static str, Range<usize>)>,
    /// The state tensors' ranges in the flat state buffer, by name.
    pub buffers: Vec<(&'static str, Range<usize>)>,
}

impl Site {
    /// The workspace field holding the layer's output.
    pub fn output(&self) -> Ident {
        self.field("output")
    }

    /// The workspace field holding `∂L/∂output`.
    pub fn output_gradient(&self) -> Ident {
        self.field("gradient")
    }

    /// A workspace field of the layer's own (declared in [`Layer::scratch`] or
    /// [`Layer::prepacked`]).
    pub fn scratch(&self, name: &str) -> Ident {
        self.field(name)
    }

    fn field(&self, suffix: &str) -> Ident {
        format_ident!("{}_{}", self.ident, suffix)
    }

    /// `&self.parameters[a..b]`: a parameter tensor.
    pub fn parameter(&self, name: &str) -> TokenStream {
        let (start, end) = self.range(name);
        quote!(&self.parameters[#start..#end])
    }

    /// A parameter tensor's start and end in the flat buffer, as literals.
    pub fn range(&self, name: &str) -> (Literal, Literal) {
        find(&self.parameters, name)
    }

    /// `&self.buffers[a..b]`: a state tensor.
    pub fn buffer(&self, name: &str) -> TokenStream {
        let (start, end) = find(&self.buffers, name);
        quote!(&self.buffers[#start..#end])
    }

    /// In the training pass: binds each state tensor, mutably, as [`Site::state`].
    pub fn split_buffers(&self) -> TokenStream {
        self.split_buffers_in(&quote!(self.buffers))
    }

    /// Binds each state tensor of `buffer` (a state-shaped buffer), mutably, as
    /// [`Site::state`].
    pub fn split_buffers_in(&self, buffer: &TokenStream) -> TokenStream {
        let (Some((_, first)), Some((_, last))) = (self.buffers.first(), self.buffers.last()) else {
            return TokenStream::new();
        };
        let (start, end) = (literal(first.start), literal(last.end));
        let names = self.buffers.iter().map(|(name, _)| tensor_ident("__state_", name));
        let lengths = self.buffers.iter().map(|(_, range)| literal(range.len()));
        quote! {
            let [#(#names),*] = ::nn::__private::split_tensors(&mut #buffer[#start..#end], [#(#lengths),*]);
        }
    }

    /// After [`Site::split_buffers`]: a state tensor as `&mut [T]`.
    pub fn state(&self, name: &str) -> Ident {
        debug_assert!(self.buffers.iter().any(|(n, _)| *n == name), "no state `{name}`");
        tensor_ident("__state_", name)
    }

    /// In backward: the `&mut [T]` gradient of a parameter tensor.
    pub fn gradient(&self, name: &str) -> Ident {
        debug_assert!(self.parameters.iter().any(|(n, _)| *n == name), "no tensor `{name}`");
        tensor_ident("__grad_", name)
    }

    /// In initialise: the `&mut [T]` values of a parameter tensor.
    pub fn tensor(&self, name: &str) -> Ident {
        debug_assert!(self.parameters.iter().any(|(n, _)| *n == name), "no tensor `{name}`");
        tensor_ident("__", name)
    }

    /// `Some(&mut __workspace.field)` or `None`: where input `index`'s gradient goes.
    pub fn input_gradient_option(&self, index: usize) -> TokenStream {
        match &self.input_gradients[index] {
            Some(field) => quote!(::core::option::Option::Some(&mut __workspace.#field)),
            None => quote!(::core::option::Option::None),
        }
    }
}

/// A numeric option a kind accepts (`eps = 1e-5`), with its default and its valid range.
pub struct NumericOption {
    pub name: &'static str,
    pub default: f64,
    pub valid: fn(f64) -> bool,
    /// What a valid value is, for the error: "a number above 0".
    pub needs: &'static str,
}

/// Resolves `key = number` options against those `kind` accepts, in `accepted`'s order;
/// `None` after reporting an unknown, repeated or invalid one.
pub fn numeric_options(
    errors: &mut Errors,
    kind: &str,
    given: &[(Ident, Number)],
    accepted: &[NumericOption],
) -> Option<Vec<f64>> {
    let mut values: Vec<f64> = accepted.iter().map(|option| option.default).collect();
    let mut seen: Vec<String> = Vec::new();
    let mut valid = true;
    for (key, number) in given {
        let text = key.to_string();
        let Some(index) = accepted.iter().position(|option| option.name == text) else {
            let hint = suggest::hint(&text, accepted.iter().map(|option| option.name));
            errors.at(key, format!("unknown option `{text}` for `{kind}`; {hint}"));
            valid = false;
            continue;
        };
        if seen.contains(&text) {
            errors.at(key, format!("`{text}` is given twice"));
            valid = false;
        }
        seen.push(text);
        let option = &accepted[index];
        if number.value.is_finite() && (option.valid)(number.value) {
            values[index] = number.value;
        } else {
            errors.at_span(
                number.span,
                format!("`{}` must be {}, found {}", option.name, option.needs, number.text),
            );
            valid = false;
        }
    }
    valid.then_some(values)
}

/// The local binding of a tensor in generated code: `prefix` and its name, a `.` (as in
/// PyTorch's `out_proj.weight`) written `_`.
pub fn tensor_ident(prefix: &str, name: &str) -> Ident {
    format_ident!("{prefix}{}", name.replace('.', "_"))
}

/// A named tensor's start and end, as literals.
fn find(tensors: &[(&'static str, Range<usize>)], name: &str) -> (Literal, Literal) {
    debug_assert!(tensors.iter().any(|(n, _)| *n == name), "no tensor `{name}`");
    let range = tensors.iter().find(|(n, _)| *n == name).map_or(0..0, |(_, r)| r.clone());
    (Literal::usize_unsuffixed(range.start), Literal::usize_unsuffixed(range.end))
}

/// `::nn::__private`, where every path the generated code names lives.
pub fn private() -> TokenStream {
    quote!(::nn::__private)
}

/// A size or count as an unsuffixed literal (`784`, not `784usize`).
pub fn literal(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}
