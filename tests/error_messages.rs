//! Every error variant a user can meet, with the message it shows: each names what to fix —
//! the file, line, column, tensor, sample, position, step or size. The `match`es have no
//! wildcard, so a new variant does not compile here until it has its case.

use std::path::PathBuf;

use nn::data::DataError;
use nn::io::IoError;
use nn::loss::LossError;
use nn::network::{BatchError, BatchShapeError, ParameterCountError};
use nn::train::TrainError;

fn path() -> PathBuf {
    PathBuf::from("data/rows.csv")
}

fn io_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
}

/// The message, checked to contain every one of `parts`.
fn shows(error: &dyn std::error::Error, parts: &[&str]) {
    let message = error.to_string();
    for part in parts {
        assert!(message.contains(part), "`{message}` does not name `{part}`");
    }
}

/// One of each data error, with what its message must name.
fn data_errors() -> Vec<(DataError, Vec<&'static str>)> {
    vec![
        (
            DataError::Read { path: path(), source: io_error() },
            vec!["data/rows.csv", "cannot read", "No such file"],
        ),
        (
            DataError::Csv { path: path(), line: 7, message: "unequal lengths".into() },
            vec!["data/rows.csv, line 7", "unequal lengths"],
        ),
        (
            DataError::NoSuchColumn { path: path(), name: "lable".into(), columns: "`a`, `label`".into() },
            vec!["data/rows.csv", "`lable`", "`label`"],
        ),
        (
            DataError::ColumnOutOfRange { path: path(), index: 9, columns: 3 },
            vec!["data/rows.csv", "column 10", "3 columns"],
        ),
        (
            DataError::Ragged { path: path(), line: 4, expected: 5, found: 4 },
            vec!["data/rows.csv, line 4", "4 cells", "have 5"],
        ),
        (
            DataError::NotANumber { path: path(), line: 2, column: 3, name: "age".into(), value: "x".into() },
            vec!["line 2, column 3", "`age`", "`x` is not a number"],
        ),
        (
            DataError::NotFinite { path: path(), line: 2, column: 1, name: "b".into(), value: "inf".into() },
            vec!["line 2, column 1", "`inf`", "finite"],
        ),
        (DataError::Empty { path: path() }, vec!["data/rows.csv", "no data rows"]),
        (
            DataError::IdxMagic { path: path(), kind: "images", expected: 2051, found: 7 },
            vec!["data/rows.csv", "images", "0x00000803"],
        ),
        (
            DataError::IdxTruncated { path: path(), expected: 100, found: 40 },
            vec!["promises 100 bytes", "has 40"],
        ),
        (DataError::IdxTooLarge { path: path(), sizes: vec![7, 8] }, vec!["data/rows.csv", "[7, 8]"]),
        (
            DataError::IdxCount {
                images_path: "a.idx".into(),
                images: 3,
                labels_path: "b.idx".into(),
                labels: 2,
            },
            vec!["a.idx holds 3 images", "b.idx holds 2 labels"],
        ),
        (
            DataError::FeatureCount { origin: "rows.csv".into(), expected: 64, found: 63 },
            vec!["rows.csv", "63 features", "64 inputs"],
        ),
        (
            DataError::ShapeSize { origin: "rows.csv".into(), shape: vec![1, 8, 7], features: 64 },
            vec!["[1, 8, 7]", "56 values", "64 features"],
        ),
        (
            DataError::SampleShape { origin: "rows.csv".into(), expected: vec![1, 8, 8], found: vec![64] },
            vec!["[64]", "[1, 8, 8]"],
        ),
        (
            DataError::LabelOutOfRange { location: "rows.csv, line 9".into(), value: 10.0, classes: 10 },
            vec!["rows.csv, line 9", "label 10", "0 to 9"],
        ),
        (
            DataError::NotAnId { location: "rows.csv, line 3".into(), column: 2, value: 1.5 },
            vec!["rows.csv, line 3", "feature 2", "1.5"],
        ),
        (
            DataError::Mismatch {
                inputs: 10,
                features: 4,
                input_samples: 2,
                targets: 3,
                target_width: 1,
                target_samples: 3,
            },
            vec!["10 input values", "2 samples of 4", "3 target values"],
        ),
        (DataError::ZeroWidth, vec!["at least one feature"]),
    ]
}

#[test]
fn every_data_error_names_the_file_and_place() {
    for (error, parts) in &data_errors() {
        match error {
            DataError::Read { .. }
            | DataError::Csv { .. }
            | DataError::NoSuchColumn { .. }
            | DataError::ColumnOutOfRange { .. }
            | DataError::Ragged { .. }
            | DataError::NotANumber { .. }
            | DataError::NotFinite { .. }
            | DataError::Empty { .. }
            | DataError::IdxMagic { .. }
            | DataError::IdxTruncated { .. }
            | DataError::IdxTooLarge { .. }
            | DataError::IdxCount { .. }
            | DataError::FeatureCount { .. }
            | DataError::ShapeSize { .. }
            | DataError::SampleShape { .. }
            | DataError::LabelOutOfRange { .. }
            | DataError::NotAnId { .. }
            | DataError::Mismatch { .. }
            | DataError::ZeroWidth => shows(error, parts),
        }
    }
}

#[test]
fn every_io_error_names_the_file_and_tensor() {
    let file = PathBuf::from("model.safetensors");
    let cases = [
        (IoError::Read { path: file.clone(), source: io_error() }, vec!["model.safetensors", "cannot read"]),
        (
            IoError::Write { path: file.clone(), source: io_error() },
            vec!["model.safetensors", "cannot write"],
        ),
        (
            IoError::Format { path: file.clone(), message: "header too large".into() },
            vec!["model.safetensors", "not a safetensors file", "header too large"],
        ),
        (
            IoError::Missing {
                path: file.clone(),
                tensor: "out.bias".into(),
                present: "`out.weight`".into(),
            },
            vec!["model.safetensors", "no tensor `out.bias`", "`out.weight`"],
        ),
        (
            IoError::Shape {
                path: file.clone(),
                tensor: "out.weight".into(),
                expected: vec![3, 4],
                found: vec![4, 3],
            },
            vec!["`out.weight`", "[4, 3]", "[3, 4]"],
        ),
        (
            IoError::Dtype { path: file.clone(), tensor: "out.weight".into(), dtype: "BF16".into() },
            vec!["`out.weight`", "BF16", "F32 and F64"],
        ),
        (
            IoError::Unexpected { path: file, tensors: "`extra.weight`".into() },
            vec!["model.safetensors", "`extra.weight`"],
        ),
    ];
    for (error, parts) in &cases {
        match error {
            IoError::Read { .. }
            | IoError::Write { .. }
            | IoError::Format { .. }
            | IoError::Missing { .. }
            | IoError::Shape { .. }
            | IoError::Dtype { .. }
            | IoError::Unexpected { .. } => shows(error, parts),
        }
    }
}

#[test]
fn every_loss_and_batch_error_names_the_sample_and_sizes() {
    let losses = [
        (
            LossError::TargetShape { batch: 4, expected: 4, target_len: 3 },
            vec!["holds 3 values", "4 samples need 4"],
        ),
        (
            LossError::ClassIndex { sample: 2, value: 10.0, classes: 10 },
            vec!["sample 2", "target 10", "0 to 9"],
        ),
        (LossError::Probability { sample: 1, value: 1.5 }, vec!["sample 1", "1.5", "[0, 1]"]),
        (
            LossError::Step {
                sample: 3,
                step: 4,
                reason: Box::new(LossError::ClassIndex { sample: 16, value: -1.0, classes: 5 }),
            },
            vec!["sample 3, step 4", "target -1"],
        ),
        (LossError::NoOutputs, vec!["0 values per sample", "at least one output"]),
    ];
    for (error, parts) in &losses {
        match error {
            LossError::TargetShape { .. }
            | LossError::ClassIndex { .. }
            | LossError::Probability { .. }
            | LossError::Step { .. }
            | LossError::NoOutputs => shows(error, parts),
        }
    }
    let batches = [
        (BatchError::Shape(BatchShapeError { len: 7, width: 3 }), vec!["7 values", "3 values each"]),
        (
            BatchError::TooSmall { layer: "norm", minimum: 2, batch: 1 },
            vec!["`norm`", "at least 2 samples", "has 1"],
        ),
        (BatchError::SampleLength { expected: 4, found: 3 }, vec!["4 values", "3 were given"]),
        (
            BatchError::IdOutOfRange { sample: 2, position: 5, id: 300, layer: "words", vocabulary: 256 },
            vec!["sample 2, position 5", "id 300", "`words`", "0 to 255"],
        ),
    ];
    for (error, parts) in &batches {
        match error {
            BatchError::Shape(_)
            | BatchError::TooSmall { .. }
            | BatchError::SampleLength { .. }
            | BatchError::IdOutOfRange { .. } => {
                shows(error, parts);
            }
        }
    }
    let count = ParameterCountError { expected: 13, found: 12, what: "parameters" };
    shows(&count, &["13 parameters", "12 values"]);
}

#[test]
fn every_training_error_names_the_step_or_data() {
    let cases = [
        (TrainError::Data(DataError::Empty { path: path() }), vec!["data/rows.csv"]),
        (
            TrainError::TargetWidth { origin: "rows.csv".into(), expected: 1, found: 10 },
            vec!["rows.csv", "1 target values", "has 10"],
        ),
        (
            TrainError::Batch {
                step: 12,
                source: BatchError::TooSmall { layer: "norm", minimum: 2, batch: 1 },
            },
            vec!["step 12", "`norm`"],
        ),
        (
            TrainError::Loss { step: 3, source: LossError::Probability { sample: 0, value: 2.0 } },
            vec!["step 3", "sample 0"],
        ),
        (
            TrainError::Diverged { epoch: 3, step: 40, loss: f64::NAN },
            vec!["epoch 3, at step 40", "NaN", "smaller learning rate"],
        ),
        (
            TrainError::NonFiniteGradient { epoch: 2, step: 17, tensor: "hidden.weight" },
            vec!["epoch 2, at step 17", "`hidden.weight`", "clipping"],
        ),
        (
            TrainError::NonFiniteUpdate { epoch: 1, step: 9, tensor: "out.bias" },
            vec!["epoch 1, at step 9", "update of `out.bias`", "smaller learning rate"],
        ),
        (TrainError::LearningRate { epoch: 5, rate: f64::INFINITY }, vec!["epoch 5", "inf", "finite"]),
        (
            TrainError::Callback { epoch: 4, source: "checkpoints/run.safetensors: cannot write".into() },
            vec!["epoch 4", "callback failed", "checkpoints/run.safetensors"],
        ),
        (TrainError::ZeroBatchSize, vec!["batch size", "at least 1"]),
        (TrainError::NoValidationData, vec!["validation data", "fit_with"]),
    ];
    for (error, parts) in &cases {
        match error {
            TrainError::Data(_)
            | TrainError::TargetWidth { .. }
            | TrainError::Batch { .. }
            | TrainError::Loss { .. }
            | TrainError::Diverged { .. }
            | TrainError::NonFiniteGradient { .. }
            | TrainError::NonFiniteUpdate { .. }
            | TrainError::LearningRate { .. }
            | TrainError::Callback { .. }
            | TrainError::ZeroBatchSize
            | TrainError::NoValidationData => shows(error, parts),
        }
    }
}
