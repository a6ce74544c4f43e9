//! Pixel intensities as a vocabulary: the bundled digits' pixel values are the integers
//! 0–16, so a network can read each 8×8 image as 64 ids and learn a vector for every
//! intensity instead of being told that 8 lies halfway between 0 and 16.
//!
//! It is checkable twice: the test accuracy, and the learned table itself. Nothing tells
//! the network that intensities are ordered, yet after training neighbouring intensities
//! sit closer together than distant ones; the example fails if they do not, or if the
//! accuracy is below 95%.
//!
//! Run with `cargo run --release --example digits_embedding`.

use std::path::Path;
use std::process::ExitCode;

use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::prelude::*;

nn::network! {
    /// 64 ids (one per pixel) → a 2-dimensional vector each → one MLP over all of them.
    pub struct PixelEmbedding {
        input(64),
        intensities: embedding(17 -> 2),
        flatten,
        hidden: dense(64, relu, init = he_uniform),
        dropout(0.4),
        logits: dense(10),
    }
}

const SEED: u64 = 0;
const EPOCHS: usize = 40;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The Euclidean distance between rows `i` and `j` of the `[17, 2]` table.
fn distance(table: &[f32], i: usize, j: usize) -> f32 {
    let (a, b) = (&table[2 * i..2 * i + 2], &table[2 * j..2 * j + 2]);
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

/// The mean distance between intensities `gap` apart.
fn mean_distance(table: &[f32], gap: std::ops::RangeInclusive<usize>) -> f32 {
    let pairs: Vec<f32> = (0..17)
        .flat_map(|i| (0..17).map(move |j| (i, j)))
        .filter(|&(i, j)| i < j && gap.contains(&(j - i)))
        .map(|(i, j)| distance(table, i, j))
        .collect();
    pairs.iter().sum::<f32>() / pairs.len() as f32
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?.to_ids()?;
    let (train, test) = digits.split(0.2, SEED);
    println!("digits as ids: {} images of 64 pixel ids (0–16), {} for training\n", digits.len(), train.len());

    let before =
        mean_distance(PixelEmbedding::<f32>::seeded(SEED).parameter("intensities.weight").unwrap(), 1..=1);
    let optimizer =
        AdamW::new(AdamConfig { learning_rate: 3e-3, weight_decay: 1e-2, ..AdamConfig::default() });
    let mut trainer = Trainer::new(PixelEmbedding::seeded(SEED), SoftmaxCrossEntropy, optimizer)
        .with_seed(SEED)
        .with_schedule(CosineAnnealing { epochs: EPOCHS, minimum: 1e-5 });
    let history = trainer
        .fit(&train, &FitConfig { epochs: EPOCHS, batch_size: 32, shuffle: true, early_stopping: None })?;
    let accuracy = trainer.evaluate(&test)?.accuracy.unwrap_or(0.0);
    println!(
        "training loss {:.4} → {:.4}; test accuracy {:.2}%",
        history.losses()[0],
        history.losses()[EPOCHS - 1],
        100.0 * accuracy
    );

    let table = trainer.network().parameter("intensities.weight").unwrap_or_default();
    let (near, far) = (mean_distance(table, 1..=1), mean_distance(table, 8..=16));
    println!(
        "learned intensity vectors: neighbours (|i − j| = 1) {near:.3} apart, distant ones (|i − j| ≥ 8) {far:.3} \
         (at initialisation neighbours were {before:.3} apart)"
    );
    println!("distance from intensity 0, by intensity:");
    let row: Vec<String> = (0..17).map(|i| format!("{:.2}", distance(table, 0, i))).collect();
    println!("  {}", row.join(" "));
    if accuracy < 0.95 {
        return Err(format!("test accuracy {:.2}% is below 95%", 100.0 * accuracy).into());
    }
    if near >= far {
        return Err("the embedding did not learn that neighbouring intensities are alike".into());
    }
    Ok(())
}
