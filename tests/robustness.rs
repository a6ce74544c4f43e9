//! Anything a user can call, write or load: a typed error or a documented, checked
//! precondition, never a panic deep inside a kernel. Each test here failed (panicked) before
//! the fix it guards.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

use nn::data::DataError;
use nn::loss::LossError;
use nn::metrics::ConfusionMatrix;
use nn::prelude::*;

/// Counts the bytes this thread asks the allocator for, so a test can bound what reading a
/// hostile file costs.
struct CountingAllocator;

thread_local! {
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.with(|bytes| bytes.set(bytes.get() + layout.size()));
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        BYTES.with(|bytes| bytes.set(bytes.get() + new_size));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn bytes_allocated_during<R>(work: impl FnOnce() -> R) -> (R, usize) {
    let before = BYTES.with(Cell::get);
    let result = work();
    (result, BYTES.with(Cell::get) - before)
}

/// A file of these bytes, in a directory of this test binary's own.
fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let directory = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("nn-robustness-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_loss_on_a_prediction_of_no_outputs_is_a_typed_error() {
    let loss = SoftmaxCrossEntropy;
    assert_eq!(Loss::<f64>::value(&loss, &[], &[0.0], 0), Err(LossError::NoOutputs));
    assert_eq!(Loss::<f64>::correct(&loss, &[], &[0.0], 0), None);
    assert_eq!(Loss::<f64>::value(&MeanSquaredError, &[], &[], 0), Err(LossError::NoOutputs));
    let message = LossError::NoOutputs.to_string();
    assert!(message.contains("at least one output"), "{message}");
}

#[test]
fn a_class_index_error_of_no_classes_still_formats() {
    let error = LossError::ClassIndex { sample: 3, value: 1.0, classes: 0 };
    assert!(error.to_string().starts_with("sample 3: target 1 is not a class index"));
}

#[test]
fn a_confusion_matrix_of_no_classes_is_empty_and_a_bad_query_names_the_classes() {
    let empty = ConfusionMatrix::from_outputs(&[0.5_f32], &[0.0], 0);
    assert!(format!("{empty}").lines().count() <= 2);
    let matrix = ConfusionMatrix::from_outputs(&[0.1_f32, 0.9], &[1.0], 2);
    assert_eq!(matrix.count(1, 1), 1);
    let panic = std::panic::catch_unwind(|| matrix.count(2, 0)).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("class 2 predicted as 0") && message.contains("2 classes"), "{message}");
}

#[test]
fn switching_amsgrad_on_after_prepare_steps_instead_of_panicking() {
    let mut adam = Adam::<f64>::new(AdamConfig::default());
    let mut parameters = vec![0.5, -0.5, 1.0];
    Optimizer::prepare(&mut adam, 3);
    let mut values = [0.1, 0.2, 0.3];
    assert!(adam.step(&parameters, &mut values));
    parameters.copy_from_slice(&values);
    adam.config.amsgrad = true;
    assert!(adam.step(&parameters, &mut [0.1, 0.2, 0.3]));
}

#[test]
fn switching_centring_and_momentum_on_after_prepare_steps_instead_of_panicking() {
    let mut rmsprop = RmsProp::<f64>::new(RmsPropConfig::default());
    Optimizer::prepare(&mut rmsprop, 2);
    rmsprop.config.centered = true;
    rmsprop.config.momentum = 0.9;
    assert!(rmsprop.step(&[0.5, -0.5], &mut [0.1, 0.2]));
}

#[test]
fn an_optimizer_step_on_buffers_of_different_lengths_names_them() {
    let mut sgd = Sgd::<f64>::with_learning_rate(0.1);
    let panic = std::panic::catch_unwind(move || sgd.step(&[1.0, 2.0], &mut [0.5])).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("2 parameters and 1 gradients"), "{message}");
}

#[test]
fn a_location_past_the_recorded_ones_names_the_file_and_sample() {
    let data = Dataset::new(1, 1, vec![0.0_f32, 1.0], vec![0.0, 1.0]).unwrap().with_source(
        std::path::Path::new("rows.csv"),
        "line",
        vec![2],
    );
    assert_eq!(data.location(0), "rows.csv, line 2");
    assert_eq!(data.location(1), "rows.csv, sample 1");
}

/// An IDX image header: magic, count, rows, columns.
fn idx_images(count: u32, rows: u32, columns: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for value in [0x0803, count, rows, columns] {
        bytes.extend_from_slice(&value.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

#[test]
fn an_idx_header_whose_sizes_overflow_is_a_typed_error_that_allocates_nothing_for_them() {
    let path = file("overflow-idx", &idx_images(u32::MAX, u32::MAX, u32::MAX, &[1, 2, 3]));
    let (result, bytes) = bytes_allocated_during(|| nn::data::idx::read_images(&path));
    match result {
        Err(DataError::IdxTooLarge { sizes, .. }) => assert_eq!(sizes, vec![u32::MAX as usize; 3]),
        other => panic!("expected IdxTooLarge, got {other:?}"),
    }
    // The file (19 bytes), its path and the error: nothing sized by the header.
    assert!(bytes < 4096, "{bytes} bytes allocated");
}

#[test]
fn an_idx_header_that_promises_gigabytes_is_a_truncation_error_within_the_files_size() {
    let path = file("lying-idx", &idx_images(1_000_000, 1000, 1000, &[7; 64]));
    let (result, bytes) = bytes_allocated_during(|| nn::data::idx::read_images(&path));
    match result {
        Err(error @ DataError::IdxTruncated { .. }) => {
            let message = error.to_string();
            assert!(message.contains("lying-idx") && message.contains("1000000000016"), "{message}");
        }
        other => panic!("expected IdxTruncated, got {other:?}"),
    }
    assert!(bytes < 4096, "{bytes} bytes allocated for an 80-byte file");
}

/// A safetensors file with this header JSON and data.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

nn::network! { struct Loaded { dense(1000 -> 1000) } }

#[test]
fn a_safetensors_header_that_lies_costs_a_small_multiple_of_the_files_size() {
    let cases = [
        // A header length of 2⁶⁴ − 1 bytes in a 20-byte file.
        [u64::MAX.to_le_bytes().as_slice(), b"{}{}{}{}{}{}"].concat(),
        // The right names, shapes and dtypes for a network of a million weights (4 MB),
        // over 8 bytes of data.
        safetensors(
            r#"{"0.weight":{"dtype":"F32","shape":[1000,1000],"data_offsets":[0,4000000]},"0.bias":{"dtype":"F32","shape":[1000],"data_offsets":[4000000,4004000]}}"#,
            &[0; 8],
        ),
        // Shapes whose product overflows, and offsets far past the end.
        safetensors(
            r#"{"0.weight":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
        safetensors(r#"{"0.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4000000000]}}"#, &[0; 4]),
    ];
    for (case, bytes) in cases.iter().enumerate() {
        let path = file(&format!("lying-{case}.safetensors"), bytes);
        let (result, allocated) = bytes_allocated_during(|| nn::io::load::<f32, Loaded<f32>>(&path));
        let error = result.expect_err("a lying file is an error");
        assert!(error.to_string().contains(&path.display().to_string()), "case {case}: {error}");
        // The file read whole, the parsed header, the path and the message: nothing sized by
        // what the header claims.
        let bound = 4 * bytes.len() + 8192;
        assert!(
            allocated <= bound,
            "case {case}: {allocated} bytes allocated for a {}-byte file",
            bytes.len()
        );
    }
}

#[test]
fn a_sample_that_is_not_there_is_a_panic_naming_it_and_a_subset_keeps_what_locations_it_has() {
    let data = Dataset::new(1, 1, vec![0.0_f32, 1.0, 2.0], vec![0.0, 1.0, 0.0]).unwrap().with_source(
        std::path::Path::new("rows.csv"),
        "line",
        vec![2, 3],
    );
    let panic = std::panic::catch_unwind(|| data.input(3).len()).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("sample 3 of rows.csv: it has 3 samples"), "{message}");
    let subset = data.subset(&[1, 2, 0]);
    assert_eq!(subset.location(0), "rows.csv, line 3");
    assert_eq!(subset.location(1), "rows.csv, sample 1");
}

#[test]
fn backward_with_a_gradient_buffer_of_the_wrong_size_names_both_counts() {
    nn::network! { struct Tiny { dense(2 -> 1) } }
    let network = Tiny::<f32>::seeded(0);
    let mut workspace = Tiny::<f32>::workspace();
    let mut network = network;
    network.forward_train(&[0.5, 0.5], &mut workspace, &mut nn::init::seeded_rng(0)).unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        network.backward(&mut workspace, &mut [0.0; 2]);
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("holds 2 values") && message.contains("3 parameters"), "{message}");
}

#[test]
fn errors_about_huge_shapes_and_zero_classes_still_format() {
    let data = Dataset::new(4, 1, vec![0.0_f32; 4], vec![0.0]).unwrap();
    let error = data.with_shape(&[usize::MAX, 2]).expect_err("no such shape holds 4 features");
    let message = error.to_string();
    assert!(
        message.contains("more values than memory can address") && message.contains("4 features"),
        "{message}"
    );
    let error = DataError::LabelOutOfRange { location: "rows.csv, line 3".into(), value: 1.0, classes: 0 };
    assert!(error.to_string().starts_with("rows.csv, line 3: label 1"), "{error}");
}
