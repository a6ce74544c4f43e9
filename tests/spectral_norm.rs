//! Spectral normalisation against PyTorch's `torch.nn.utils.spectral_norm` (float64
//! references written by `tests/reference/spectral_norm.py` with PyTorch 2.15): three SGD
//! steps in training mode (each forward runs the power iteration), checking the loss and
//! every gradient before each step, the parameters and the vectors `u`, `v` after it, and
//! the eval-mode output (no iteration), with one and with two power iterations.

mod support;

use nn::prelude::*;
use support::{Tolerance, assert_close, flatten};

nn::network! { struct OneIteration { dense(4 -> 3, tanh, norm = spectral), dense(2) } }
nn::network! { struct TwoIterations { dense(4 -> 3, tanh, norm = spectral(2)), dense(2) } }

const F64: Tolerance = Tolerance { rtol: 1e-9, atol: 1e-12 };

fn replay<N: Network<f64, Input = f64> + Clone>(case: &serde_json::Value) -> f64 {
    let (parameters, buffers) = (flatten(&case["init"]["params"]), flatten(&case["init"]["buffers"]));
    let net = N::from_state(parameters, buffers).unwrap();
    let (inputs, targets) = (flatten(&case["inputs"]), flatten(&case["targets"]));
    let mut trainer = Trainer::new(net, MeanSquaredError, Sgd::with_learning_rate(0.1)).keeping_gradients();
    let mut worst: f64 = 0.0;
    let mut close = |got: &[f64], expected: &serde_json::Value, what: String| {
        worst = worst.max(assert_close(got, &flatten(expected), F64, &what));
    };
    for step in case["steps"].as_array().unwrap() {
        let k = step["step"].as_u64().unwrap();
        let loss = trainer.step(&inputs, &targets).unwrap();
        close(&[loss], &step["loss"], format!("step {k} loss"));
        close(trainer.gradients().expect("kept"), &step["grads"], format!("step {k} gradients"));
        close(trainer.network().parameters(), &step["params"], format!("step {k} parameters"));
        close(trainer.network().buffers(), &step["buffers"], format!("step {k} u and v"));
    }
    let mut workspace = N::Workspace::default();
    let output = trainer.network().infer(&inputs, &mut workspace).unwrap().to_vec();
    close(&output, &case["eval_output"], "eval-mode output".into());
    worst
}

#[test]
fn spectral_normalisation_matches_pytorch() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/spectral_norm.json");
    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases[0]["n_power_iterations"], 1);
    let worst = replay::<OneIteration<f64>>(&cases[0]);
    println!("spectral norm, 1 power iteration: worst relative error {worst:e}");
    assert_eq!(cases[1]["n_power_iterations"], 2);
    let worst = replay::<TwoIterations<f64>>(&cases[1]);
    println!("spectral norm, 2 power iterations: worst relative error {worst:e}");
}

#[test]
fn the_one_sample_path_uses_the_stored_vectors() {
    let mut trainer =
        Trainer::new(OneIteration::<f64>::seeded(2), MeanSquaredError, Sgd::with_learning_rate(0.1));
    let inputs = [0.3, -0.1, 0.8, 0.2, -0.5, 0.4, 0.1, 0.9];
    for _ in 0..3 {
        trainer.step(&inputs, &[0.1, 0.2, -0.3, 0.4]).unwrap();
    }
    let net = trainer.network();
    let mut workspace = OneIteration::workspace();
    let batch = net.infer(&inputs, &mut workspace).unwrap().to_vec();
    for (n, x) in inputs.chunks(4).enumerate() {
        let one = net.forward(&SVector::<f64, 4>::from_column_slice(x));
        assert!((one[0] - batch[2 * n]).abs() < 1e-14 && (one[1] - batch[2 * n + 1]).abs() < 1e-14);
    }
    let names: Vec<&str> = OneIteration::<f64>::buffer_specs().iter().map(|s| s.name).collect();
    assert_eq!(names, ["0.weight_u", "0.weight_v"]);
    assert!(net.parameter("0.weight_orig").is_some() && net.parameter("0.weight").is_none());
}

#[test]
fn a_network_built_from_its_parameters_alone_starts_from_usable_vectors() {
    // Without a state buffer, u and v start as uniform unit vectors: σ > 0 and the outputs
    // are finite, in inference and after training steps.
    let parameters = OneIteration::<f64>::seeded(4).parameters().to_vec();
    let net = OneIteration::<f64>::from_parameters(parameters).unwrap();
    let u = net.buffer("0.weight_u").unwrap();
    assert!((u.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-15, "{u:?}");
    let y = net.forward(&SVector::<f64, 4>::new(0.1, 0.2, 0.3, 0.4));
    assert!(y.iter().all(|v| v.is_finite()), "{y:?}");
    let mut trainer = Trainer::new(net, MeanSquaredError, Sgd::with_learning_rate(0.1));
    let loss = trainer.step(&[0.1, 0.2, 0.3, 0.4], &[0.5, -0.5]).unwrap();
    assert!(loss.is_finite());
}
