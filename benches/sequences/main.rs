//! Sequence networks, nn against hand-written nalgebra versions (`baseline.rs`) from the
//! same parameters, in the same run; each pair is checked to compute the same outputs
//! before timing.
//!
//! - `stream`: one step of one sample, f32, inputs of width 1 as in RTNeural-compare: a GRU
//!   or LSTM of 8 or 64 units followed by a dense `H → 1` (`Net::step` against a
//!   fixed-size nalgebra cell).
//!
//! - `train`: one SGD step of backpropagation through time on 32 sequences of 64 steps of
//!   16 features, a GRU or LSTM of 64 units and a dense read-out at every step, mean squared
//!   error over every step (the hand-written version: time-major nalgebra GEMMs).
//!
//! - `encoder`: a 2-layer pre-norm transformer encoder (T = 32, E = 64, 4 heads, relu
//!   feed-forward of 256, mean over the steps, 10 classes): an SGD step on 32 sequences and
//!   inference on 64 (the hand-written version: `transformer.rs`).
//!
//! `cargo bench --bench sequences` ends with a table of nanoseconds per step and ratios
//! (baseline time over nn's: > 1 means nn is faster), beside RTNeural's figures from the
//! issue (measured elsewhere; see BENCHMARKS.md for this machine's).

// Criterion's `|b| b.iter(|| …)` closures read best as one expression each.
#![allow(clippy::semicolon_if_nothing_returned)]

mod baseline;
#[path = "../common/mod.rs"]
mod common;
mod transformer;

use std::hint::black_box;
use std::time::Duration;

use common::{loss, median};
use criterion::{BenchmarkId, Criterion};
use nn::prelude::*;
use rand::Rng;

nn::network! { struct Gru8 { input(1, 1), gru(1 -> 8), dense(1) } }
nn::network! { struct Gru64 { input(1, 1), gru(1 -> 64), dense(1) } }
nn::network! { struct Lstm8 { input(1, 1), lstm(1 -> 8), dense(1) } }
nn::network! { struct Lstm64 { input(1, 1), lstm(1 -> 64), dense(1) } }
nn::network! { struct GruTrain { input(64, 16), gru(16 -> 64), dense(1) } }
nn::network! { struct LstmTrain { input(64, 16), lstm(16 -> 64), dense(1) } }

nn::network! {
    /// A 2-layer pre-norm transformer encoder (T = 32, E = 64, 4 heads, a relu feed-forward
    /// layer of 256) and a classifier on the mean over the steps.
    struct Encoder {
        input(32, 64),
        residual { layer_norm, self_attention(heads = 4) },
        residual { layer_norm, dense(256, relu), dense(64) },
        residual { layer_norm, self_attention(heads = 4) },
        residual { layer_norm, dense(256, relu), dense(64) },
        layer_norm,
        mean_over_steps,
        dense(10),
    }
}

/// Sequence training: batch 32 of 64 steps of 16 features, 64 hidden units, a target per step.
const BATCH: usize = 32;
const STEPS: usize = 64;
const LEARNING_RATE: f32 = 0.01;

/// A signal of `len` values in [−1, 1).
fn signal(len: usize) -> Vec<f32> {
    let mut rng = nn::init::seeded_rng(2);
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Steps per timed iteration: the state carries on, as in a real-time stream.
const STREAM: usize = 256;

macro_rules! stream {
    ($c:expr, $name:literal, $net:ident, $state:ident, $baseline:ty) => {{
        let net = $net::<f32>::seeded(1);
        let mut reference = <$baseline>::new(net.parameters());
        let input = signal(STREAM);
        let mut state = $state::new();
        for (t, &x) in input.iter().enumerate() {
            let (ours, theirs) = (net.step(&mut state, &SVector::from([x]))[0], reference.step(x));
            assert!(
                (ours - theirs).abs() <= 1e-5 * theirs.abs().max(1.0),
                "{} step {t}: {ours} vs {theirs}",
                $name
            );
        }
        let mut group = $c.benchmark_group("stream");
        group
            .sample_size(30)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        group.bench_function(BenchmarkId::new($name, "nn"), |b| {
            b.iter(|| {
                let mut last = 0.0;
                for &x in &input {
                    last = net.step(&mut state, &SVector::from([black_box(x)]))[0];
                }
                last
            })
        });
        group.bench_function(BenchmarkId::new($name, "baseline"), |b| {
            b.iter(|| {
                let mut last = 0.0;
                for &x in &input {
                    last = reference.step(black_box(x));
                }
                last
            })
        });
        group.finish();
    }};
}

/// One SGD step on a batch of 32 sequences, nn against the hand-written BPTT.
fn train<N: Network<f32, Input = f32> + Clone>(c: &mut Criterion, name: &str, cell: baseline::Cell) {
    let net = N::initialise(&mut nn::init::seeded_rng(1));
    let inputs = signal(BATCH * N::INPUTS);
    let targets = signal(BATCH * STEPS).iter().map(|t| t * 0.5).collect::<Vec<_>>();
    let mut reference = baseline::Sequence::new(cell, 16, 64, net.parameters());
    let mut trainer = Trainer::new(net, MeanSquaredError, Sgd::with_learning_rate(f64::from(LEARNING_RATE)));
    for step in 0..3 {
        let ours = trainer.step(&inputs, &targets).unwrap();
        let theirs = reference.step(&inputs, &targets, STEPS, LEARNING_RATE);
        assert!((ours - theirs).abs() <= 1e-4 * theirs.abs(), "{name} step {step}: loss {ours} vs {theirs}");
    }
    let mut group = c.benchmark_group("train");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    group.bench_function(BenchmarkId::new(name, "nn"), |b| {
        b.iter(|| loss(trainer.step(black_box(&inputs), &targets)))
    });
    group.bench_function(BenchmarkId::new(name, "baseline"), |b| {
        b.iter(|| reference.step(black_box(&inputs), &targets, STEPS, LEARNING_RATE))
    });
    group.finish();
}

/// The transformer encoder: an SGD step on 32 sequences and inference on 64.
fn encoder(c: &mut Criterion) {
    let net = Encoder::<f32>::seeded(1);
    let inputs = signal(64 * Encoder::<f32>::INPUTS);
    let mut rng = nn::init::seeded_rng(3);
    let classes: Vec<usize> = (0..64).map(|_| rng.random_range(0..10)).collect();
    let targets: Vec<f32> = classes.iter().map(|&c| c as f32).collect();
    let mut reference = transformer::Transformer::new(net.parameters(), (32, 64, 256, 10, 2));
    let mut workspace = Encoder::<f32>::workspace();
    let ours = net.infer(&inputs, &mut workspace).unwrap().to_vec();
    let theirs = reference.infer(&inputs);
    for (n, (a, b)) in ours.chunks(10).zip(theirs.row_iter()).enumerate() {
        for (x, y) in a.iter().zip(b.iter()) {
            assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "encoder logits, sample {n}: {x} vs {y}");
        }
    }
    let train = &inputs[..32 * Encoder::<f32>::INPUTS];
    let mut trainer =
        Trainer::new(net.clone(), SoftmaxCrossEntropy, Sgd::with_learning_rate(f64::from(LEARNING_RATE)));
    for step in 0..2 {
        let ours = trainer.step(train, &targets[..32]).unwrap();
        let theirs = reference.step(train, &classes[..32], LEARNING_RATE);
        assert!((ours - theirs).abs() <= 1e-4 * theirs.abs(), "encoder step {step}: loss {ours} vs {theirs}");
    }
    let mut group = c.benchmark_group("encoder");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    group.bench_function(BenchmarkId::new("train", "nn"), |b| {
        b.iter(|| loss(trainer.step(black_box(train), &targets[..32])))
    });
    group.bench_function(BenchmarkId::new("train", "baseline"), |b| {
        b.iter(|| reference.step(black_box(train), &classes[..32], LEARNING_RATE))
    });
    group.bench_function(BenchmarkId::new("inference", "nn"), |b| {
        b.iter(|| net.infer(black_box(&inputs), &mut workspace).map(|o| o[0]))
    });
    group.bench_function(BenchmarkId::new("inference", "baseline"), |b| {
        b.iter(|| reference.infer(black_box(&inputs))[0])
    });
    group.finish();
}

fn report() {
    println!("\n{:<18} {:>14} {:>14} {:>8}", "encoder", "nn samples/s", "baseline/s", "ratio");
    for (name, samples) in [("train", 32.0), ("inference", 64.0)] {
        let rate = |who: &str| median("encoder", name, who).map(|ns| samples * 1e9 / ns);
        if let (Some(ours), Some(theirs)) = (rate("nn"), rate("baseline")) {
            println!("{name:<18} {ours:>14.0} {theirs:>14.0} {:>7.2}×", ours / theirs);
        }
    }
    println!("\n{:<10} {:>12} {:>14} {:>8}", "train", "nn batch/s", "baseline/s", "ratio");
    for name in ["gru", "lstm"] {
        let rate = |who: &str| median("train", name, who).map(|ns| 1e9 / ns);
        if let (Some(ours), Some(theirs)) = (rate("nn"), rate("baseline")) {
            println!("{name:<10} {ours:>12.1} {theirs:>14.1} {:>7.2}×", ours / theirs);
        }
    }
    println!(
        "\n{:<10} {:>10} {:>14} {:>8} {:>22}",
        "stream", "nn ns", "baseline ns", "ratio", "RTNeural best (issue)"
    );
    for (name, rtneural) in [("gru-8", 62.9), ("gru-64", 607.0), ("lstm-8", 65.3), ("lstm-64", 856.0)] {
        let per_step = |who: &str| median("stream", name, who).map(|ns| ns / STREAM as f64);
        if let (Some(ours), Some(theirs)) = (per_step("nn"), per_step("baseline")) {
            println!("{name:<10} {ours:>10.1} {theirs:>14.1} {:>7.2}× {rtneural:>22.1}", theirs / ours);
        }
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    stream!(criterion, "gru-8", Gru8, Gru8State, baseline::GruStream<8, 24>);
    stream!(criterion, "gru-64", Gru64, Gru64State, baseline::GruStream<64, 192>);
    stream!(criterion, "lstm-8", Lstm8, Lstm8State, baseline::LstmStream<8, 32>);
    stream!(criterion, "lstm-64", Lstm64, Lstm64State, baseline::LstmStream<64, 256>);
    train::<GruTrain<f32>>(&mut criterion, "gru", baseline::Cell::Gru);
    train::<LstmTrain<f32>>(&mut criterion, "lstm", baseline::Cell::Lstm);
    encoder(&mut criterion);
    criterion.final_summary();
    report();
}
