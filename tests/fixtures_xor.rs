//! Fixtures `01_xor_sigmoid_*` (PyTorch, float64): forward values of every layer, the loss,
//! every gradient and a 3-step SGD trajectory, in f64 and f32, with the fixtures' own
//! tolerances (f64: rtol 1e-9, atol 1e-12).

mod support;

use nn::prelude::*;
use nn::{Real, Trainer};
use support::{Fixture, assert_close, cast, flatten, flatten_parameters};

nn::network! {
    /// The fixtures' 2-3-1 network, sigmoid / sigmoid.
    struct XorNet { dense(2 -> 3, sigmoid), dense(3 -> 1, sigmoid) }
}

/// Runs one fixture and returns the worst relative error seen.
fn check<T: Real, L: Loss<T> + Copy>(file: &str, loss: L) -> f64 {
    let fixture = Fixture::load(file);
    let tolerance = fixture.tolerance::<T>();
    let json = &fixture.json;
    let net = XorNet::<T>::from_parameters(cast(&flatten_parameters(&json["init"]["params"]))).unwrap();
    let (inputs, targets) = (fixture.inputs::<T>(), fixture.targets::<T>());
    let expected = &json["expected"];
    let mut worst: f64 = 0.0;

    // Forward: every layer's z and a.
    let mut workspace = XorNet::workspace();
    net.forward_train(&inputs, &mut workspace, &mut nn::init::seeded_rng(0)).unwrap();
    for (index, record) in expected["forward"]["layers"].as_array().unwrap().iter().enumerate() {
        let name = index.to_string();
        let z = workspace.layer_pre_activation(&name).unwrap();
        worst =
            worst.max(assert_close(z, &flatten(&record["z"]), tolerance, &format!("{file} layer {index} z")));
        let a = workspace.layer_output(&name).unwrap();
        worst =
            worst.max(assert_close(a, &flatten(&record["a"]), tolerance, &format!("{file} layer {index} a")));
    }

    // Loss and gradients at the initial parameters.
    let (output, output_gradient) = workspace.output_and_gradient();
    let value = loss.evaluate(output, &targets, output_gradient, 1).unwrap();
    worst = worst.max(assert_close(&[value], &[expected["loss"].as_f64().unwrap()], tolerance, "loss"));
    let mut gradients = vec![T::zero(); XorNet::<T>::PARAMETERS];
    net.backward(&mut workspace, &mut gradients);
    worst = worst.max(assert_close(&gradients, &flatten_parameters(&expected["grads"]), tolerance, "grads"));

    // The SGD trajectory: loss and gradients before each step, parameters after it.
    let lr = json["optimizer"]["lr"].as_f64().unwrap();
    let mut trainer = Trainer::new(net, loss, Sgd::with_learning_rate(lr));
    for step in expected["steps"].as_array().unwrap() {
        let k = step["step"].as_u64().unwrap();
        let value = trainer.step(&inputs, &targets).unwrap();
        worst = worst.max(assert_close(
            &[value],
            &[step["loss"].as_f64().unwrap()],
            tolerance,
            &format!("step {k} loss"),
        ));
        worst = worst.max(assert_close(
            trainer.gradients(),
            &flatten_parameters(&step["grads"]),
            tolerance,
            &format!("step {k} grads"),
        ));
        let parameters = trainer.network().parameters();
        worst = worst.max(assert_close(
            parameters,
            &flatten_parameters(&step["params"]),
            tolerance,
            &format!("step {k} params"),
        ));
    }
    let mut workspace = XorNet::workspace();
    let output = trainer.network().infer(&inputs, &mut workspace).unwrap();
    let final_loss = loss.value(output, &targets, 1).unwrap();
    worst = worst.max(assert_close(
        &[final_loss],
        &[expected["final_loss"].as_f64().unwrap()],
        tolerance,
        "final loss",
    ));
    worst
}

#[test]
fn xor_sigmoid_mse_matches_pytorch_in_f64() {
    let worst = check::<f64, _>("01_xor_sigmoid_mse.json", MeanSquaredError);
    println!("01_xor_sigmoid_mse f64: worst relative error {worst:e}");
    assert!(worst < 1e-9);
}

#[test]
fn xor_sigmoid_half_sse_mean_matches_pytorch_in_f64() {
    let worst = check::<f64, _>("01_xor_sigmoid_half_sse_mean.json", QuadraticCost);
    println!("01_xor_sigmoid_half_sse_mean f64: worst relative error {worst:e}");
    assert!(worst < 1e-9);
}

#[test]
fn xor_sigmoid_fixtures_match_pytorch_in_f32() {
    check::<f32, _>("01_xor_sigmoid_mse.json", MeanSquaredError);
    check::<f32, _>("01_xor_sigmoid_half_sse_mean.json", QuadraticCost);
}

#[test]
fn the_two_quadratic_losses_differ_by_the_factor_two_the_fixtures_expect() {
    // K = 1: mse = 2·half_sse_mean. Swapping the losses must fail the comparison.
    let swapped = std::panic::catch_unwind(|| check::<f64, _>("01_xor_sigmoid_mse.json", QuadraticCost));
    assert!(swapped.is_err(), "the fixture must tell the two losses apart");
}
