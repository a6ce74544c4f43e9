//! A small convolutional network on the bundled 8×8 digits (`data/digits.csv`), with the
//! main job's split, progress, table, curves and save/reload check.
//!
//! The CSV holds each image as 64 pixel values 0–16, row by row, which is the `[1, 8, 8]`
//! layout of PyTorch's `[C, H, W]`: it is read with that shape and the pixels are
//! scaled to `[0, 1]` (one scale for every pixel, so the image keeps its contrast; a
//! per-pixel standardisation would not). The same seeded 80/20 split as the main job.
//!
//! Run with `cargo run --release --example digits_cnn`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::metrics::ConfusionMatrix;
use nn::plot::plot_history;
use nn::prelude::*;
use nn::progress::Progress;

nn::network! {
    /// Two 3×3 convolutions with batch norm, one max-pool, and a small classifier.
    pub struct DigitsCnn {
        input(1, 8, 8),
        conv1: conv2d(1 -> 16, kernel = 3, padding = 1),
        batch_norm(16, relu),
        conv2: conv2d(32, kernel = 3, padding = 1),
        batch_norm(32, relu),
        max_pool2d(2),
        dropout(0.25),
        flatten,
        hidden: dense(64, relu, init = he_uniform),
        dropout(0.25),
        logits: dense(10),
    }
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
    let started = Instant::now();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = CsvOptions {
        label: Label::Name("label".into()),
        shape: Some(vec![1, 8, 8]),
        ..CsvOptions::default()
    };
    let mut digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?;
    for pixel in digits.inputs_mut() {
        *pixel /= 16.0;
    }
    let (train, test) = digits.split(0.2, SEED);
    println!(
        "digits: {} images of {:?}; training on {}, testing on {} (the `val` columns)\n",
        digits.len(),
        digits.shape(),
        train.len(),
        test.len()
    );

    let optimizer =
        AdamW::new(AdamConfig { learning_rate: 2e-3, weight_decay: 1e-2, ..AdamConfig::default() });
    let epochs = 40;
    let mut trainer = Trainer::new(DigitsCnn::seeded(SEED), SoftmaxCrossEntropy, optimizer)
        .with_seed(SEED)
        .with_schedule(CosineAnnealing { epochs, minimum: 1e-5 });
    let config = FitConfig { epochs, batch_size: 32, shuffle: true, early_stopping: None };
    let history = trainer.fit_with(&train, Some(&test), &config, &mut Progress::new(epochs))?;

    let evaluation = trainer.evaluate(&test)?;
    let accuracy = evaluation.accuracy.unwrap_or(0.0);
    let outputs = trainer.predict(&test)?;
    println!(
        "\nconfusion matrix on the {} test digits:\n{}",
        test.len(),
        ConfusionMatrix::from_outputs(&outputs, test.targets(), 10)
    );
    println!("test loss {:.4}, test accuracy {:.2}%", evaluation.loss, 100.0 * accuracy);

    let output_directory = root.join("target/digits_cnn");
    std::fs::create_dir_all(&output_directory)?;
    let curves = output_directory.join("training.png");
    plot_history(
        &history,
        "digits: CNN 16-32 channels, AdamW, cosine schedule (validation = the test split)",
        &curves,
    )?;
    println!("training curves: {}", curves.display());

    let model = output_directory.join("model.safetensors");
    trainer.network().save(&model)?;
    let reloaded = DigitsCnn::<f32>::load(&model)?;
    let mut reload_trainer = Trainer::new(reloaded, SoftmaxCrossEntropy, Sgd::with_learning_rate(0.0));
    let identical = reload_trainer.predict(&test)? == outputs;
    println!(
        "model: {} (reloaded: predictions {})",
        model.display(),
        if identical { "identical" } else { "DIFFER" }
    );
    println!("wall time {:.2} s", started.elapsed().as_secs_f64());
    if !identical {
        return Err("the reloaded model predicts differently".into());
    }
    if accuracy < 0.985 {
        return Err(format!("test accuracy {:.2}% is below 98.5%", 100.0 * accuracy).into());
    }
    Ok(())
}
