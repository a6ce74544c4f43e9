//! Sequences end to end: streaming one step at a time agrees with the whole-sequence forward
//! for every recurrent layer, batched inference agrees with both, and a PyTorch `nn.GRU` +
//! `nn.Linear` state dict loads by name and reproduces PyTorch's outputs, whole and
//! streamed; a per-step loss trains a sequence-to-sequence network.

#![allow(clippy::float_cmp)] // streaming and the one-sample forward run the same code: equality is the claim

mod support;

use nn::loss::{LossError, PerStep};
use nn::prelude::*;
use nn::{Dataset, Network, SVector, Trainer};
use rand::Rng;
use support::{Fixture, flatten};

nn::network! { struct RnnStream { input(6, 2), rnn(2 -> 5), dense(3, tanh) } }
nn::network! { struct RnnReluStream { input(6, 2), rnn(2 -> 5, relu), dropout(0.3), dense(3) } }
nn::network! { struct GruStream { input(7, 3), gru(3 -> 6), gru(4), dense(2) } }
nn::network! { struct LstmStream { input(5, 1), lstm(1 -> 8), sigmoid, lstm(3, last), dense(1) } }
nn::network! { struct Mixed { input(5, 2), dense(4, relu), lstm(3), gru(2), rnn(4), last_step, dense(3, softmax) } }

/// Streams `steps` steps of `input` through a fresh state and collects every output.
macro_rules! streamed {
    ($net:expr, $state:ty, $input:expr, $steps:expr, $features:expr, $outputs:expr) => {{
        let mut state = <$state>::new();
        let mut outputs = Vec::new();
        for t in 0..$steps {
            let x = SVector::<f64, $features>::from_column_slice(&$input[t * $features..(t + 1) * $features]);
            outputs.extend_from_slice($net.step(&mut state, &x).as_slice());
        }
        (outputs, state)
    }};
}

fn random(count: usize, seed: u64) -> Vec<f64> {
    let mut rng = nn::init::seeded_rng(seed);
    (0..count).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// The whole-sequence one-sample forward and batched inference of `net` on `input`.
fn whole<N: Network<f64, Input = f64>>(net: &N, input: &[f64]) -> Vec<f64> {
    let mut workspace = N::Workspace::default();
    net.infer(input, &mut workspace).unwrap().to_vec()
}

#[test]
fn streaming_equals_the_whole_sequence_forward_for_every_recurrent_layer() {
    let input = random(6 * 2, 1);
    let net = RnnStream::<f64>::seeded(1);
    let (streamed, _) = streamed!(net, RnnStreamState<f64>, input, 6, 2, 3);
    let sequence = net.forward(&SVector::from_column_slice(&input));
    assert_eq!(streamed, sequence.as_slice(), "rnn: streaming and forward run the same code");
    assert_close(&streamed, &whole(&net, &input), "rnn, batched");

    let net = RnnReluStream::<f64>::seeded(2);
    let (streamed, _) = streamed!(net, RnnReluStreamState<f64>, input, 6, 2, 3);
    assert_eq!(streamed, net.forward(&SVector::from_column_slice(&input)).as_slice(), "rnn relu");
    assert_close(&streamed, &whole(&net, &input), "rnn relu, batched");

    let input = random(7 * 3, 3);
    let net = GruStream::<f64>::seeded(3);
    let (streamed, _) = streamed!(net, GruStreamState<f64>, input, 7, 3, 2);
    assert_eq!(streamed, net.forward(&SVector::from_column_slice(&input)).as_slice(), "gru");
    assert_close(&streamed, &whole(&net, &input), "gru, batched");
}

#[test]
fn a_last_layer_streams_its_running_state_and_ends_at_the_whole_sequence_output() {
    let input = random(5, 4);
    let net = LstmStream::<f64>::seeded(4);
    let (streamed, mut state) = streamed!(net, LstmStreamState<f64>, input, 5, 1, 1);
    let output = net.forward(&SVector::from_column_slice(&input));
    assert_eq!(streamed[4], output[0], "the last step's output is the whole sequence's");
    assert_close(&streamed[4..], &whole(&net, &input), "lstm, batched");
    // Two LSTMs of 8 and 3 units: h and c each.
    assert_eq!(state.values().len(), 2 * (8 + 3));
    state.reset();
    assert!(state.values().iter().all(|&v| v == 0.0));

    let input = random(5 * 2, 5);
    let net = Mixed::<f64>::seeded(5);
    let (streamed, _) = streamed!(net, MixedState<f64>, input, 5, 2, 3);
    assert_eq!(&streamed[12..], net.forward(&SVector::from_column_slice(&input)).as_slice(), "mixed");
    assert_close(&streamed[12..], &whole(&net, &input), "mixed, batched");
}

fn assert_close(got: &[f64], expected: &[f64], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    for (index, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!((g - e).abs() <= 1e-12 * (1.0 + e.abs()), "{what}[{index}]: {g} against {e}");
    }
}

nn::network! {
    /// PyTorch's `gru = nn.GRU(1, 8, batch_first=True)` then `head = nn.Linear(8, 1)` at
    /// every step, named as its `state_dict` names them.
    struct GruSignal { input(16, 1), gru: gru(1 -> 8), head: dense(1) }
}

const GRU_SIGNAL: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/torch_sequential/gru_signal.safetensors");

#[test]
fn a_pytorch_gru_state_dict_reproduces_pytorchs_outputs_whole_and_streamed() {
    let reference = Fixture::load("torch_sequential/gru_signal.json").json;
    let inputs = flatten(&reference["inputs"]);
    // The state after streaming a whole sequence is PyTorch's h_n.
    let (net, h_n) = (GruSignal::<f64>::load(GRU_SIGNAL).unwrap(), flatten(&reference["expected_h_n_f64"]));
    for (n, sequence) in inputs.chunks(16).enumerate() {
        let mut state = GruSignalState::new();
        for &x in sequence {
            let _ = net.step(&mut state, &SVector::from([x]));
        }
        assert_close(state.values(), &h_n[8 * n..8 * (n + 1)], "h_n");
    }
    for (name, expected, tolerance) in [
        ("f32", flatten(&reference["expected_output"]), 1e-5),
        ("f64", flatten(&reference["expected_output_f64"]), 1e-12),
    ] {
        let mut worst: f64 = 0.0;
        for (n, sequence) in inputs.chunks(16).enumerate() {
            let expected = &expected[16 * n..16 * (n + 1)];
            let (whole, streamed): (Vec<f64>, Vec<f64>) = if name == "f32" {
                let net = GruSignal::<f32>::load(GRU_SIGNAL).unwrap();
                let x = SVector::<f32, 16>::from_fn(|i, _| sequence[i] as f32);
                let mut state = GruSignalState::new();
                let streamed =
                    (0..16).map(|t| f64::from(net.step(&mut state, &SVector::from([x[t]]))[0])).collect();
                (net.forward(&x).iter().map(|&v| f64::from(v)).collect(), streamed)
            } else {
                let net = GruSignal::<f64>::load(GRU_SIGNAL).unwrap();
                let x = SVector::<f64, 16>::from_column_slice(sequence);
                let mut state = GruSignalState::new();
                let streamed = (0..16).map(|t| net.step(&mut state, &SVector::from([x[t]]))[0]).collect();
                (net.forward(&x).as_slice().to_vec(), streamed)
            };
            assert_eq!(whole, streamed, "{name}: streamed and whole agree bit for bit");
            for (got, want) in whole.iter().zip(expected) {
                worst = worst.max((got - want).abs());
            }
        }
        println!("gru_signal {name}: worst absolute error {worst:e} (tolerance {tolerance:e})");
        assert!(worst <= tolerance, "{name}: {worst:e}");
    }
}

nn::network! {
    /// A sequence-to-sequence classifier: a class per step.
    struct Echo { input(8, 3), gru(3 -> 16), dense(3) }
}

/// Sequences of one-hot classes; each step's target is the class one step earlier (0 at
/// the first step), which the network can only give by remembering.
fn echo_data(sequences: usize, seed: u64) -> Dataset<f64> {
    let mut rng = nn::init::seeded_rng(seed);
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    for _ in 0..sequences {
        let classes: Vec<usize> = (0..8).map(|_| rng.random_range(0..3)).collect();
        for (t, &class) in classes.iter().enumerate() {
            inputs.extend((0..3).map(|c| if c == class { 1.0 } else { 0.0 }));
            targets.push(if t == 0 { 0.0 } else { classes[t - 1] as f64 });
        }
    }
    Dataset::new(8 * 3, 8, inputs, targets).unwrap().with_shape(&[8, 3]).unwrap()
}

#[test]
fn a_per_step_loss_trains_sequence_to_sequence_and_counts_steps() {
    let loss = PerStep::new(SoftmaxCrossEntropy, 8);
    // One softmax per step, a class per step: PyTorch's loss on [N·T, C].
    let logits = random(2 * 8 * 3, 9);
    let targets: Vec<f64> = (0..16).map(|i| f64::from(i % 3)).collect();
    let expected: f64 = logits
        .chunks(3)
        .zip(&targets)
        .map(|(z, &t)| z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[t as usize])
        .sum::<f64>()
        / 16.0;
    assert!((loss.value(&logits, &targets, 24).unwrap() - expected).abs() < 1e-14);
    // A bad class names the sequence and the step.
    let mut bad = targets.clone();
    bad[8 + 5] = 7.0;
    match loss.value(&logits, &bad, 24).unwrap_err() {
        LossError::Step { sample, step, .. } => assert_eq!((sample, step), (1, 5)),
        other => panic!("{other}"),
    }

    let (train, test) = (echo_data(400, 1), echo_data(100, 2));
    let optimizer = Adam::new(AdamConfig { learning_rate: 0.01, ..AdamConfig::default() });
    let mut trainer = Trainer::new(Echo::<f64>::seeded(1), loss, optimizer);
    let config = FitConfig { epochs: 15, batch_size: 20, shuffle: true, early_stopping: None };
    trainer.fit(&train, &config).unwrap();
    let accuracy = trainer.evaluate(&test).unwrap().accuracy.unwrap();
    println!("echo: per-step test accuracy {accuracy}");
    assert!(accuracy > 0.97, "per-step accuracy {accuracy}");
}

#[test]
fn a_state_follows_the_parameters_it_streams_with() {
    let input = random(7 * 3, 11);
    let mut net = GruStream::<f64>::seeded(3);
    let mut state = GruStreamState::new();
    let _ = net.step(&mut state, &SVector::from_column_slice(&input[..3]));
    // New weights (as an optimizer step writes them), then a fresh stream on the same state.
    for value in net.parameters_mut() {
        *value *= 0.5;
    }
    assert_eq!(
        restream(&net, &mut state, &input),
        net.forward(&SVector::from_column_slice(&input)).as_slice(),
        "the state rebuilt its weights"
    );
    // Another network's weights in the same state: rebuilt again.
    let other = GruStream::<f64>::seeded(9);
    state.reset();
    let first = other.step(&mut state, &SVector::from_column_slice(&input[..3]));
    assert_eq!(first.as_slice(), &other.forward(&SVector::from_column_slice(&input)).as_slice()[..2]);
}

/// A trainer swaps the next parameters in after each step; a state that streamed with the
/// old ones rebuilds its derived weights from the new.
#[test]
fn a_state_follows_the_parameters_a_trainer_swaps_in() {
    let input = random(7 * 3, 12);
    let mut trainer =
        Trainer::new(GruStream::<f64>::seeded(4), MeanSquaredError, Sgd::with_learning_rate(0.5));
    let mut state = GruStreamState::new();
    let _ = trainer.network().step(&mut state, &SVector::from_column_slice(&input[..3]));
    trainer.step(&input, &random(7 * 2, 13)).unwrap();
    let net = trainer.network();
    assert_eq!(
        restream(net, &mut state, &input),
        net.forward(&SVector::from_column_slice(&input)).as_slice(),
        "the state rebuilt its weights after the step"
    );
}

/// `net` streamed over the seven steps of `input` from `state` reset, which keeps the
/// weights it derived before (`reset` clears only the values).
fn restream(net: &GruStream<f64>, state: &mut GruStreamState<f64>, input: &[f64]) -> Vec<f64> {
    state.reset();
    let mut streamed = Vec::new();
    for t in 0..7 {
        streamed.extend_from_slice(
            net.step(state, &SVector::from_column_slice(&input[t * 3..t * 3 + 3])).as_slice(),
        );
    }
    streamed
}
