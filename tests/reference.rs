//! Everything the PyTorch fixtures do not cover, against `tests/reference/values.json`:
//! values computed by `tests/reference/generate.py` (`CPython` 3.11.7, standard library, float64)
//! from PyTorch's documented formulas, independently of nn's code.
//!
//! f64 agreement is to 1e-12 relative (the two implementations differ only in the order of
//! floating-point operations). The activations and losses are also checked in f32, with the
//! f32 hint the PyTorch fixtures use (rtol 1e-4, atol 1e-5): f32 inputs are rounded, and
//! some formulas amplify that (BCE's `1 − p` at `p = 0.999` loses 1.3e-5 relative).

mod support;

use std::sync::LazyLock;

use nn::Real;
use nn::activation::{self, Activation, softmax};
use nn::clip;
use nn::loss::LossError;
use nn::prelude::*;
use serde_json::Value;
use support::{Tolerance, assert_close, cast, flatten};

static REFERENCE: LazyLock<Value> = LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/values.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
});

const F64: Tolerance = Tolerance { rtol: 1e-12, atol: 1e-15 };
const F32: Tolerance = Tolerance { rtol: 1e-4, atol: 1e-5 };

fn tolerance<T: Real>() -> Tolerance {
    if size_of::<T>() == 8 { F64 } else { F32 }
}

fn check_activation<T: Real, A: Activation<T>>(name: &str, activation: A) {
    let case = &REFERENCE["activations"][name];
    let z: Vec<T> = cast(&flatten(&case["z"]));
    let f: Vec<T> = z.iter().map(|&z| activation.f(z)).collect();
    let df: Vec<T> = z.iter().zip(&f).map(|(&z, &a)| activation.df(z, a)).collect();
    assert_close(&f, &flatten(&case["f"]), tolerance::<T>(), &format!("{name} f"));
    assert_close(&df, &flatten(&case["df"]), tolerance::<T>(), &format!("{name} df"));
}

fn every_activation<T: Real>() {
    use activation::{
        Elu, Gelu, GeluTanh, Heaviside, Identity, LeakyRelu, Relu, Sigmoid, Sign, Silu, Softplus, Tanh,
    };
    check_activation::<T, _>("identity", Identity);
    check_activation::<T, _>("sigmoid", Sigmoid);
    check_activation::<T, _>("tanh", Tanh);
    check_activation::<T, _>("relu", Relu);
    check_activation::<T, _>("leaky_relu", LeakyRelu::default());
    check_activation::<T, _>("leaky_relu(0.2)", LeakyRelu { alpha: 0.2 });
    check_activation::<T, _>("elu", Elu::default());
    check_activation::<T, _>("elu(0.5)", Elu { alpha: 0.5 });
    check_activation::<T, _>("gelu", Gelu);
    check_activation::<T, _>("gelu_tanh", GeluTanh);
    check_activation::<T, _>("softplus", Softplus::default());
    check_activation::<T, _>("softplus(2)", Softplus { beta: 2.0 });
    check_activation::<T, _>("silu", Silu);
    check_activation::<T, _>("heaviside", Heaviside);
    check_activation::<T, _>("sign", Sign);
}

#[test]
fn activations_and_derivatives_match_in_f64_and_f32() {
    every_activation::<f64>();
    every_activation::<f32>();
}

#[test]
fn softmax_and_its_vector_jacobian_product_match() {
    let case = &REFERENCE["softmax"];
    let z = flatten(&case["z"]);
    let mut a = vec![0.0; 4];
    softmax::forward(&z, &mut a, 4);
    assert_close(&a, &flatten(&case["a"]), F64, "softmax");
    let mut gradient = vec![0.0; 4];
    softmax::backward(&a, &flatten(&case["grad_output"]), &mut gradient, 4);
    assert_close(&gradient, &flatten(&case["grad_input"]), F64, "softmax backward");
}

fn check_loss<T: Real, L: Loss<T>>(name: &str, loss: &L, outputs: usize) {
    let case = &REFERENCE["losses"][name];
    let prediction: Vec<T> = cast(&flatten(&case["prediction"]));
    let target: Vec<T> = cast(&flatten(&case["target"]));
    let mut gradient = vec![T::zero(); prediction.len()];
    let value = loss.evaluate(&prediction, &target, &mut gradient, outputs).unwrap();
    let expected = case["value"].as_f64().unwrap();
    assert_close(&[value], &[expected], tolerance::<T>(), &format!("{name} value"));
    assert_close(&[loss.value(&prediction, &target, outputs).unwrap()], &[expected], tolerance::<T>(), name);
    assert_close(&gradient, &flatten(&case["gradient"]), tolerance::<T>(), &format!("{name} gradient"));
}

fn every_loss<T: Real>() {
    check_loss::<T, _>("l1", &MeanAbsoluteError, 2);
    check_loss::<T, _>("huber(1.0)", &Huber::default(), 2);
    check_loss::<T, _>("huber(0.5)", &Huber { delta: 0.5 }, 2);
    check_loss::<T, _>("bce", &BinaryCrossEntropy, 2);
    check_loss::<T, _>("bce_with_logits", &BinaryCrossEntropyWithLogits, 2);
    check_loss::<T, _>("softmax_cross_entropy", &SoftmaxCrossEntropy, 3);
}

#[test]
fn losses_and_gradients_match_in_f64_and_f32() {
    every_loss::<f64>();
    every_loss::<f32>();
}

#[test]
fn targets_outside_the_domain_are_typed_errors() {
    let logits = [0.0, 1.0, 2.0, 0.5, 0.5, 0.5];
    let mut gradient = [0.0; 6];
    for (bad, sample) in [([0.0, 3.0], 1), ([-1.0, 0.0], 0), ([1.5, 0.0], 0), ([0.0, f64::NAN], 1)] {
        let error = SoftmaxCrossEntropy.evaluate(&logits, &bad, &mut gradient, 3).unwrap_err();
        assert!(
            matches!(error, LossError::ClassIndex { sample: s, classes: 3, .. } if s == sample),
            "{error}"
        );
    }
    let error = SoftmaxCrossEntropy.value(&logits, &[0.0, 3.0], 3).unwrap_err();
    assert_eq!(error.to_string(), "sample 1: target 3 is not a class index (a whole number from 0 to 2)");
    let error = BinaryCrossEntropy.evaluate(&[0.5, 0.5], &[1.0, 1.5], &mut gradient[..2], 1).unwrap_err();
    assert_eq!(error.to_string(), "sample 1: target 1.5 is not a probability in [0, 1]");
    let error =
        BinaryCrossEntropyWithLogits.value(&[0.5, 0.5, 0.5, 0.5], &[0.0, 0.0, -0.1, 0.0], 2).unwrap_err();
    assert_eq!(error, LossError::Probability { sample: 1, value: -0.1 });
    let error = MeanSquaredError.value(&[0.5, 0.5], &[0.0], 1).unwrap_err();
    assert_eq!(error.to_string(), "the target holds 1 values, but 2 samples need 2 for this loss");
}

/// Four steps with the reference's fixed gradients, checked after every step.
fn check_optimizer<O: Optimizer<f64>>(name: &str, mut optimizer: O) {
    let case = &REFERENCE["optimizers"];
    let mut parameters = flatten(&case["initial"]);
    optimizer.prepare(parameters.len());
    let expected = case[name].as_array().unwrap();
    for (step, (gradient, expected)) in case["gradients"].as_array().unwrap().iter().zip(expected).enumerate()
    {
        let mut values = flatten(gradient);
        assert!(optimizer.step(&parameters, &mut values));
        parameters = values;
        assert_close(&parameters, &flatten(expected), F64, &format!("{name} step {}", step + 1));
    }
}

#[test]
fn optimizers_follow_pytorch_semantics() {
    let sgd = |momentum, dampening, nesterov, weight_decay| {
        Sgd::new(SgdConfig { learning_rate: 0.1, momentum, dampening, nesterov, weight_decay })
    };
    check_optimizer("sgd_nesterov_weight_decay", sgd(0.9, 0.0, true, 0.01));
    check_optimizer("sgd_dampening", sgd(0.8, 0.3, false, 0.0));
    let adam = AdamConfig { learning_rate: 0.05, weight_decay: 0.1, amsgrad: true, ..AdamConfig::default() };
    check_optimizer("adam_amsgrad_l2", Adam::new(adam));
    check_optimizer("adamw_amsgrad", AdamW::new(adam));
    check_optimizer("rmsprop", RmsProp::new(RmsPropConfig::default()));
    let centered =
        RmsPropConfig { momentum: 0.9, centered: true, weight_decay: 0.05, ..RmsPropConfig::default() };
    check_optimizer("rmsprop_centered_momentum_weight_decay", RmsProp::new(centered));
    check_optimizer("rprop", Rprop::new(RpropConfig { learning_rate: 0.05, ..RpropConfig::default() }));
}

#[test]
fn clipping_by_norm_and_by_value() {
    let case = &REFERENCE["clipping"];
    let gradient = flatten(&case["gradient"]);
    for (max_norm, key) in [(5.0, "by_norm_5"), (20.0, "by_norm_20")] {
        let mut clipped = gradient.clone();
        let norm = clip::by_global_norm(&mut clipped, max_norm);
        assert_close(&[norm], &[case["norm"].as_f64().unwrap()], F64, "norm");
        assert_close(&clipped, &flatten(&case[key]), F64, key);
    }
    let mut clipped = gradient.clone();
    Clip::Value(3.5).apply(&mut clipped);
    assert_close(&clipped, &flatten(&case["by_value_3.5"]), F64, "by value");
}

fn check_schedule(name: &str, mut schedule: impl Schedule, metrics: Option<&[f64]>) {
    let case = &REFERENCE["schedules"];
    let base = case["base"].as_f64().unwrap();
    let expected = flatten(&case[name]);
    let rates: Vec<f64> = (0..expected.len())
        .map(|epoch| {
            let metric = epoch.checked_sub(1).and_then(|previous| metrics.map(|m| m[previous]));
            schedule.learning_rate(base, epoch, metric)
        })
        .collect();
    assert_close(&rates, &expected, F64, name);
}

#[test]
fn schedules_and_their_compositions() {
    check_schedule("step(3, 0.5)", StepDecay { every: 3, gamma: 0.5 }, None);
    check_schedule("exponential(0.9)", Exponential { gamma: 0.9 }, None);
    check_schedule("cosine(10, 0.001)", CosineAnnealing { epochs: 10, minimum: 0.001 }, None);
    check_schedule("warmup(4, 0.25)", LinearWarmup { epochs: 4, start_factor: 0.25 }, None);
    let warm_then_cosine =
        LinearWarmup { epochs: 4, start_factor: 0.25 }.then(4, CosineAnnealing { epochs: 8, minimum: 0.0 });
    check_schedule("warmup(4, 0.25).then(4, cosine(8, 0))", warm_then_cosine, None);
    let chained = StepDecay { every: 3, gamma: 0.5 }.chain(Exponential { gamma: 0.9 });
    check_schedule("step(3, 0.5).chain(exponential(0.9))", chained, None);
    let metrics = flatten(&REFERENCE["schedules"]["plateau_metrics"]);
    check_schedule("plateau(0.5, 2)", ReduceOnPlateau::new(0.5, 2), Some(&metrics));
}
