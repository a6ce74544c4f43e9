//! A convolutional autoencoder on the bundled 8×8 digits: an encoder of convolutions and
//! max pooling squeezes each `[1, 8, 8]` image into `[8, 2, 2]` (32 values, half the
//! pixels), and a decoder of a transposed convolution, nearest upsampling and a convolution
//! rebuilds it. Trained on the main job's 80/20 split with the image as its own target.
//!
//! Reports the test split's reconstruction error (mean squared error per pixel, pixels in
//! `[0, 1]`) beside that of always answering the training set's mean image, and writes a
//! PNG grid: each pair of rows holds 12 test digits and, under them, their
//! reconstructions.
//!
//! Run with `cargo run --release --example autoencoder`.

use std::path::Path;
use std::process::ExitCode;

use nn::data::Dataset;
use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::plot::save_image_grid;
use nn::prelude::*;
use nn::progress::Progress;

nn::network! {
    /// Encoder `[1, 8, 8]` → `[8, 2, 2]`, decoder back to `[1, 8, 8]`.
    pub struct ConvAutoencoder {
        input(1, 8, 8),
        conv2d(1 -> 16, kernel = 3, padding = 1, relu),
        max_pool2d(2),
        conv2d(8, kernel = 3, padding = 1, relu),
        code: max_pool2d(2),
        conv_transpose2d(8 -> 16, kernel = 2, stride = 2, relu),
        upsample(2),
        conv2d(16, kernel = 3, padding = 1, relu),
        reconstruction: conv2d(1, kernel = 3, padding = 1, sigmoid),
    }
}

const SEED: u64 = 0;
/// Test digits shown per row of the picture, and pairs of rows.
const SHOWN: (usize, usize) = (12, 3);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The images as their own targets.
fn autoencoding(images: &Dataset<f32>) -> Result<Dataset<f32>, nn::data::DataError> {
    let pixels = images.inputs().to_vec();
    Dataset::new(64, 64, pixels.clone(), pixels)?.with_shape(&[1, 8, 8])
}

/// Mean squared error per pixel of answering `guess` for every image.
fn constant_error(images: &Dataset<f32>, guess: &[f64]) -> f64 {
    let squares: f64 = images
        .inputs()
        .chunks_exact(64)
        .flat_map(|image| image.iter().zip(guess))
        .map(|(&x, &g)| (f64::from(x) - g).powi(2))
        .sum();
    squares / images.inputs().len() as f64
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let mut digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?;
    for pixel in digits.inputs_mut() {
        *pixel /= 16.0;
    }
    let (train, test) = digits.split(0.2, SEED);
    let (train, test) = (autoencoding(&train)?, autoencoding(&test)?);
    println!(
        "digits: training on {}, testing on {}; 64 pixels → 32 code values → 64 pixels\n",
        train.len(),
        test.len()
    );

    let epochs = 60;
    let optimizer = Adam::new(AdamConfig { learning_rate: 2e-3, ..AdamConfig::default() });
    let mut trainer = Trainer::new(ConvAutoencoder::seeded(SEED), MeanSquaredError, optimizer)
        .with_seed(SEED)
        .with_schedule(CosineAnnealing { epochs, minimum: 1e-5 });
    let config = FitConfig { epochs, batch_size: 32, shuffle: true, early_stopping: None };
    trainer.fit_with(&train, Some(&test), &config, &mut Progress::new(epochs))?;

    let error = trainer.evaluate(&test)?.loss;
    let mut mean_image = vec![0.0; 64];
    for image in train.inputs().chunks_exact(64) {
        for (m, &x) in mean_image.iter_mut().zip(image) {
            *m += f64::from(x) / train.len() as f64;
        }
    }
    let baseline = constant_error(&test, &mean_image);
    println!(
        "\ntest reconstruction error {error:.5} per pixel (the mean image: {baseline:.5}, {:.1}× more)",
        baseline / error
    );

    let reconstructions = trainer.predict(&test)?;
    let (per_row, pairs) = SHOWN;
    let mut rows = Vec::new();
    for pair in 0..pairs {
        let shown = pair * per_row..(pair + 1) * per_row;
        rows.push(shown.clone().map(|n| test.input(n)).collect());
        rows.push(shown.map(|n| &reconstructions[n * 64..(n + 1) * 64]).collect());
    }
    let directory = root.join("target/autoencoder");
    std::fs::create_dir_all(&directory)?;
    let picture = directory.join("reconstructions.png");
    save_image_grid(&rows, (8, 8), 6, &picture)?;
    println!("originals (odd rows) and reconstructions (even rows): {}", picture.display());
    if error * 4.0 > baseline {
        return Err(format!(
            "the reconstruction error {error:.5} is not 4× below the mean image's {baseline:.5}"
        )
        .into());
    }
    Ok(())
}
