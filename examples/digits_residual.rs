//! A residual MLP with batch normalisation on the bundled digits, against the main job's
//! plain MLP on the same splits, schedules and seeds.
//!
//! Each of five seeds makes its own 80/20 split; both networks train on it with AdamW and
//! a cosine schedule and are scored on its test part. The example fails unless the residual
//! network is at least as accurate on average.
//!
//! Run with `cargo run --release --example digits_residual`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::data::scale::Standardizer;
use nn::prelude::*;

nn::network! {
    /// The main job's network: 64-128-64-10 with dropout.
    pub struct PlainMlp {
        hidden: dense(64 -> 128, relu, init = he_uniform),
        dropout(0.2),
        hidden2: dense(64, relu, init = he_uniform),
        logits: dense(10),
    }
}

nn::network! {
    /// A residual MLP: every block normalises over the batch and adds its input back.
    pub struct ResidualMlp {
        input(64),
        stem: dense(128, init = he_uniform),
        batch_norm(128, relu),
        block1: residual { dense(128, init = he_uniform), batch_norm(128, relu), dropout(0.2), dense(128), batch_norm },
        relu,
        block2: residual { dense(128, init = he_uniform), batch_norm(128, relu), dropout(0.2), dense(128), batch_norm },
        relu,
        logits: dense(10),
    }
}

const SEEDS: [u64; 5] = [0, 1, 2, 3, 4];
const EPOCHS: usize = 60;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Trains on `train` and returns the accuracy on `test`.
fn accuracy<N: Network<f32, Input = f32>>(
    network: N,
    seed: u64,
    (train, test): (&Dataset<f32>, &Dataset<f32>),
) -> Result<f64, TrainError> {
    let optimizer =
        AdamW::new(AdamConfig { learning_rate: 1e-3, weight_decay: 1e-2, ..AdamConfig::default() });
    let mut trainer = Trainer::new(network, SoftmaxCrossEntropy, optimizer)
        .with_seed(seed)
        .with_schedule(CosineAnnealing { epochs: EPOCHS, minimum: 1e-5 });
    trainer.fit(train, &FitConfig { epochs: EPOCHS, batch_size: 32, shuffle: true, early_stopping: None })?;
    Ok(trainer.evaluate(test)?.accuracy.unwrap_or(0.0))
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?;
    println!(
        "digits: {} samples; per seed a fresh 80/20 split, {EPOCHS} epochs, AdamW + cosine\n",
        digits.len()
    );
    println!("seed   plain MLP   residual + batch norm");
    let (mut plain_total, mut residual_total) = (0.0, 0.0);
    for seed in SEEDS {
        let (mut train, mut test) = digits.split(0.2, seed);
        let scaler = Standardizer::fit(&train);
        scaler.apply(&mut train);
        scaler.apply(&mut test);
        let plain = accuracy(PlainMlp::seeded(seed), seed, (&train, &test))?;
        let residual = accuracy(ResidualMlp::seeded(seed), seed, (&train, &test))?;
        println!("{seed:>4}   {:>8.2}%   {:>8.2}%", 100.0 * plain, 100.0 * residual);
        plain_total += plain;
        residual_total += residual;
    }
    let (plain, residual) = (plain_total / SEEDS.len() as f64, residual_total / SEEDS.len() as f64);
    println!("mean   {:>8.2}%   {:>8.2}%", 100.0 * plain, 100.0 * residual);
    println!("wall time {:.2} s", started.elapsed().as_secs_f64());
    if residual < plain {
        return Err(format!(
            "the residual network ({:.2}%) is less accurate than the plain one ({:.2}%)",
            100.0 * residual,
            100.0 * plain
        )
        .into());
    }
    Ok(())
}
