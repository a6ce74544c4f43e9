//! The checked network: every shape resolved, every name known. `expand` reads only this.

use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

use crate::catalog::ActivationKind;

/// A network whose declaration passed every check.
pub struct Network {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    /// Values per input sample.
    pub inputs: usize,
    /// Values per output sample.
    pub outputs: usize,
    /// Values in the flat parameter buffer.
    pub parameters: usize,
    pub layers: Vec<Layer>,
}

/// One layer, with its shapes and its place in the parameter buffer.
pub struct Layer {
    /// PyTorch-style name: the declared name, else the layer's index (`0`, `1`, …), as in a
    /// `torch.nn.Sequential`.
    pub name: String,
    /// The Rust identifier for this layer's accessor and workspace buffers.
    pub ident: Ident,
    /// The user's tokens for this layer.
    pub span: Span,
    /// The layer as a declaration would write it: `dense(2 -> 3, sigmoid)`.
    pub description: String,
    pub inputs: usize,
    pub outputs: usize,
    pub kind: Kind,
    /// Whether the backward pass must produce `∂L/∂input` for this layer (there is a layer
    /// with parameters before it).
    pub propagates_gradient: bool,
    /// Whether the backward pass needs `∂L/∂output` of this layer.
    pub has_gradient: bool,
}

/// An activation with its parameter resolved (`leaky_relu(0.2)`: slope 0.2).
#[derive(Clone, Copy)]
pub struct Activation {
    pub kind: ActivationKind,
    pub parameter: Option<f64>,
}

/// What a layer computes.
pub enum Kind {
    /// `a = σ(W·x + b)`; weight `[outputs, inputs]` at `offset`, bias `[outputs]` right after.
    Dense { activation: Activation, init: Init, offset: usize },
    /// Inverted dropout with drop probability `probability`.
    Dropout { probability: f64 },
    /// `a = σ(x)` on its own.
    Activation(Activation),
}

/// A dense layer's initialiser: a runtime `Init` variant, with its argument if any.
#[derive(Clone, Copy)]
pub struct Init {
    pub variant: &'static str,
    pub argument: Option<f64>,
}

impl Layer {
    /// Offsets of the weight and bias, for layers with parameters.
    pub fn dense_ranges(&self) -> Option<(usize, usize, usize)> {
        match self.kind {
            Kind::Dense { offset, .. } => {
                let bias = offset + self.inputs * self.outputs;
                Some((offset, bias, bias + self.outputs))
            }
            _ => None,
        }
    }

    /// Whether the training forward keeps a separate pre-activation buffer `z`.
    pub fn keeps_pre_activation(&self) -> bool {
        matches!(self.kind, Kind::Dense { activation, .. } if activation.kind != ActivationKind::Identity)
    }
}
