//! Trains the small digits classifier that `examples/embedded.rs` bakes into its binary, and
//! writes it to `models/digits_small.safetensors` (committed; this command regenerates it
//! exactly: seeded, one thread).
//!
//! A 64-32-10 network on the bundled 8×8 digits, its pixels scaled by 1/16 rather than
//! standardised, so a device needs no statistics beside the weights: 2 410 parameters,
//! 9.4 KiB in `f32`.
//!
//! Run with `cargo run --release --example train_embedded`.

use std::path::Path;
use std::process::ExitCode;

use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::prelude::*;

nn::network! {
    /// The embedded digits classifier: 64 pixels in, 10 class logits out.
    pub struct DigitsSmall { hidden: dense(64 -> 32, relu, init = he_uniform), logits: dense(10) }
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

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (train, test) = digits(root)?;
    let optimizer = Adam::new(AdamConfig { learning_rate: 3e-3, ..AdamConfig::default() });
    let epochs = 80;
    let mut trainer = Trainer::new(DigitsSmall::seeded(SEED), SoftmaxCrossEntropy, optimizer)
        .with_seed(SEED)
        .with_schedule(CosineAnnealing { epochs, minimum: 1e-5 });
    let config = FitConfig { epochs, batch_size: 32, shuffle: true, early_stopping: None };
    trainer.fit(&train, &config)?;
    let accuracy = trainer.evaluate(&test)?.accuracy.unwrap_or(0.0);
    let path = root.join("models/digits_small.safetensors");
    trainer.network().save(&path)?;
    println!(
        "{}: {} parameters, test accuracy {:.2}% on {} digits",
        path.display(),
        DigitsSmall::<f32>::PARAMETERS,
        100.0 * accuracy,
        test.len()
    );
    Ok(())
}

/// The bundled digits, pixels scaled to [0, 1], split 80/20 as the main job splits them.
///
/// # Errors
///
/// When `data/digits.csv` cannot be read.
pub fn digits(root: &Path) -> Result<(Dataset<f32>, Dataset<f32>), Box<dyn std::error::Error>> {
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let mut digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?;
    for pixel in digits.inputs_mut() {
        *pixel /= 16.0;
    }
    Ok(digits.split(0.2, SEED))
}
