//! Loading data: the bundled files load exactly, and every kind of bad input is a typed
//! error that names the file and, where there is one, the line and column or record.

use std::io::Write;
use std::path::{Path, PathBuf};

use nn::data::DataError;
use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::data::idx::{read_images, read_labels, read_mnist};
use nn::data::scale::{MinMaxScaler, Standardizer};
use nn::prelude::*;

/// A scratch file with the given contents, unique to this test process and name.
fn scratch(name: &str, contents: &[u8]) -> PathBuf {
    // Under the target directory (Cargo provides it to integration tests), not the
    // system temporary directory, so test runs leave nothing behind outside `target/`.
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nn-tests-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join(name);
    std::fs::File::create(&path).unwrap().write_all(contents).unwrap();
    path
}

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(name)
}

fn csv(name: &str, text: &str) -> Result<Dataset<f64>, DataError> {
    read_csv(scratch(name, text.as_bytes()), &CsvOptions::default())
}

#[test]
fn the_bundled_digits_load_exactly() {
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let digits = read_csv::<f32>(bundled("digits.csv"), &options).unwrap();
    assert_eq!((digits.len(), digits.features(), digits.target_width()), (1797, 64, 1));
    assert_eq!(digits.target(0), [0.0]);
    assert_eq!(digits.location(0), format!("{}, line 2", bundled("digits.csv").display()));
    let mut counts = [0; 10];
    for n in 0..digits.len() {
        counts[digits.target(n)[0] as usize] += 1;
    }
    assert!(counts.iter().all(|&c| (174..=183).contains(&c)), "{counts:?}");
    assert!(digits.inputs().iter().all(|&p| (0.0..=16.0).contains(&p)));
}

#[test]
fn the_label_column_by_name_index_or_last() {
    let text = "a,label,b\n1,0,2\n3,1,4\n";
    let by_name = read_csv::<f64>(
        scratch("label.csv", text.as_bytes()),
        &CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() },
    )
    .unwrap();
    let by_index = read_csv::<f64>(
        scratch("label.csv", text.as_bytes()),
        &CsvOptions { label: Label::Index(1), ..CsvOptions::default() },
    )
    .unwrap();
    assert_eq!(by_name, by_index);
    assert_eq!((by_name.inputs(), by_name.targets()), (&[1.0, 2.0, 3.0, 4.0][..], &[0.0, 1.0][..]));
    let last = csv("last.csv", text).unwrap();
    assert_eq!(last.targets(), [2.0, 4.0]);
    let headless = read_csv::<f64>(
        scratch("headless.csv", b"1,2,0\n3,4,1\n"),
        &CsvOptions { header: false, ..CsvOptions::default() },
    )
    .unwrap();
    assert_eq!(headless.len(), 2);
}

#[test]
fn a_missing_file_names_the_file() {
    let error = read_csv::<f64>("no/such/file.csv", &CsvOptions::default()).unwrap_err();
    assert!(
        matches!(&error, DataError::Read { path, .. } if path == Path::new("no/such/file.csv")),
        "{error}"
    );
    assert!(error.to_string().starts_with("no/such/file.csv: cannot read the file"), "{error}");
    assert!(matches!(read_images("no/such/images.gz").unwrap_err(), DataError::Read { .. }));
}

#[test]
fn a_ragged_row_names_its_line() {
    let error = csv("ragged.csv", "a,b,label\n1,2,0\n3,4\n").unwrap_err();
    assert!(matches!(error, DataError::Ragged { line: 3, expected: 3, found: 2, .. }), "{error}");
    assert!(
        error.to_string().ends_with("ragged.csv, line 3: 2 cells, but the rows before have 3"),
        "{error}"
    );
}

#[test]
fn a_non_numeric_cell_names_line_and_column() {
    let error = csv("words.csv", "width,height,label\n1,2,0\n3,tall,1\n").unwrap_err();
    assert!(
        matches!(&error, DataError::NotANumber { line: 3, column: 2, name, value, .. } if name == "height" && value == "tall"),
        "{error}"
    );
    assert!(
        error.to_string().ends_with("words.csv, line 3, column 2 (`height`): `tall` is not a number"),
        "{error}"
    );
}

#[test]
fn nan_and_infinity_name_line_and_column() {
    for (cell, name) in [("NaN", "nan.csv"), ("inf", "inf.csv"), ("-infinity", "neg-inf.csv")] {
        let error = csv(name, &format!("a,b,label\n1,2,0\n1,{cell},1\n")).unwrap_err();
        assert!(matches!(error, DataError::NotFinite { line: 3, column: 2, .. }), "{cell}: {error}");
    }
}

#[test]
fn a_missing_label_column_lists_the_columns() {
    let error = read_csv::<f64>(
        scratch("columns.csv", b"a,b\n1,2\n"),
        &CsvOptions { label: Label::Name("class".into()), ..CsvOptions::default() },
    )
    .unwrap_err();
    assert!(
        error.to_string().ends_with("columns.csv: no column named `class`; the columns are `a`, `b`"),
        "{error}"
    );
    let error = read_csv::<f64>(
        scratch("columns.csv", b"a,b\n1,2\n"),
        &CsvOptions { label: Label::Index(5), ..CsvOptions::default() },
    )
    .unwrap_err();
    assert!(matches!(error, DataError::ColumnOutOfRange { index: 5, columns: 2, .. }), "{error}");
    assert!(matches!(csv("empty.csv", "a,b\n").unwrap_err(), DataError::Empty { .. }));
}

nn::network! { struct Digits { dense(64 -> 32, relu), dense(32 -> 10) } }

#[test]
fn a_label_outside_the_networks_classes_names_file_and_line_before_training() {
    let rows: String = std::iter::once("a,b,label\n".to_owned())
        .chain((0..8).map(|k| format!("{k},{k},{}\n", if k == 5 { 12 } else { k % 10 })))
        .collect();
    let data = csv("labels.csv", &rows).unwrap();
    nn::network! { struct Two { dense(2 -> 4, relu), dense(4 -> 10) } }
    let mut trainer = Trainer::new(Two::<f64>::seeded(0), SoftmaxCrossEntropy, Sgd::with_learning_rate(0.1));
    let error = trainer.fit(&data, &FitConfig::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("labels.csv, line 7: label 12 is not one of the network's classes 0 to 9"),
        "{error}"
    );
    assert_eq!(trainer.steps(), 0);
}

#[test]
fn a_feature_count_that_differs_from_the_network_is_caught_before_training() {
    let data = csv("three.csv", "a,b,c,label\n1,2,3,0\n").unwrap();
    let mut trainer =
        Trainer::new(Digits::<f64>::seeded(0), SoftmaxCrossEntropy, Sgd::with_learning_rate(0.1));
    let error = trainer.fit(&data, &FitConfig::default()).unwrap_err();
    assert!(
        error.to_string().ends_with("three.csv: samples have 3 features, but the network takes 64 inputs"),
        "{error}"
    );
    assert_eq!(trainer.steps(), 0);
}

/// An IDX file: magic, counts, then bytes.
fn idx(magic: u32, sizes: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for size in sizes {
        bytes.extend(size.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn idx_files_plain_and_gzip() {
    let images = idx(0x803, &[2, 2, 3], &[0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6]);
    let labels = idx(0x801, &[2], &[7, 3]);
    for (name, images, labels) in
        [("plain", images.clone(), labels.clone()), ("gz", gzip(&images), gzip(&labels))]
    {
        let data = read_mnist::<f64>(
            scratch(&format!("{name}-images"), &images),
            scratch(&format!("{name}-labels"), &labels),
        )
        .unwrap();
        assert_eq!((data.len(), data.features()), (2, 6));
        assert_eq!(data.input(0), [0.0, 1.0, 0.2, 0.4, 0.6, 0.8]);
        assert_eq!(data.targets(), [7.0, 3.0]);
        assert!(data.location(1).ends_with("images, image 2"));
    }
}

#[test]
fn an_idx_file_with_a_wrong_magic_number_says_which() {
    let labels = scratch("swapped", &idx(0x801, &[1], &[7]));
    let error = read_images(&labels).unwrap_err();
    assert!(
        matches!(error, DataError::IdxMagic { kind: "images", expected: 0x803, found: 0x801, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("swapped: magic number 0x00000801, but an IDX images file starts with 0x00000803"),
        "{error}"
    );
    let text = scratch("text.gz", &gzip(b"not an idx file"));
    assert!(matches!(read_labels(&text).unwrap_err(), DataError::IdxMagic { kind: "labels", .. }));
}

#[test]
fn a_truncated_idx_file_says_how_much_is_missing() {
    let short = scratch("short", &idx(0x803, &[3, 2, 2], &[1, 2, 3, 4, 5]));
    let error = read_images(&short).unwrap_err();
    assert!(matches!(error, DataError::IdxTruncated { expected: 28, found: 21, .. }), "{error}");
    let header_only = scratch("header", &0x801_u32.to_be_bytes());
    assert!(matches!(
        read_labels(&header_only).unwrap_err(),
        DataError::IdxTruncated { expected: 8, found: 4, .. }
    ));
    let images = scratch("two-images", &idx(0x803, &[2, 1, 1], &[1, 2]));
    let labels = scratch("three-labels", &idx(0x801, &[3], &[1, 2, 3]));
    assert!(matches!(
        read_mnist::<f32>(&images, &labels).unwrap_err(),
        DataError::IdxCount { images: 2, labels: 3, .. }
    ));
}

#[test]
fn the_bundled_mnist_test_set_loads() {
    let data = read_mnist::<f32>(
        bundled("mnist/t10k-images-idx3-ubyte.gz"),
        bundled("mnist/t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!((data.len(), data.features()), (10_000, 784));
    let mut counts = [0; 10];
    for n in 0..data.len() {
        counts[data.target(n)[0] as usize] += 1;
    }
    assert_eq!(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], "the published label counts");
}

#[test]
fn split_scale_and_one_hot() {
    let data = csv(
        "grid.csv",
        &(0..20).fold(String::from("a,b,label\n"), |s, k| s + &format!("{k},{},{}\n", 2 * k + 1, k % 3)),
    )
    .unwrap();
    let (train, test) = data.split(0.25, 7);
    assert_eq!((train.len(), test.len()), (15, 5));
    assert_eq!(data.split(0.25, 7), (train.clone(), test.clone()), "seeded");
    assert_ne!(data.split(0.25, 8).1, test);
    // Locations follow their samples through the split.
    let first = test.source().unwrap().locations[0];
    // Row k holds feature k on line k + 2, a small integer: exact.
    assert!((test.input(0)[0] - (first - 2) as f64).abs() < f64::EPSILON);

    let scaler = Standardizer::fit(&train);
    let (mut train_scaled, mut test_scaled) = (train.clone(), test.clone());
    scaler.apply(&mut train_scaled);
    scaler.apply(&mut test_scaled);
    let mean: f64 = (0..train_scaled.len()).map(|n| train_scaled.input(n)[0]).sum::<f64>() / 15.0;
    let variance: f64 = (0..train_scaled.len()).map(|n| train_scaled.input(n)[0].powi(2)).sum::<f64>() / 15.0;
    assert!(mean.abs() < 1e-12 && (variance - 1.0).abs() < 1e-12, "fitted on train: mean 0, variance 1");
    let test_mean: f64 = (0..test_scaled.len()).map(|n| test_scaled.input(n)[0]).sum::<f64>() / 5.0;
    assert!(test_mean.abs() > 1e-6, "the test split is scaled with the train statistics, not its own");

    let range = MinMaxScaler::fit(&train);
    let mut unit = train.clone();
    range.apply(&mut unit);
    assert!(unit.inputs().iter().all(|&x| (0.0..=1.0).contains(&x)));
    assert!(unit.inputs().contains(&0.0) && unit.inputs().contains(&1.0));

    let encoded = data.one_hot(3).unwrap();
    assert_eq!((encoded.target_width(), encoded.target(4)), (3, &[0.0, 1.0, 0.0][..]));
    let error = data.one_hot(2).unwrap_err();
    assert!(
        error.to_string().ends_with("grid.csv, line 4: label 2 is not one of the network's classes 0 to 1"),
        "{error}"
    );
}

#[test]
fn features_become_ids_for_an_embedding_and_a_fraction_is_an_error_naming_its_cell() {
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let digits = read_csv::<f32>(bundled("digits.csv"), &options).unwrap();
    let ids = digits.to_ids().unwrap();
    assert_eq!((ids.len(), ids.features()), (1797, 64));
    assert!(ids.inputs().iter().all(|&id| id <= 16), "pixel values 0–16");
    assert_eq!(ids.inputs()[..8], digits.inputs()[..8].iter().map(|&v| v as u32).collect::<Vec<_>>()[..]);
    assert_eq!(ids.targets(), digits.targets());
    let data = csv("ids.csv", "a,b,label\n1,2,0\n3,2.5,1\n").unwrap();
    let error = data.to_ids().unwrap_err();
    assert!(matches!(error, DataError::NotAnId { column: 1, .. }), "{error}");
    assert!(
        error
            .to_string()
            .ends_with("ids.csv, line 3: feature 1 is 2.5, which is not an id (a whole number from 0)"),
        "{error}"
    );
    let negative = csv("negative.csv", "a,label\n-1,0\n").unwrap();
    assert!(matches!(negative.to_ids(), Err(DataError::NotAnId { column: 0, .. })));
}

#[test]
fn images_carry_their_shape() {
    let options = CsvOptions {
        label: Label::Name("label".into()),
        shape: Some(vec![1, 8, 8]),
        ..CsvOptions::default()
    };
    let digits = read_csv::<f32>(bundled("digits.csv"), &options).unwrap();
    assert_eq!(digits.shape(), [1, 8, 8]);
    assert_eq!(digits.split(0.2, 0).0.shape(), [1, 8, 8], "a split keeps the shape");
    let wrong = CsvOptions { shape: Some(vec![1, 8, 7]), ..options };
    let error = read_csv::<f32>(bundled("digits.csv"), &wrong).unwrap_err();
    assert!(matches!(error, DataError::ShapeSize { features: 64, .. }), "{error}");
    assert!(error.to_string().contains("digits.csv"), "{error}");
    let images = read_mnist::<f32>(
        bundled("mnist/t10k-images-idx3-ubyte.gz"),
        bundled("mnist/t10k-labels-idx1-ubyte.gz"),
    );
    assert_eq!(images.unwrap().shape(), [1, 28, 28]);
}
