//! MNIST with a LeNet-style convolutional network (LeCun et al., 1998: two 5×5 convolutions
//! with max pooling, then 120-84-10), trained from IDX files, reporting test accuracy and
//! samples per second. The IDX loader gives `[1, 28, 28]` images.
//!
//! `cargo run --release --example mnist_cnn -- --data DIR` reads `train-images-idx3-ubyte`,
//! `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (each
//! plain or `.gz`) from `DIR`. Without training files (the repository bundles only MNIST's
//! 10 000-image test set, in `data/mnist`, the default), the test set is split 8 000 / 2 000.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use nn::data::Dataset;
use nn::data::idx::read_mnist;
use nn::metrics::ConfusionMatrix;
use nn::prelude::*;
use nn::progress::Progress;

nn::network! {
    /// LeNet-5 with relu and max pooling: `[1, 28, 28]` → `[6, 24, 24]` → `[6, 12, 12]` →
    /// `[16, 8, 8]` → `[16, 4, 4]` → 256 → 120 → 84 → 10.
    pub struct LeNet {
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5, relu),
        max_pool2d(2),
        conv2: conv2d(16, kernel = 5, relu),
        max_pool2d(2),
        flatten,
        fc1: dense(120, relu),
        fc2: dense(84, relu),
        logits: dense(10),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `DIR/name` or `DIR/name.gz`, whichever exists.
fn find(directory: &Path, name: &str) -> Option<PathBuf> {
    [directory.join(name), directory.join(format!("{name}.gz"))].into_iter().find(|path| path.exists())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let mut directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--data" => directory = arguments.next().ok_or("--data needs a directory")?.into(),
            other => return Err(format!("unknown argument `{other}`; usage: mnist_cnn [--data DIR]").into()),
        }
    }
    let test_images = find(&directory, "t10k-images-idx3-ubyte");
    let test_labels = find(&directory, "t10k-labels-idx1-ubyte");
    let (Some(test_images), Some(test_labels)) = (test_images, test_labels) else {
        return Err(format!(
            "{}: no t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]",
            directory.display()
        )
        .into());
    };
    let test_set: Dataset<f32> = read_mnist(&test_images, &test_labels)?;
    let (train, test) =
        match (find(&directory, "train-images-idx3-ubyte"), find(&directory, "train-labels-idx1-ubyte")) {
            (Some(images), Some(labels)) => {
                println!("training on {}, testing on {}", images.display(), test_images.display());
                (read_mnist(&images, &labels)?, test_set)
            }
            _ => {
                println!(
                    "no training files in {}: splitting the 10 000 test images 8 000 / 2 000",
                    directory.display()
                );
                test_set.split(0.2, 0)
            }
        };
    println!("{} training and {} test images of {:?}\n", train.len(), test.len(), train.shape());

    let epochs = 20;
    let optimizer = Adam::new(AdamConfig { learning_rate: 2e-3, ..AdamConfig::default() });
    let mut trainer = Trainer::new(LeNet::seeded(1), SoftmaxCrossEntropy, optimizer)
        .with_seed(1)
        .with_schedule(CosineAnnealing { epochs, minimum: 1e-5 });
    let config = FitConfig { epochs, batch_size: 64, shuffle: true, early_stopping: None };
    let started = Instant::now();
    let history = trainer.fit_with(&train, None, &config, &mut Progress::new(epochs))?;
    let seconds = started.elapsed().as_secs_f64();
    let samples_per_second = (train.len() * history.epochs.len()) as f64 / seconds;

    let evaluation = trainer.evaluate(&test)?;
    let outputs = trainer.predict(&test)?;
    println!(
        "\nconfusion matrix on the {} test images:\n{}",
        test.len(),
        ConfusionMatrix::from_outputs(&outputs, test.targets(), 10)
    );
    let accuracy = evaluation.accuracy.unwrap_or(0.0);
    println!("test accuracy {:.2}%", 100.0 * accuracy);
    println!(
        "training: {samples_per_second:.0} samples/s ({seconds:.2} s for {} epochs, minibatch 64, one thread)",
        history.epochs.len()
    );
    if accuracy < 0.98 {
        return Err(format!("test accuracy {:.2}% is below 98%", 100.0 * accuracy).into());
    }
    Ok(())
}
