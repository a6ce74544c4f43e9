//! A recurrent classifier on the bundled 8×8 digits (`data/digits.csv`): each image read as
//! a sequence of 8 rows of 8 pixels, a GRU over the rows and a classifier on its final
//! state, with the main job's split, progress, table, curves and save/reload check.
//!
//! The CSV holds each image as 64 pixel values 0–16, row by row, which is the `[8, 8]`
//! layout of a sequence `[T, F]` (PyTorch's `batch_first`): it is read with that shape and
//! the pixels are scaled to `[0, 1]`. The same seeded 80/20 split as the main job.
//!
//! Run with `cargo run --release --example digits_rnn` (add `lstm` to use an LSTM).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::metrics::ConfusionMatrix;
use nn::plot::plot_history;
use nn::prelude::*;
use nn::progress::Progress;

nn::network! {
    /// A GRU reads the 8 rows; its final state is classified.
    pub struct DigitsGru {
        input(8, 8),
        gru: gru(8 -> 64, last),
        dropout(0.2),
        logits: dense(10),
    }
}

nn::network! {
    /// The same with an LSTM.
    pub struct DigitsLstm {
        input(8, 8),
        lstm: lstm(8 -> 64, last),
        dropout(0.2),
        logits: dense(10),
    }
}

const SEED: u64 = 0;

fn main() -> ExitCode {
    let lstm = std::env::args().any(|argument| argument == "lstm");
    let result = if lstm {
        run(DigitsLstm::seeded(SEED), "LSTM", |path| DigitsLstm::load(path))
    } else {
        run(DigitsGru::seeded(SEED), "GRU", |path| DigitsGru::load(path))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run<N: Network<f32, Input = f32> + Clone>(
    network: N,
    cell: &str,
    load: fn(&Path) -> Result<N, nn::io::IoError>,
) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options =
        CsvOptions { label: Label::Name("label".into()), shape: Some(vec![8, 8]), ..CsvOptions::default() };
    let mut digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?;
    for pixel in digits.inputs_mut() {
        *pixel /= 16.0;
    }
    let (train, test) = digits.split(0.2, SEED);
    println!(
        "digits: {} images as sequences of {:?} (rows of pixels); training on {}, testing on {} (the `val` columns)\n",
        digits.len(),
        digits.shape(),
        train.len(),
        test.len()
    );

    let optimizer = Adam::new(AdamConfig { learning_rate: 5e-3, ..AdamConfig::default() });
    let epochs = 60;
    let mut trainer = Trainer::new(network, SoftmaxCrossEntropy, optimizer)
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

    let output_directory = root.join("target/digits_rnn");
    std::fs::create_dir_all(&output_directory)?;
    let curves = output_directory.join(format!("training_{}.png", cell.to_lowercase()));
    let title = format!(
        "digits: {cell} of 64 units over 8 rows, Adam, cosine schedule (validation = the test split)"
    );
    plot_history(&history, &title, &curves)?;
    println!("training curves: {}", curves.display());

    let model = output_directory.join(format!("model_{}.safetensors", cell.to_lowercase()));
    trainer.network().save(&model)?;
    let mut reload_trainer = Trainer::new(load(&model)?, SoftmaxCrossEntropy, Sgd::with_learning_rate(0.0));
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
