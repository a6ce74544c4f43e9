//! Streaming, the real-time use: a small GRU trained to predict the next value of a real
//! signal — each bundled 8×8 digit read in raster order as 64 pixel intensities — then run
//! one value at a time with `Net::step`, as an audio plug-in would run a sample at a time.
//!
//! It trains on whole sequences (`[63, 1]` in, the next pixel at every step out, the mean
//! squared error over every step), compares the test error with repeating the last value,
//! then streams every test sequence through a fresh state, timing each step, and checks that
//! streaming and the whole-sequence forward agree bit for bit (and batched inference, whose
//! products sum in another order, to 1e-5: a few f32 roundings over 63 steps).
//!
//! Run with `cargo run --release --example stream`.

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::prelude::*;
use nn::progress::Progress;
use nn::{Dataset, SVector};

/// Steps per sequence: 64 pixels give 63 (input, next pixel) pairs.
const STEPS: usize = 63;

nn::network! {
    /// A GRU of 16 units and a linear read-out at every step.
    pub struct PixelGru { input(63, 1), gru: gru(1 -> 16), head: dense(1) }
}

const SEED: u64 = 0;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Each image's pixels 0 … 62 as input and 1 … 63 as the target, scaled to `[0, 1]`.
fn sequences(images: &Dataset<f32>) -> Result<Dataset<f32>, nn::data::DataError> {
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    for image in images.inputs().chunks_exact(64) {
        inputs.extend(image[..STEPS].iter().map(|p| p / 16.0));
        targets.extend(image[1..].iter().map(|p| p / 16.0));
    }
    Dataset::new(STEPS, STEPS, inputs, targets)?.with_shape(&[STEPS, 1])
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?;
    let (train, test) = digits.split(0.2, SEED);
    let (train, test) = (sequences(&train)?, sequences(&test)?);
    println!(
        "{} training and {} test signals of {STEPS} steps (digits read pixel by pixel)\n",
        train.len(),
        test.len()
    );

    let optimizer = Adam::new(AdamConfig { learning_rate: 1e-2, ..AdamConfig::default() });
    let epochs = 30;
    let mut trainer = Trainer::new(PixelGru::seeded(SEED), MeanSquaredError, optimizer)
        .with_seed(SEED)
        .with_schedule(CosineAnnealing { epochs, minimum: 1e-4 });
    let config = FitConfig { epochs, batch_size: 32, shuffle: true, early_stopping: None };
    trainer.fit_with(&train, Some(&test), &config, &mut Progress::new(epochs))?;
    let error = trainer.evaluate(&test)?.loss;
    let repeat =
        test.inputs().iter().zip(test.targets()).map(|(x, y)| f64::from((x - y) * (x - y))).sum::<f64>()
            / test.targets().len() as f64;
    println!("\ntest mean squared error {error:.5}; repeating the last value: {repeat:.5}");

    // Stream every test signal, one pixel per call, from a fresh state.
    let batched = trainer.predict(&test)?;
    let net = trainer.network();
    let (mut steps, mut worst, mut identical) = (0_usize, 0.0_f32, true);
    let mut state = PixelGruState::new();
    let started = Instant::now();
    for (sequence, expected) in test.inputs().chunks_exact(STEPS).zip(batched.chunks_exact(STEPS)) {
        state.reset();
        let whole = net.forward(&SVector::<f32, STEPS>::from_column_slice(sequence));
        for (t, &x) in sequence.iter().enumerate() {
            let y = net.step(&mut state, &SVector::from([black_box(x)]))[0];
            identical &= y.to_bits() == whole[t].to_bits();
            worst = worst.max((y - expected[t]).abs());
            steps += 1;
        }
    }
    let per_step = started.elapsed().as_secs_f64() * 1e9 / steps as f64;
    // Timing alone, without the checks: one long stream through the trained network.
    let started = Instant::now();
    let mut sink = 0.0;
    for round in 0..200 {
        for &x in test.inputs() {
            sink += net.step(&mut state, &SVector::from([black_box(x + round as f32 * 1e-6)]))[0];
        }
    }
    let streaming = started.elapsed().as_secs_f64() * 1e9 / (200 * test.inputs().len()) as f64;
    println!(
        "streamed {steps} steps: {streaming:.1} ns per step ({per_step:.1} ns with the checks; output sum {sink:.1})"
    );
    println!(
        "streaming against the whole-sequence forward: {}; against batched inference: worst difference {worst:.2e}",
        if identical { "identical, bit for bit" } else { "DIFFERENT" }
    );
    if !identical || worst > 1e-5 {
        return Err("streaming disagrees with the whole-sequence forward".into());
    }
    if error >= repeat {
        return Err(format!(
            "the GRU ({error:.5}) does no better than repeating the last value ({repeat:.5})"
        )
        .into());
    }
    Ok(())
}
