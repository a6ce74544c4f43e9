//! The benchmark suite: W1–W4 from the performance issue, a network fanning 16 inputs out to
//! 1024 (its weight gradient, 1024 × 16 × 64, a product one vector wide) and the digits
//! example's epoch, each run by nn's generated network and by a hand-written nalgebra
//! implementation of the same network (`baseline.rs`), from the same parameters, in the
//! same run. Before timing, each pair is checked to compute the same loss or output.
//!
//! `cargo bench --bench networks` runs everything and ends with a table of ratios (nn's
//! speed over nalgebra's, > 1 means nn is faster), which is what `BENCHMARKS.md` tracks.
//! Pass a filter to run part of it: `cargo bench --bench networks -- W3`.

// Criterion's `|b| b.iter(|| …)` closures read best as one expression each.
#![allow(clippy::semicolon_if_nothing_returned)]

mod alternated;
mod baseline;
#[path = "../common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use common::{loss, median};
use criterion::{BenchmarkId, Criterion, Throughput};
use nalgebra::{DMatrix, SMatrix, SVector};
use nn::prelude::*;
use rand::Rng;

nn::network! { struct W1 { dense(2 -> 3, sigmoid), dense(3 -> 1, sigmoid) } }
nn::network! { struct W2 { dense(64 -> 32, relu), dense(32 -> 10) } }
nn::network! { struct W3 { dense(784 -> 128, relu), dense(128 -> 10) } }
nn::network! { struct W4 { dense(784 -> 512, relu), dense(512 -> 512, relu), dense(512 -> 10) } }
nn::network! { struct Fan { dense(16 -> 1024, relu), dense(1024 -> 10) } }
nn::network! { struct Digits { dense(64 -> 128, relu), dropout(0.2), dense(128 -> 64, relu), dense(64 -> 10) } }

nn::network! { struct Tanh4 { dense(1 -> 4, tanh), dense(4 -> 4, tanh), dense(4 -> 1) } }
nn::network! { struct Tanh8 { dense(1 -> 8, tanh), dense(8 -> 8, tanh), dense(8 -> 1) } }
nn::network! { struct Tanh16 { dense(1 -> 16, tanh), dense(16 -> 16, tanh), dense(16 -> 1) } }
nn::network! { struct Tanh32 { dense(1 -> 32, tanh), dense(32 -> 32, tanh), dense(32 -> 1) } }
nn::network! { struct Tanh64 { dense(1 -> 64, tanh), dense(64 -> 64, tanh), dense(64 -> 1) } }

const LEARNING_RATE: f64 = 0.1;

/// Seeded inputs in [0, 1) and class labels.
fn data(features: usize, classes: usize, samples: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<usize>) {
    let mut rng = nn::init::seeded_rng(seed);
    let inputs = (0..features * samples).map(|_| rng.random::<f32>()).collect();
    let labels: Vec<usize> = (0..samples).map(|_| rng.random_range(0..classes)).collect();
    (inputs, labels.iter().map(|&l| l as f32).collect(), labels)
}

type Group<'c> = criterion::BenchmarkGroup<'c, criterion::measurement::WallTime>;

fn configure<'c>(c: &'c mut Criterion, group: &str) -> Group<'c> {
    let mut group = c.benchmark_group(group);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500));
    group
}

/// Times `ours` against `theirs` as `function` of the group `name`: with criterion, as
/// `function/nn` and `function/nalgebra`, then by alternation ([`alternated`]).
fn compare<A, B>(
    group: &mut Group<'_>,
    name: &str,
    function: &str,
    mut ours: impl FnMut() -> A,
    mut theirs: impl FnMut() -> B,
) {
    group.bench_function(BenchmarkId::new(function, "nn"), |b| b.iter(&mut ours));
    group.bench_function(BenchmarkId::new(function, "nalgebra"), |b| b.iter(&mut theirs));
    alternated::record(name, function, &mut ours, &mut theirs);
}

#[track_caller]
fn assert_same(what: &str, nn: f32, nalgebra: f32) {
    assert!(
        (nn - nalgebra).abs() <= 1e-4 * nalgebra.abs().max(1.0),
        "{what}: nn {nn} vs nalgebra {nalgebra}"
    );
}

fn w1(c: &mut Criterion) {
    let net = W1::<f32>::seeded(1);
    let base = baseline::Xor::from_parameters(net.parameters());
    let (inputs, targets, _) = data(2, 2, 256, 2);
    let x = SVector::<f32, 2>::new(inputs[0], inputs[1]);
    assert_same("W1 forward", net.forward(&x)[0], base.forward(x)[0]);
    let mut group = configure(c, "W1");
    group.throughput(Throughput::Elements(1));
    compare(&mut group, "W1", "inference/1", || net.forward(black_box(&x)), || base.forward(black_box(x)));

    group.throughput(Throughput::Elements(256));
    let mut workspace = W1::workspace();
    let columns: Vec<SVector<f32, 2>> = inputs.chunks(2).map(SVector::<f32, 2>::from_column_slice).collect();
    let mut outputs = vec![0.0_f32; 256];
    compare(
        &mut group,
        "W1",
        "inference/256",
        || net.infer(black_box(&inputs), &mut workspace).map(|o| o[0]),
        || {
            for (o, x) in outputs.iter_mut().zip(&columns) {
                *o = base.forward(black_box(*x))[0];
            }
        },
    );

    for batch in [1, 4] {
        let (x, y) = (&inputs[..2 * batch], &targets[..batch]);
        let mut trainer = Trainer::new(net.clone(), MeanSquaredError, Sgd::with_learning_rate(LEARNING_RATE));
        let mut reference = base.clone();
        let nn_loss = trainer.step(x, y).unwrap();
        let base_loss = match batch {
            1 => reference.step::<1>(&SMatrix::from_column_slice(x), &SMatrix::from_column_slice(y), 0.1),
            _ => reference.step::<4>(&SMatrix::from_column_slice(x), &SMatrix::from_column_slice(y), 0.1),
        };
        assert_same("W1 training loss", nn_loss, base_loss);
        group.throughput(Throughput::Elements(batch as u64));
        let function = format!("train/{batch}");
        let ours = || loss(trainer.step(black_box(x), y));
        if batch == 1 {
            let (xs, ys) =
                (SMatrix::<f32, 2, 1>::from_column_slice(x), SMatrix::<f32, 1, 1>::from_column_slice(y));
            compare(&mut group, "W1", &function, ours, || reference.step::<1>(black_box(&xs), &ys, 0.1));
        } else {
            let (xs, ys) =
                (SMatrix::<f32, 2, 4>::from_column_slice(x), SMatrix::<f32, 1, 4>::from_column_slice(y));
            compare(&mut group, "W1", &function, ours, || reference.step::<4>(black_box(&xs), &ys, 0.1));
        }
    }
    group.finish();
}

/// RTNeural's real-time shape 1 → W tanh → W tanh → 1, one sample per call: nn against the
/// hand-written static network with the platform's `tanhf`.
fn tanh_mlp<N: Network<f32, Input = f32> + Clone, const W: usize>(
    group: &mut Group<'_>,
    forward: impl Fn(&N, f32) -> f32,
) {
    let net = N::initialise(&mut nn::init::seeded_rng(11));
    let base = baseline::TanhMlp::<W>::from_parameters(net.parameters());
    let inputs: Vec<f32> = (0..64).map(|i| (i as f32 / 32.0 - 1.0) * 2.0).collect();
    for &x in &inputs {
        assert_same(&format!("tanh {W}"), forward(&net, x), base.forward(x));
    }
    let (mut i, mut j) = (0, 0);
    compare(
        group,
        "rtneural",
        &format!("W={W}"),
        || {
            i = (i + 1) % inputs.len();
            forward(&net, black_box(inputs[i]))
        },
        || {
            j = (j + 1) % inputs.len();
            base.forward(black_box(inputs[j]))
        },
    );
}

/// A minibatch training step (mean squared error, SGD) on RTNeural's shape, by nn and by the
/// hand-written static network, after checking both compute the same losses.
fn tanh_mlp_training<N: Network<f32, Input = f32> + Clone, const W: usize, const B: usize>(
    group: &mut Group<'_>,
) {
    let net = N::initialise(&mut nn::init::seeded_rng(11));
    let mut base = baseline::TanhMlp::<W>::from_parameters(net.parameters());
    let x: Vec<f32> = (0..B).map(|i| (i as f32 / B as f32 - 0.5) * 4.0).collect();
    let y: Vec<f32> = x.iter().map(|x| (x * 1.3).sin()).collect();
    let (xs, ys) = (SMatrix::<f32, 1, B>::from_column_slice(&x), SMatrix::<f32, 1, B>::from_column_slice(&y));
    let mut trainer = Trainer::new(net, MeanSquaredError, Sgd::with_learning_rate(LEARNING_RATE));
    for step in ["first", "second"] {
        assert_same(
            &format!("tanh {W} training, {step} step"),
            trainer.step(&x, &y).unwrap(),
            base.step(&xs, &ys, 0.1),
        );
    }
    group.throughput(Throughput::Elements(B as u64));
    compare(
        group,
        "rtneural",
        &format!("W={W} train/{B}"),
        || loss(trainer.step(black_box(&x), &y)),
        || base.step(black_box(&xs), &ys, 0.1),
    );
}

fn rtneural(c: &mut Criterion) {
    let mut group = configure(c, "rtneural");
    group.throughput(Throughput::Elements(1));
    tanh_mlp::<Tanh4<f32>, 4>(&mut group, |n, x| n.forward(&SVector::from([x]))[0]);
    tanh_mlp::<Tanh8<f32>, 8>(&mut group, |n, x| n.forward(&SVector::from([x]))[0]);
    tanh_mlp::<Tanh16<f32>, 16>(&mut group, |n, x| n.forward(&SVector::from([x]))[0]);
    tanh_mlp::<Tanh32<f32>, 32>(&mut group, |n, x| n.forward(&SVector::from([x]))[0]);
    tanh_mlp::<Tanh64<f32>, 64>(&mut group, |n, x| n.forward(&SVector::from([x]))[0]);
    tanh_mlp_training::<Tanh16<f32>, 16, 32>(&mut group);
    group.finish();
}

/// One sample through a network, returning its first output.
type OneSample<'a, N> = &'a dyn Fn(&N, &[f32]) -> f32;

/// One sample through a hand-written static network.
type OneSampleBaseline<'a> = Option<&'a dyn Fn(&[f32]) -> f32>;

/// Inference at 1 and 256 samples and minibatch training for an MLP workload; for a
/// `large` one (W3, W4) also on two threads, and training against the sgemm peak
/// ([`share_of_peak`]).
fn mlp<N: Network<f32, Input = f32> + Clone>(
    c: &mut Criterion,
    name: &str,
    sizes: &[usize],
    batch: usize,
    one_sample: OneSample<'_, N>,
    one_sample_baseline: OneSampleBaseline<'_>,
    large: bool,
) {
    let net = N::initialise(&mut nn::init::seeded_rng(3));
    let (inputs, targets, labels) = data(N::INPUTS, N::OUTPUTS, 256, 4);
    let mut group = configure(c, name);

    group.throughput(Throughput::Elements(1));
    let sample = &inputs[..N::INPUTS];
    let mut single = baseline::Mlp::from_parameters(sizes, net.parameters(), 1, 0.0);
    let single_input = DMatrix::from_column_slice(N::INPUTS, 1, sample);
    assert_same(&format!("{name} one sample"), one_sample(&net, sample), single.infer(&single_input)[0]);
    let ours = || one_sample(&net, black_box(sample));
    match one_sample_baseline {
        Some(forward) => compare(&mut group, name, "inference/1", ours, || forward(black_box(sample))),
        None => compare(&mut group, name, "inference/1", ours, || single.infer(black_box(&single_input))[0]),
    }

    group.throughput(Throughput::Elements(256));
    let mut workspace = N::Workspace::default();
    let mut wide = baseline::Mlp::from_parameters(sizes, net.parameters(), 256, 0.0);
    let all = DMatrix::from_column_slice(N::INPUTS, 256, &inputs);
    assert_same(
        &format!("{name} batch"),
        net.infer(&inputs, &mut workspace).unwrap()[0],
        wide.infer(&all)[0],
    );
    let mut infer = || net.infer(black_box(&inputs), &mut workspace).map(|o| o[0]);
    compare(&mut group, name, "inference/256", &mut infer, || wide.infer(black_box(&all))[0]);
    if large {
        on_two_threads(&mut group, name, "inference/256", &mut infer);
    }

    group.throughput(Throughput::Elements(batch as u64));
    let (x, y) = (&inputs[..N::INPUTS * batch], &targets[..batch]);
    let mut trainer = Trainer::new(net.clone(), SoftmaxCrossEntropy, Sgd::with_learning_rate(LEARNING_RATE));
    let mut reference = baseline::Mlp::from_parameters(sizes, net.parameters(), batch, 0.0);
    let xs = DMatrix::from_column_slice(N::INPUTS, batch, x);
    assert_same(
        &format!("{name} training loss"),
        trainer.step(x, y).unwrap(),
        reference.step(&xs, &labels[..batch], 0.1),
    );
    assert_same(
        &format!("{name} second step"),
        trainer.step(x, y).unwrap(),
        reference.step(&xs, &labels[..batch], 0.1),
    );
    let function = format!("train/{batch}");
    let mut step = || loss(trainer.step(black_box(x), y));
    compare(&mut group, name, &function, &mut step, || reference.step(black_box(&xs), &labels[..batch], 0.1));
    if large {
        on_two_threads(&mut group, name, &function, &mut step);
        share_of_peak(name, &function, training_flops(sizes) * batch as f64, &mut step);
    }
    group.finish();
}

/// `run` on two threads, as `function/nn-2-threads`, with criterion and by alternation with
/// one thread.
fn on_two_threads<A>(group: &mut Group<'_>, name: &str, function: &str, run: &mut impl FnMut() -> A) {
    nn::gemm::set_threads(2);
    group.bench_function(BenchmarkId::new(function, "nn-2-threads"), |b| b.iter(&mut *run));
    nn::gemm::set_threads(1);
    alternated::record_threads(name, function, run);
}

fn w2(c: &mut Criterion) {
    let net = W2::<f32>::seeded(3);
    let fixed = baseline::SmallStatic::from_parameters(net.parameters());
    let forward = |x: &[f32]| fixed.forward(&SVector::<f32, 64>::from_column_slice(x))[0];
    mlp::<W2<f32>>(
        c,
        "W2",
        &[64, 32, 10],
        32,
        &|n, x| n.forward(&SVector::from_column_slice(x))[0],
        Some(&forward),
        false,
    );
}

fn w3(c: &mut Criterion) {
    mlp::<W3<f32>>(
        c,
        "W3",
        &[784, 128, 10],
        64,
        &|n, x| n.forward(&SVector::from_column_slice(x))[0],
        None,
        true,
    );
}

fn w4(c: &mut Criterion) {
    mlp::<W4<f32>>(
        c,
        "W4",
        &[784, 512, 512, 10],
        64,
        &|n, x| n.forward(&SVector::from_column_slice(x))[0],
        None,
        true,
    );
}

/// A narrow input fanned out wide: the products of its first layer are 16 deep or 16 wide
/// (its weight gradient 1024 × 16 × 64), where the GEMM's edge tiles do all the work.
fn fan(c: &mut Criterion) {
    mlp::<Fan<f32>>(
        c,
        "fan",
        &[16, 1024, 10],
        64,
        &|n, x| n.forward(&SVector::from_column_slice(x))[0],
        None,
        false,
    );
}

/// One epoch of the digits example's network (with its dropout) over 1438 samples in
/// minibatches of 32, SGD for both implementations.
fn digits(c: &mut Criterion) {
    let samples = 1438;
    let net = Digits::<f32>::seeded(5);
    let (inputs, targets, labels) = data(64, 10, samples, 6);
    let dataset = Dataset::new(64, 1, inputs.clone(), targets).unwrap();
    let mut trainer = Trainer::new(net.clone(), SoftmaxCrossEntropy, Sgd::with_learning_rate(LEARNING_RATE));
    let config = FitConfig { epochs: 1, batch_size: 32, shuffle: false, early_stopping: None };
    let mut reference = baseline::Mlp::from_parameters(&[64, 128, 64, 10], net.parameters(), 32, 0.2);
    let batches: Vec<(DMatrix<f32>, Vec<usize>)> = inputs
        .chunks(64 * 32)
        .zip(labels.chunks(32))
        .filter(|(x, _)| x.len() == 64 * 32)
        .map(|(x, l)| (DMatrix::from_column_slice(64, 32, x), l.to_vec()))
        .collect();
    let mut group = configure(c, "digits");
    group.throughput(Throughput::Elements(samples as u64));
    compare(
        &mut group,
        "digits",
        "epoch",
        || trainer.fit(black_box(&dataset), &config),
        || {
            for (x, l) in &batches {
                reference.step(black_box(x), l, 0.1);
            }
        },
    );
    group.finish();
}

/// The products that dominate W3 and W4: nn's packed GEMM (`nn::gemm::product`) against
/// nalgebra's (matrixmultiply, with its AVX-512 kernels), on the same column-major
/// matrices. The faster of the two is this machine's measured sgemm peak, against which
/// the training figures are judged.
const PRODUCTS: [(usize, usize, usize); 3] = [(256, 512, 784), (512, 784, 64), (64, 512, 512)];

/// One of [`PRODUCTS`], `C = A·B` (`m × n`, `k` deep): its seeded operands, column-major,
/// and nn's result, row-major.
struct Product {
    a: DMatrix<f32>,
    b: DMatrix<f32>,
    c: Vec<f32>,
    shape: (usize, usize, usize),
}

impl Product {
    fn new((m, n, k): (usize, usize, usize)) -> Self {
        let (a, _, _) = data(m, 1, k, 7);
        let (b, _, _) = data(k, 1, n, 8);
        let (a, b) = (DMatrix::from_column_slice(m, k, &a), DMatrix::from_column_slice(k, n, &b));
        Self { a, b, c: vec![0.0; m * n], shape: (m, n, k) }
    }

    /// `C = A·B` on nn's packed GEMM.
    fn run(&mut self) {
        let (m, n, k) = self.shape;
        // Element (r, t) of a column-major m × k matrix is at r + t·m.
        let (a, b) = (
            nn::gemm::Strided { data: self.a.as_slice(), row: 1, col: m },
            nn::gemm::Strided { data: self.b.as_slice(), row: 1, col: k },
        );
        nn::gemm::product(&mut self.c, n, black_box(a), b, (m, n, k), false);
    }
}

/// A product's name in the report, `256x512x784`.
fn product_name((m, n, k): (usize, usize, usize)) -> String {
    format!("{m}x{n}x{k}")
}

fn product_flops((m, n, k): (usize, usize, usize)) -> f64 {
    (2 * m * n * k) as f64
}

fn sgemm(c: &mut Criterion) {
    let mut group = configure(c, "sgemm");
    for shape in PRODUCTS {
        let mut ours = Product::new(shape);
        let (m, n, _) = shape;
        let (a, b) = (ours.a.clone(), ours.b.clone());
        let mut theirs = DMatrix::<f32>::zeros(m, n);
        ours.run();
        theirs.gemm(1.0, &a, &b, 0.0);
        assert_same("sgemm", ours.c[(m - 1) * n + n - 1], theirs[(m - 1, n - 1)]);
        assert_same("sgemm", ours.c[n / 2], theirs[(0, n / 2)]);
        group.throughput(Throughput::Elements(product_flops(shape) as u64));
        let theirs = || theirs.gemm(1.0, black_box(&a), &b, 0.0);
        compare(&mut group, "sgemm", &product_name(shape), || ours.run(), theirs);
    }
    group.finish();
}

/// Exact FLOPs of one sample's training step through dense layers of `sizes`: the forward
/// and weight-gradient products (`2·in·out` each) of every layer and the input gradient of
/// every layer but the first (W3: 409,088; W4: 3,209,216).
fn training_flops(sizes: &[usize]) -> f64 {
    let products: Vec<usize> = sizes.windows(2).map(|pair| pair[0] * pair[1]).collect();
    (4 * products.iter().sum::<usize>() + 2 * products[1..].iter().sum::<usize>()) as f64
}

/// The training steps [`share_of_peak`] measured: workload, step and FLOPs of a step.
static AGAINST_PEAK: Mutex<Vec<(String, String, f64)>> = Mutex::new(Vec::new());

/// Alternates a training step of `step_flops` with each of [`PRODUCTS`] ([`alternated`]):
/// the step's share of the peak from moments when both ran at one speed of the machine,
/// which criterion's medians, a second and a half of each, may not share
/// ([`report_peak`]).
fn share_of_peak<A>(name: &str, function: &str, step_flops: f64, step: &mut impl FnMut() -> A) {
    for shape in PRODUCTS {
        let mut product = Product::new(shape);
        let key = format!("{function} against {}", product_name(shape));
        alternated::record_warm(name, &key, step, &mut || product.run());
    }
    AGAINST_PEAK.lock().unwrap().push((name.to_owned(), function.to_owned(), step_flops));
}

/// The ratio [`alternated`] recorded for `group/function`, or `-`.
fn alternated_ratio(group: &str, function: &str) -> String {
    alternated::ratio(group, function).map_or_else(|| "-".to_owned(), |r| format!("{r:.2}×"))
}

/// Prints nn's speed relative to nalgebra's per benchmark: `ratio` from criterion's
/// medians, `alternated` the median ratio of adjacent blocks.
fn report() {
    let rows: &[(&str, &str, u64)] = &[
        ("W1", "inference/1", 1),
        ("W1", "inference/256", 256),
        ("W1", "train/1", 1),
        ("W1", "train/4", 4),
        ("W2", "inference/1", 1),
        ("W2", "inference/256", 256),
        ("W2", "train/32", 32),
        ("W3", "inference/1", 1),
        ("W3", "inference/256", 256),
        ("W3", "train/64", 64),
        ("W4", "inference/1", 1),
        ("W4", "inference/256", 256),
        ("W4", "train/64", 64),
        ("fan", "inference/1", 1),
        ("fan", "inference/256", 256),
        ("fan", "train/64", 64),
        ("digits", "epoch", 1438),
        ("rtneural", "W=4", 1),
        ("rtneural", "W=8", 1),
        ("rtneural", "W=16", 1),
        ("rtneural", "W=32", 1),
        ("rtneural", "W=64", 1),
        ("rtneural", "W=16 train/32", 32),
    ];
    println!(
        "\n{:<7} {:<14} {:>12} {:>12} {:>14} {:>14} {:>7} {:>10}",
        "", "", "nn", "nalgebra", "nn samples/s", "nalg samples/s", "ratio", "alternated"
    );
    for &(group, function, samples) in rows {
        let (Some(ours), Some(theirs)) = (median(group, function, "nn"), median(group, function, "nalgebra"))
        else {
            continue;
        };
        let rate = |ns: f64| samples as f64 / (ns * 1e-9);
        let time = |ns: f64| {
            if ns < 1e3 {
                format!("{ns:.1} ns")
            } else if ns < 1e6 {
                format!("{:.2} µs", ns / 1e3)
            } else {
                format!("{:.2} ms", ns / 1e6)
            }
        };
        println!(
            "{group:<7} {function:<14} {:>12} {:>12} {:>14.0} {:>14.0} {:>6.2}× {:>10}",
            time(ours),
            time(theirs),
            rate(ours),
            rate(theirs),
            theirs / ours,
            alternated_ratio(group, function)
        );
    }
    report_sgemm();
    report_peak();
    report_threads();
}

/// Prints the products' rates, nn's and nalgebra's.
fn report_sgemm() {
    println!(
        "\n{:<7} {:<14} {:>14} {:>14} {:>7} {:>10}",
        "", "", "nn GFLOP/s", "nalg GFLOP/s", "ratio", "alternated"
    );
    for (m, n, k) in PRODUCTS {
        let shape = format!("{m}x{n}x{k}");
        let (Some(ours), Some(theirs)) = (median("sgemm", &shape, "nn"), median("sgemm", &shape, "nalgebra"))
        else {
            continue;
        };
        let flops = (2 * m * n * k) as f64;
        println!(
            "{:<7} {shape:<14} {:>14.1} {:>14.1} {:>6.2}× {:>10}",
            "sgemm",
            flops / ours,
            flops / theirs,
            theirs / ours,
            alternated_ratio("sgemm", &shape)
        );
    }
}

/// Prints W3's and W4's training rates as shares of the peak: by criterion's medians, over
/// the best `sgemm` row (nn's or nalgebra's), and alternated with each of nn's products
/// ([`share_of_peak`]), over the fastest of them (each product's recorded ratio, its time
/// over the step's, times the step's FLOPs over its own, is the step's rate over the
/// product's).
fn report_peak() {
    let peak = PRODUCTS
        .iter()
        .flat_map(|&shape| ["nn", "nalgebra"].map(|side| (shape, side)))
        .filter_map(|(shape, side)| {
            median("sgemm", &product_name(shape), side).map(|ns| product_flops(shape) / ns)
        })
        .reduce(f64::max);
    println!("\n{:<7} {:<14} {:>14} {:>14} {:>10}", "", "", "nn GFLOP/s", "of the peak", "alternated");
    let percent = |share: Option<f64>| share.map_or_else(|| "-".to_owned(), |s| format!("{:.1}%", 100.0 * s));
    for (group, function, step_flops) in AGAINST_PEAK.lock().unwrap().iter() {
        let rate = median(group, function, "nn").map(|ns| step_flops / ns);
        let alternated = PRODUCTS
            .iter()
            .filter_map(|&shape| {
                let ratio = alternated::ratio(group, &format!("{function} against {}", product_name(shape)))?;
                Some(ratio * step_flops / product_flops(shape))
            })
            .reduce(f64::min);
        println!(
            "{group:<7} {function:<14} {:>14} {:>14} {:>10}",
            rate.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}")),
            percent(rate.zip(peak).map(|(rate, peak)| rate / peak)),
            percent(alternated),
        );
    }
}

/// Prints W3's and W4's rates on one thread and on two, beside PyTorch's.
fn report_threads() {
    // PyTorch 2.15's samples per second as the performance issue (issue 13) quotes them,
    // measured on another machine (f32): a yardstick, not a ratio in one run. The issue gives
    // its one-thread rate for W4's inference alone; `None` prints "-".
    let pytorch: &[(&str, &str, u64, Option<f64>, f64)] = &[
        ("W3", "train/64", 64, None, 93.3e3),
        ("W3", "inference/256", 256, None, 545e3),
        ("W4", "train/64", 64, None, 23.9e3),
        ("W4", "inference/256", 256, Some(64.6e3), 121.8e3),
    ];
    println!(
        "\n{:<7} {:<14} {:>14} {:>14} {:>9} {:>10} {:>16} {:>16}",
        "",
        "",
        "nn 1 thread/s",
        "nn 2 threads/s",
        "2 ÷ 1",
        "alternated",
        "PyTorch 1 thr/s",
        "PyTorch 2 thr/s"
    );
    for &(group, function, samples, one, two) in pytorch {
        let rate =
            |parameter: &str| median(group, function, parameter).map(|ns| samples as f64 / (ns * 1e-9));
        let show = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
        let speedup = rate("nn-2-threads").zip(rate("nn")).map(|(two, one)| format!("{:.2}×", two / one));
        println!(
            "{group:<7} {function:<14} {:>14} {:>14} {:>9} {:>10} {:>16} {two:>16.0}",
            show(rate("nn")),
            show(rate("nn-2-threads")),
            speedup.unwrap_or_else(|| "-".to_owned()),
            alternated::speedup(group, function).map_or_else(|| "-".to_owned(), |r| format!("{r:.2}×")),
            show(one),
        );
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    w1(&mut criterion);
    w2(&mut criterion);
    w3(&mut criterion);
    w4(&mut criterion);
    fan(&mut criterion);
    rtneural(&mut criterion);
    digits(&mut criterion);
    sgemm(&mut criterion);
    criterion.final_summary();
    report();
}
