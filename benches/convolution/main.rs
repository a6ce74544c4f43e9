//! Convolutional networks, nn against a hand-written im2col + GEMM baseline (`baseline.rs`,
//! on nalgebra's GEMM), from the same parameters, in the same run; each pair is checked to
//! compute the same loss (training) or logits (inference) before timing.
//!
//! - `lenet`: LeNet-5 on 28×28 MNIST-sized inputs (conv 1→6 k5, relu, max-pool 2, conv
//!   6→16 k5, relu, max-pool 2, flatten 256, dense 120, 84, 10): an SGD step on 64 samples
//!   and inference on 256, on one and two threads.
//! - `separable`: a depthwise-separable block on `[32, 16, 16]` (depthwise 3×3, pointwise
//!   1×1 to 64 channels, global average pooling, dense 10): a step on 32, inference on 64.
//! - `signal`: a conv1d stack on a `[1, 256]` signal (k7 16 ch, pool, k5 32 ch, pool, k3 32
//!   ch, global average, dense 5): a step on 32, inference on 256.
//!
//! `cargo bench --bench convolution` ends with a table of samples per second and ratios
//! (baseline time over nn's: > 1 means nn is faster), nn's fraction of this machine's sgemm
//! peak on LeNet-5, and the PyTorch figures to compare by hand (`lenet.py` beside this file,
//! run separately; the tests never need PyTorch).

// Criterion's `|b| b.iter(|| …)` closures read best as one expression each.
#![allow(clippy::semicolon_if_nothing_returned)]

mod baseline;
#[path = "../common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use baseline::{Conv, Dense, Layer, Model};
use common::{loss, median};
use criterion::{BenchmarkId, Criterion, Throughput};
use nn::prelude::*;
use rand::Rng;

nn::network! {
    struct LeNet {
        input(1, 28, 28),
        conv2d(1 -> 6, kernel = 5, relu),
        max_pool2d(2),
        conv2d(16, kernel = 5, relu),
        max_pool2d(2),
        flatten,
        dense(120, relu),
        dense(84, relu),
        dense(10),
    }
}

nn::network! {
    struct Separable {
        input(32, 16, 16),
        conv2d(32 -> 32, kernel = 3, padding = 1, groups = 32, relu),
        conv2d(64, kernel = 1, relu),
        global_avg_pool,
        dense(10),
    }
}

nn::network! {
    struct Signal {
        input(1, 256),
        conv1d(1 -> 16, kernel = 7, padding = 3, relu),
        max_pool1d(2),
        conv1d(32, kernel = 5, padding = 2, relu),
        max_pool1d(2),
        conv1d(32, kernel = 3, padding = 1, relu),
        global_avg_pool,
        dense(5),
    }
}

const LEARNING_RATE: f64 = 0.01;

/// Multiply-adds of one LeNet-5 sample's forward pass: the two convolutions and the three
/// dense layers (pooling and activations are not multiply-adds).
const LENET_FORWARD_MACS: usize = 6 * 24 * 24 * 25 + 16 * 8 * 8 * 150 + 256 * 120 + 120 * 84 + 84 * 10;
/// Multiply-adds of one LeNet-5 training sample: forward, both gradients of every layer but
/// the first convolution's input gradient (nobody needs it).
const LENET_TRAIN_MACS: usize = 3 * LENET_FORWARD_MACS - 6 * 24 * 24 * 25;

fn lenet_layers() -> Vec<Layer> {
    vec![
        Layer::Conv(Conv::new((1, 6, 1), [28, 28], [5, 5], [0, 0])),
        Layer::Relu,
        Layer::MaxPool { input: [24, 24], size: [2, 2], argmax: Vec::new() },
        Layer::Conv(Conv::new((6, 16, 1), [12, 12], [5, 5], [0, 0])),
        Layer::Relu,
        Layer::MaxPool { input: [8, 8], size: [2, 2], argmax: Vec::new() },
        Layer::Dense(Dense::new(256, 120)),
        Layer::Relu,
        Layer::Dense(Dense::new(120, 84)),
        Layer::Relu,
        Layer::Dense(Dense::new(84, 10)),
    ]
}

fn separable_layers() -> Vec<Layer> {
    vec![
        Layer::Conv(Conv::new((32, 32, 32), [16, 16], [3, 3], [1, 1])),
        Layer::Relu,
        Layer::Conv(Conv::new((32, 64, 1), [16, 16], [1, 1], [0, 0])),
        Layer::Relu,
        Layer::GlobalAverage { plane: 256 },
        Layer::Dense(Dense::new(64, 10)),
    ]
}

fn signal_layers() -> Vec<Layer> {
    vec![
        Layer::Conv(Conv::new((1, 16, 1), [1, 256], [1, 7], [0, 3])),
        Layer::Relu,
        Layer::MaxPool { input: [1, 256], size: [1, 2], argmax: Vec::new() },
        Layer::Conv(Conv::new((16, 32, 1), [1, 128], [1, 5], [0, 2])),
        Layer::Relu,
        Layer::MaxPool { input: [1, 128], size: [1, 2], argmax: Vec::new() },
        Layer::Conv(Conv::new((32, 32, 1), [1, 64], [1, 3], [0, 1])),
        Layer::Relu,
        Layer::GlobalAverage { plane: 64 },
        Layer::Dense(Dense::new(32, 5)),
    ]
}

/// Seeded inputs in [0, 1) and class labels.
fn data(features: usize, classes: usize, samples: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = nn::init::seeded_rng(seed);
    let inputs = (0..features * samples).map(|_| rng.random::<f32>()).collect();
    (inputs, (0..samples).map(|_| rng.random_range(0..classes)).collect())
}

#[track_caller]
fn assert_same(what: &str, nn: &[f32], baseline: &[f32]) {
    assert_eq!(nn.len(), baseline.len(), "{what}");
    for (a, b) in nn.iter().zip(baseline) {
        assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{what}: nn {a} vs baseline {b}");
    }
}

/// One workload: a training step on `batch` samples and inference on `wide`, nn (on one
/// and, when asked, two threads) against the baseline.
fn workload<N: Network<f32, Input = f32> + Clone>(
    c: &mut Criterion,
    name: &str,
    (layers, classes): (fn() -> Vec<Layer>, usize),
    (batch, wide): (usize, usize),
    two_threads: bool,
) {
    let net = N::initialise(&mut nn::init::seeded_rng(1));
    let (inputs, labels) = data(N::INPUTS, classes, wide.max(batch), 2);
    let targets: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    let mut group = c.benchmark_group(name);
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));

    let x = &inputs[..wide * N::INPUTS];
    let mut workspace = N::Workspace::default();
    let mut reference = Model::new(layers(), N::INPUTS, net.parameters());
    assert_same(&format!("{name} inference"), net.infer(x, &mut workspace).unwrap(), reference.forward(x));
    group.throughput(Throughput::Elements(wide as u64));
    let threads: &[usize] = if two_threads { &[1, 2] } else { &[1] };
    for &count in threads {
        nn::gemm::set_threads(count);
        group.bench_function(BenchmarkId::new(format!("inference/{wide}"), label(count)), |b| {
            b.iter(|| net.infer(black_box(x), &mut workspace).map(|o| o[0]))
        });
    }
    nn::gemm::set_threads(1);
    group.bench_function(BenchmarkId::new(format!("inference/{wide}"), "baseline"), |b| {
        b.iter(|| reference.forward(black_box(x))[0])
    });

    let (x, y, classes) = (&inputs[..batch * N::INPUTS], &targets[..batch], &labels[..batch]);
    let mut trainer = Trainer::new(net.clone(), SoftmaxCrossEntropy, Sgd::with_learning_rate(LEARNING_RATE));
    let mut reference = Model::new(layers(), N::INPUTS, net.parameters());
    for step in 0..2 {
        let (ours, theirs) = (trainer.step(x, y).unwrap(), reference.step(x, classes, LEARNING_RATE as f32));
        assert_same(&format!("{name} training loss, step {step}"), &[ours], &[theirs]);
    }
    group.throughput(Throughput::Elements(batch as u64));
    for &count in threads {
        nn::gemm::set_threads(count);
        group.bench_function(BenchmarkId::new(format!("train/{batch}"), label(count)), |b| {
            b.iter(|| loss(trainer.step(black_box(x), y)))
        });
    }
    nn::gemm::set_threads(1);
    group.bench_function(BenchmarkId::new(format!("train/{batch}"), "baseline"), |b| {
        b.iter(|| reference.step(black_box(x), classes, LEARNING_RATE as f32))
    });
    group.finish();
}

fn label(threads: usize) -> &'static str {
    if threads == 1 { "nn" } else { "nn-2-threads" }
}

/// Reads criterion's medians and prints samples per second, ratios and LeNet-5's GFLOP/s.
fn report() {
    let rows: &[(&str, &str, usize)] = &[
        ("lenet", "train/64", 64),
        ("lenet", "inference/256", 256),
        ("separable", "train/32", 32),
        ("separable", "inference/64", 64),
        ("signal", "train/32", 32),
        ("signal", "inference/256", 256),
    ];
    println!(
        "\n{:<10} {:<14} {:>12} {:>14} {:>12} {:>10} {:>10}",
        "", "", "nn samples/s", "nn 2 thr/s", "baseline/s", "ratio", "2 thr"
    );
    for &(group, function, samples) in rows {
        let rate =
            |parameter: &str| median(group, function, parameter).map(|ns| samples as f64 / (ns * 1e-9));
        let show = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}×", a / b),
            _ => "-".to_owned(),
        };
        let (one, two, base) = (rate("nn"), rate("nn-2-threads"), rate("baseline"));
        println!(
            "{group:<10} {function:<14} {:>12} {:>14} {:>12} {:>10} {:>10}",
            show(one),
            show(two),
            show(base),
            ratio(one, base),
            ratio(two, base)
        );
    }
    let gflops = |group: &str, function: &str, parameter: &str, samples: usize, macs: usize| {
        median(group, function, parameter).map(|ns| (2 * macs * samples) as f64 / ns)
    };
    if let (Some(train), Some(infer)) = (
        gflops("lenet", "train/64", "nn", 64, LENET_TRAIN_MACS),
        gflops("lenet", "inference/256", "nn", 256, LENET_FORWARD_MACS),
    ) {
        println!(
            "\nLeNet-5, exact FLOPs ({} forward, {} training per sample): nn trains at {train:.1} GFLOP/s and infers at {infer:.1} GFLOP/s on one thread",
            2 * LENET_FORWARD_MACS,
            2 * LENET_TRAIN_MACS
        );
    }
    println!(
        "PyTorch 2.15, from the issue (2-core EPYC, 100 GFLOP/s sgemm peak): LeNet-5 trains at 12.4k samples/s and infers at 26.1k on one thread, 20.1k and 57.9k on two; run benches/convolution/lenet.py for this machine's."
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    workload::<LeNet<f32>>(&mut criterion, "lenet", (lenet_layers, 10), (64, 256), true);
    workload::<Separable<f32>>(&mut criterion, "separable", (separable_layers, 10), (32, 64), false);
    workload::<Signal<f32>>(&mut criterion, "signal", (signal_layers, 5), (32, 256), false);
    criterion.final_summary();
    report();
}
