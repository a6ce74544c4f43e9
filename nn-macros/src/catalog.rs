//! The names several layer kinds share: activations and parameter initialisers.

/// An activation the runtime implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationKind {
    Identity,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu,
    Elu,
    Gelu,
    GeluTanh,
    Softplus,
    Silu,
    Heaviside,
    Sign,
    Softmax,
}

/// An activation's optional numeric parameter: its runtime field and default.
pub struct Parameter {
    pub name: &'static str,
    pub field: &'static str,
    pub default: f64,
    /// Whether the value must be greater than 0.
    pub positive: bool,
}

impl ActivationKind {
    /// Every activation, with the names a declaration may use.
    pub const ALL: &[(&'static str, Self)] = &[
        ("identity", Self::Identity),
        ("sigmoid", Self::Sigmoid),
        ("tanh", Self::Tanh),
        ("relu", Self::Relu),
        ("leaky_relu", Self::LeakyRelu),
        ("elu", Self::Elu),
        ("gelu", Self::Gelu),
        ("gelu_tanh", Self::GeluTanh),
        ("softplus", Self::Softplus),
        ("silu", Self::Silu),
        ("swish", Self::Silu),
        ("heaviside", Self::Heaviside),
        ("step", Self::Heaviside),
        ("sign", Self::Sign),
        ("softmax", Self::Softmax),
    ];

    /// The activation a declaration names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, kind)| kind)
    }

    /// The canonical name in a declaration.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|&&(_, kind)| kind == self).map_or("identity", |(n, _)| n)
    }

    /// The runtime type implementing it (`Softmax` has its own module instead).
    pub fn runtime_type(self) -> &'static str {
        match self {
            Self::Identity => "Identity",
            Self::Sigmoid => "Sigmoid",
            Self::Tanh => "Tanh",
            Self::Relu => "Relu",
            Self::LeakyRelu => "LeakyRelu",
            Self::Elu => "Elu",
            Self::Gelu => "Gelu",
            Self::GeluTanh => "GeluTanh",
            Self::Softplus => "Softplus",
            Self::Silu => "Silu",
            Self::Heaviside => "Heaviside",
            Self::Sign => "Sign",
            Self::Softmax => "Softmax",
        }
    }

    /// The optional parameter, `leaky_relu(0.2)`, with PyTorch's default.
    pub fn parameter(self) -> Option<Parameter> {
        match self {
            Self::LeakyRelu => {
                Some(Parameter { name: "slope", field: "alpha", default: 0.01, positive: false })
            }
            Self::Elu => Some(Parameter { name: "alpha", field: "alpha", default: 1.0, positive: false }),
            Self::Softplus => Some(Parameter { name: "beta", field: "beta", default: 1.0, positive: true }),
            _ => None,
        }
    }

    /// Whether `σ` acts on each value alone (every activation but softmax).
    pub fn is_elementwise(self) -> bool {
        self != Self::Softmax
    }

    /// Every name, for "expected one of" messages and suggestions.
    pub fn names() -> impl Iterator<Item = &'static str> + Clone {
        Self::ALL.iter().map(|(n, _)| *n)
    }
}

/// A parameter initialiser the runtime implements (`nn::init::Init`): its name in a
/// declaration, its variant, and whether it takes a value (`constant(0.5)`).
pub const INITIALISERS: &[(&str, &str, bool)] = &[
    ("torch_linear", "TorchLinear", false),
    ("xavier_uniform", "XavierUniform", false),
    ("xavier_normal", "XavierNormal", false),
    ("he_uniform", "HeUniform", false),
    ("he_normal", "HeNormal", false),
    ("zeros", "Zeros", false),
    ("constant", "Constant", true),
];
