//! What the declaration language knows by name: layer kinds, activations, initialisers.

/// Layer kinds with their own syntax (everything else in layer position is an activation).
pub const LAYER_KINDS: &[&str] = &["dense", "dropout", "input"];

/// An activation the runtime implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationKind {
    Identity,
    Sigmoid,
    Tanh,
    Relu,
}

impl ActivationKind {
    /// Every activation, with the name a declaration uses.
    pub const ALL: &[(&'static str, Self)] = &[
        ("identity", Self::Identity),
        ("sigmoid", Self::Sigmoid),
        ("tanh", Self::Tanh),
        ("relu", Self::Relu),
    ];

    /// The activation a declaration names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, kind)| kind)
    }

    /// The name in a declaration.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|&&(_, kind)| kind == self).map_or("identity", |(n, _)| n)
    }

    /// The runtime type implementing it.
    pub fn runtime_type(self) -> &'static str {
        match self {
            Self::Identity => "Identity",
            Self::Sigmoid => "Sigmoid",
            Self::Tanh => "Tanh",
            Self::Relu => "Relu",
        }
    }

    /// Every name, for "expected one of" messages and suggestions.
    pub fn names() -> impl Iterator<Item = &'static str> + Clone {
        Self::ALL.iter().map(|(n, _)| *n)
    }
}

/// A parameter initialiser the runtime implements (`nn::init::Init`).
pub const INITIALISERS: &[(&str, &str)] = &[
    ("torch_linear", "TorchLinear"),
    ("xavier_uniform", "XavierUniform"),
    ("xavier_normal", "XavierNormal"),
    ("he_uniform", "HeUniform"),
    ("he_normal", "HeNormal"),
    ("zeros", "Zeros"),
];

/// Options a `dense` layer accepts as `key = value`.
pub const DENSE_OPTIONS: &[&str] = &["init"];
