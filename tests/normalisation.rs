//! Batch normalisation's two modes. Training (`forward_train`, `&mut self`) normalises with
//! the batch's statistics and updates the running ones; every inference path (`forward`,
//! `forward_batch`, `infer`, the trainer's `evaluate` and `predict`) takes `&self`, so it
//! cannot update them, and normalises with the running ones only: a sample's prediction never
//! depends on the other samples in its batch (dfdx #881 was a batch norm that used batch
//! statistics at inference).

use nn::prelude::*;

nn::network! { struct Normed { input(3), dense(4), batch_norm(4, relu), dense(2) } }

/// The eval-mode forward written out from the parameters and the running statistics.
fn by_hand(net: &Normed<f64>, x: &[f64]) -> Vec<f64> {
    let (w0, b0) = (net.parameter("0.weight").unwrap(), net.parameter("0.bias").unwrap());
    let (gamma, beta) = (net.parameter("1.weight").unwrap(), net.parameter("1.bias").unwrap());
    let (mean, var) = (net.buffer("1.running_mean").unwrap(), net.buffer("1.running_var").unwrap());
    let (w2, b2) = (net.parameter("2.weight").unwrap(), net.parameter("2.bias").unwrap());
    let hidden: Vec<f64> = (0..4)
        .map(|o| {
            let z = (0..3).map(|i| w0[3 * o + i] * x[i]).sum::<f64>() + b0[o];
            (gamma[o] * (z - mean[o]) / (var[o] + 1e-5).sqrt() + beta[o]).max(0.0)
        })
        .collect();
    (0..2).map(|o| (0..4).map(|i| w2[4 * o + i] * hidden[i]).sum::<f64>() + b2[o]).collect()
}

#[test]
fn inference_uses_the_running_statistics_and_never_the_batch() {
    let inputs: Vec<f64> = (0..3 * 8).map(|k| f64::from(k % 5) - 1.7 + f64::from(k) / 13.0).collect();
    let targets: Vec<f64> = (0..2 * 8).map(|k| f64::from(k % 3) / 2.0).collect();
    let mut trainer = Trainer::new(Normed::<f64>::seeded(5), MeanSquaredError, Sgd::with_learning_rate(0.05));
    for _ in 0..4 {
        trainer.step(&inputs, &targets).unwrap();
    }
    let net = trainer.network().clone();
    assert_eq!(net.buffer("1.num_batches_tracked"), Some(&[4.0][..]));
    let batch = nn::OMatrix::<f64, nn::Const<3>, nn::Dyn>::from_column_slice(&inputs);
    let all = net.forward_batch(&batch);
    let mut workspace = Normed::workspace();
    for (n, x) in inputs.chunks(3).enumerate() {
        let expected = by_hand(&net, x);
        let one = net.forward(&SVector::<f64, 3>::from_column_slice(x));
        let alone = nn::Network::infer(&net, x, &mut workspace).unwrap().to_vec();
        for k in 0..2 {
            for (path, got) in
                [("forward", one[k]), ("forward_batch", all[(k, n)]), ("infer, batch of 1", alone[k])]
            {
                assert!(
                    (got - expected[k]).abs() < 1e-12,
                    "sample {n}, {path}: {got} against {}",
                    expected[k]
                );
            }
        }
    }
    // Inference changed nothing, and training does use the batch: its output differs.
    assert_eq!(trainer.network(), &net);
    let mut training = Normed::workspace();
    net.clone().forward_train(&inputs, &mut training, &mut nn::init::seeded_rng(0)).unwrap();
    let trained_output = nn::Workspace::output(&training);
    assert!(trained_output.iter().zip(all.iter()).any(|(a, b)| (a - b).abs() > 1e-3));
}
