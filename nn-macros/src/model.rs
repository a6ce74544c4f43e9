//! The checked network: a graph of shaped values and the nodes that compute them, every
//! shape resolved, every name known. `expand` reads only this.

use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

use crate::layers::Layer;

/// A network whose declaration passed every check.
pub struct Network {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    /// Value 0 is the network's input; value `n + 1` is node `n`'s output.
    pub values: Vec<Value>,
    /// In topological order: a node reads only the input and earlier nodes' values.
    pub nodes: Vec<Node>,
    /// Values in the flat parameter buffer.
    pub parameters: usize,
    /// Values in the flat buffer of state (running statistics).
    pub buffers: usize,
    /// The weights file to bake in, checked against the network.
    pub weights: Option<crate::bake::Weights>,
}

/// The shape of one sample of a value, row-major: `[F]`, `[T, F]` or `[C, H, W]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    /// A flat vector of `size` values.
    pub fn vector(size: usize) -> Self {
        Self(vec![size])
    }

    /// Values per sample; `usize::MAX` when the product overflows (the checker rejects any
    /// value larger than memory before code is written).
    pub fn len(&self) -> usize {
        self.0.iter().fold(1, |n, &d| n.saturating_mul(d))
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sizes: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "[{}]", sizes.join(", "))
    }
}

/// What a value's elements are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    /// Real numbers (`T`).
    Real,
    /// Integer ids (`u32`): only the network's input, read by embeddings.
    Id,
}

/// A value flowing between nodes.
pub struct Value {
    pub shape: Shape,
    pub element: Element,
    /// Whether a gradient must flow back into this value (a node with parameters computes
    /// it, or reads a value that needs one).
    pub requires_gradient: bool,
    /// The nodes that read it, with the input slot, in topological order.
    pub consumers: Vec<(usize, usize)>,
}

/// One layer, with its place in the graph and in the parameter buffer.
pub struct Node {
    /// PyTorch-style name: the declared name, else the layer's index (`0`, `1`, …), as in a
    /// `torch.nn.Sequential`; `2.0` inside block `2`.
    pub name: String,
    /// The Rust identifier for this layer's accessor and workspace buffers.
    pub ident: Ident,
    /// The user's tokens for this layer.
    pub span: Span,
    /// The values it reads, by index into [`Network::values`].
    pub inputs: Vec<usize>,
    /// Where each of its parameter tensors starts in the flat buffer.
    pub offsets: Vec<usize>,
    /// Where each of its state tensors starts in the flat state buffer.
    pub buffer_offsets: Vec<usize>,
    /// What it computes.
    pub layer: Box<dyn Layer>,
}

impl Network {
    /// The network's output value.
    pub fn output(&self) -> usize {
        self.nodes.len()
    }

    /// Values per input sample.
    pub fn inputs(&self) -> usize {
        self.values[0].shape.len()
    }

    /// Whether the input holds ids: inference can then fail (an id outside a vocabulary).
    pub fn takes_ids(&self) -> bool {
        self.values[0].element == Element::Id
    }

    /// Values per output sample.
    pub fn outputs(&self) -> usize {
        self.values[self.output()].shape.len()
    }
}
