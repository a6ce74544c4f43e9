//! Shared by the integration tests: reading the PyTorch fixtures and comparing against them.
#![allow(dead_code)]

use std::path::PathBuf;

use nn::Real;
use serde_json::Value;

/// `|got − expected| ≤ atol + rtol·|expected|`, the fixtures' comparison.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// One fixture file from `tests/fixtures/` (copied from PyTorch-generated references).
pub struct Fixture {
    pub name: String,
    pub json: Value,
}

impl Fixture {
    pub fn load(name: &str) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self { name: name.to_owned(), json: serde_json::from_str(&text).expect("fixture is JSON") }
    }

    /// The fixture's own tolerance hint for a scalar type.
    pub fn tolerance<T: Real>(&self) -> Tolerance {
        let key = if size_of::<T>() == 8 { "f64" } else { "f32" };
        let hint = &self.json["tolerance_hint"][key];
        Tolerance { rtol: hint["rtol"].as_f64().unwrap(), atol: hint["atol"].as_f64().unwrap() }
    }

    /// Inputs, batch-major in the file, which is exactly our column-major layout flattened.
    pub fn inputs<T: Real>(&self) -> Vec<T> {
        cast(&flatten(&self.json["inputs"]))
    }

    /// Inputs as a network reads them: features, or ids (`u32`) for an embedding.
    pub fn inputs_as<I: FromFixture>(&self) -> Vec<I> {
        flatten(&self.json["inputs"]).into_iter().map(I::from_fixture).collect()
    }

    pub fn targets<T: Real>(&self) -> Vec<T> {
        cast(&flatten(&self.json["targets"]))
    }
}

/// A fixture's number as a network input: a feature, or an id (the fixtures write ids as
/// integers, which parse exactly).
pub trait FromFixture {
    fn from_fixture(value: f64) -> Self;
}

impl FromFixture for f32 {
    fn from_fixture(value: f64) -> Self {
        value as f32
    }
}

impl FromFixture for f64 {
    fn from_fixture(value: f64) -> Self {
        value
    }
}

impl FromFixture for u32 {
    fn from_fixture(value: f64) -> Self {
        assert!(value >= 0.0 && value.fract() == 0.0, "an id: {value}");
        value as u32
    }
}

/// Every number in a nested array, in reading order.
pub fn flatten(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number or array: {other}"),
    }
}

/// Every parameter name the fixtures use, in nn's buffer order within a layer: a dense or
/// normalisation layer's, then a recurrent layer's by layer and direction (PyTorch's
/// `state_dict` order), then attention's.
const PARAMETER_KEYS: &[&str] = &[
    "weight",
    "bias",
    "gamma",
    "beta",
    "weight_ih_l0",
    "weight_hh_l0",
    "bias_ih_l0",
    "bias_hh_l0",
    "weight_ih_l0_reverse",
    "weight_hh_l0_reverse",
    "bias_ih_l0_reverse",
    "bias_hh_l0_reverse",
    "weight_ih_l1",
    "weight_hh_l1",
    "bias_ih_l1",
    "bias_hh_l1",
    "in_proj_weight",
    "in_proj_bias",
    "out_proj.weight",
    "out_proj.bias",
];

/// Where tensor `param` starts within a layer's flat parameters (nn's buffer order).
pub fn parameter_offset(layer: &Value, param: &str) -> usize {
    PARAMETER_KEYS
        .iter()
        .take_while(|key| **key != param)
        .filter_map(|key| layer.get(*key))
        .map(|values| flatten(values).len())
        .sum()
}

/// A PARAMS-shaped list (one `{weight, bias}` object per layer) as one flat buffer in nn's
/// layout: each layer's weight `[out][in]` row-major, then its bias.
pub fn flatten_parameters(layers: &Value) -> Vec<f64> {
    let mut flat = Vec::new();
    for layer in layers.as_array().expect("a list of layers") {
        if layer.is_null() {
            continue;
        }
        for key in PARAMETER_KEYS {
            if let Some(values) = layer.get(key) {
                flat.extend(flatten(values));
            }
        }
    }
    flat
}

pub fn cast<T: Real>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&v| T::from_float(v)).collect()
}

/// Asserts elementwise closeness and returns the worst relative error
/// `|got − expected| / (|expected| + atol/rtol)`: plain relative error for values above
/// `atol/rtol`, and below `rtol` exactly when every element passes.
#[track_caller]
pub fn assert_close<T: Real>(got: &[T], expected: &[f64], tolerance: Tolerance, what: &str) -> f64 {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let mut worst: f64 = 0.0;
    for (index, (&g, &e)) in got.iter().zip(expected).enumerate() {
        let g = g.to_f64();
        let error = (g - e).abs();
        assert!(
            error <= tolerance.atol + tolerance.rtol * e.abs(),
            "{what}[{index}]: got {g}, expected {e} (error {error:e}, tolerance {tolerance:?})"
        );
        // Relative to |e|, but never to less than atol/rtol: below that the fixtures compare
        // absolutely (analytically zero gradients hold rounding noise of ~1e-17 there).
        worst = worst.max(error / (e.abs() + tolerance.atol / tolerance.rtol));
    }
    worst
}
