//! Saving and loading safetensors: round trips, PyTorch interop, strict loading with errors
//! that name the tensor and both shapes, and atomic writes that never destroy the previous
//! file.

// Round trips must be bit-exact, so equality of floats is the claim.
#![allow(clippy::float_cmp)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nn::io::{self, IoError};
use nn::prelude::*;
use support::{Fixture, flatten};

/// `name` inside a directory of its own (tests run in parallel and must not see each
/// other's files).
fn scratch(name: &str) -> PathBuf {
    let stem = name.split('/').next().unwrap_or(name);
    let directory = run_directory().join(format!("{stem}.dir"));
    std::fs::create_dir_all(&directory).unwrap();
    directory.join(name)
}

/// This run's directory, under the target directory (Cargo provides it to integration
/// tests, so test runs leave nothing behind outside `target/`), emptied on first use: a
/// process id comes round again, and an earlier run's files (the temporary file of a
/// simulated crash) must not be found by this one's checks.
fn run_directory() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let run =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nn-persistence-{}", std::process::id()));
        match std::fs::remove_dir_all(&run) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                panic!("{}: {error}", run.display())
            }
            _ => run,
        }
    })
}

nn::network! { struct Mlp { hidden: dense(4 -> 6, relu), dropout(0.1), out: dense(6 -> 3) } }
nn::network! { struct Wider { hidden: dense(4 -> 7, relu), out: dense(7 -> 3) } }

#[test]
fn a_saved_network_loads_back_identically_in_f32_and_f64() {
    let path = scratch("round-trip.safetensors");
    let net = Mlp::<f64>::seeded(4);
    net.save(&path).unwrap();
    assert_eq!(Mlp::<f64>::load(&path).unwrap(), net);
    let single = Mlp::<f32>::seeded(4);
    single.save(&path).unwrap();
    let back = Mlp::<f32>::load(&path).unwrap();
    let x = SVector::<f32, 4>::new(0.1, -0.2, 0.3, 0.4);
    assert_eq!(back.forward(&x), single.forward(&x), "bit-identical predictions");
    // An f32 file loads into an f64 network (exactly: every f32 is an f64).
    let widened = Mlp::<f64>::load(&path).unwrap();
    assert!(widened.parameters().iter().zip(single.parameters()).all(|(&w, &s)| w == f64::from(s)));
}

#[test]
fn the_same_network_saves_as_the_same_bytes() {
    // A committed model (`models/digits_small.safetensors`) must not change when it is
    // regenerated: nothing in the file may depend on a hash map's order.
    let net = Mlp::<f32>::seeded(4);
    let saves: Vec<Vec<u8>> = (0..8)
        .map(|n| {
            let path = scratch(&format!("reproducible-{n}.safetensors"));
            net.save(&path).unwrap();
            std::fs::read(&path).unwrap()
        })
        .collect();
    assert!(saves.iter().all(|bytes| *bytes == saves[0]));
}

#[test]
fn saving_leaves_no_temporary_file_and_replaces_the_old_one() {
    let path = scratch("replace.safetensors");
    Mlp::<f32>::seeded(1).save(&path).unwrap();
    let newer = Mlp::<f32>::seeded(2);
    newer.save(&path).unwrap();
    assert_eq!(Mlp::<f32>::load(&path).unwrap(), newer);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_failed_save_leaves_what_was_there() {
    // The destination is a directory holding a file: the rename fails, nothing is lost.
    let path = scratch("occupied");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("keep.txt"), b"precious").unwrap();
    let error = Mlp::<f32>::seeded(1).save(&path).unwrap_err();
    assert!(matches!(&error, IoError::Write { path: p, .. } if *p == path), "{error}");
    assert_eq!(std::fs::read(path.join("keep.txt")).unwrap(), b"precious");
    assert!(
        !std::fs::read_dir(path.parent().unwrap()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
    let error = Mlp::<f32>::seeded(1).save(scratch("no/such/directory/model.safetensors")).unwrap_err();
    assert!(matches!(error, IoError::Write { .. }));
}

#[test]
fn another_architecture_is_an_error_naming_the_tensor_and_both_shapes() {
    let path = scratch("wider.safetensors");
    Wider::<f32>::seeded(1).save(&path).unwrap();
    let error = Mlp::<f32>::load(&path).unwrap_err();
    assert!(
        matches!(&error, IoError::Shape { tensor, expected, found, .. } if tensor == "hidden.weight" && expected == &[6, 4] && found == &[7, 4]),
        "{error}"
    );
    assert!(
        error.to_string().ends_with(
            "wider.safetensors: tensor `hidden.weight` has shape [7, 4], but the network's is [6, 4]"
        ),
        "{error}"
    );
}

#[test]
fn missing_unexpected_and_corrupt_files_are_errors() {
    nn::network! { struct Renamed { first: dense(4 -> 6, relu), out: dense(6 -> 3) } }
    nn::network! { struct Shorter { hidden: dense(4 -> 6, relu) } }
    let path = scratch("mlp.safetensors");
    Mlp::<f32>::seeded(1).save(&path).unwrap();
    let error = Renamed::<f32>::load(&path).unwrap_err();
    assert!(error.to_string().ends_with("mlp.safetensors: no tensor `first.weight` (the file has `hidden.bias`, `hidden.weight`, `out.bias`, `out.weight`)"), "{error}");
    let error = Shorter::<f32>::load(&path).unwrap_err();
    assert!(
        error.to_string().ends_with(
            "mlp.safetensors: tensors `out.bias`, `out.weight` are not parameters of this network"
        ),
        "{error}"
    );
    let renamed: Renamed<f32> = io::load_renamed(&path, |name| name.replace("first", "hidden")).unwrap();
    assert_eq!(renamed.parameters(), Mlp::<f32>::seeded(1).parameters());
    let garbage = scratch("garbage.safetensors");
    std::fs::write(&garbage, b"definitely not safetensors").unwrap();
    assert!(matches!(Mlp::<f32>::load(&garbage).unwrap_err(), IoError::Format { .. }));
    assert!(matches!(Mlp::<f32>::load(scratch("absent.safetensors")).unwrap_err(), IoError::Read { .. }));
}

// PyTorch's `nn.Sequential(Linear(13, 16), ReLU(), Linear(16, 3))` names its tensors by
// module index: `0.weight`, `0.bias`, `2.weight`, `2.bias`. The same layers declared unnamed,
// one per module, get exactly these names in nn, so the file loads as it is.
nn::network! { struct WineMlp { dense(13 -> 16), relu, dense(16 -> 3) } }

#[test]
fn a_pytorch_sequential_state_dict_reproduces_pytorchs_logits() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/torch_sequential/wine_mlp.safetensors");
    let reference = Fixture::load("torch_sequential/wine_mlp.json").json;
    let expected_logits = flatten(&reference["expected_logits"]);
    let expected_classes = flatten(&reference["expected_class"]);
    for (name, standardised) in [
        ("given", flatten(&reference["inputs_standardised"])),
        ("recomputed", standardise_wine_rows(&reference)),
    ] {
        let net = WineMlp::<f32>::load(path).unwrap();
        let mut worst: f64 = 0.0;
        for (n, row) in standardised.chunks(13).enumerate() {
            let logits = net.forward(&SVector::<f32, 13>::from_fn(|i, _| row[i] as f32));
            for k in 0..3 {
                worst = worst.max((f64::from(logits[k]) - expected_logits[3 * n + k]).abs());
            }
            assert_eq!(nn::loss::argmax(logits.as_slice()), expected_classes[n] as usize);
        }
        println!("wine MLP ({name} inputs): worst absolute logit error {worst:e}");
        assert!(worst < 1e-5, "{name}: {worst:e}");
    }
}

/// The sample rows of `data/wine.csv`, standardised with the mean and std in the fixture.
fn standardise_wine_rows(reference: &serde_json::Value) -> Vec<f64> {
    let wine = nn::data::csv::read_csv::<f64>(
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/wine.csv"),
        &nn::data::csv::CsvOptions::default(),
    )
    .unwrap();
    let (mean, std) = (flatten(&reference["standardise"]["mean"]), flatten(&reference["standardise"]["std"]));
    let rows = flatten(&reference["sample_rows"]);
    rows.iter()
        .flat_map(|&row| {
            wine.input(row as usize)
                .iter()
                .zip(&mean)
                .zip(&std)
                .map(|((x, m), s)| (x - m) / s)
                .collect::<Vec<_>>()
        })
        .collect()
}

// PyTorch's `nn.Sequential(Linear(4, 8), BatchNorm1d(8), Tanh(), Linear(8, 3))`: the batch
// norm's parameters and all three buffers (`num_batches_tracked` as int64, shape []) load by
// name into the same layers declared unnamed.
nn::network! { struct IrisBn { dense(4 -> 8), batch_norm(8), tanh, dense(8 -> 3) } }

const IRIS_BN: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/torch_sequential/iris_bn.safetensors");

#[test]
fn a_pytorch_state_dict_with_batch_norm_reproduces_pytorchs_eval_logits() {
    let reference = Fixture::load("torch_sequential/iris_bn.json").json;
    let inputs = flatten(&reference["inputs_standardised"]);
    let classes = flatten(&reference["expected_class"]);
    let single = IrisBn::<f32>::load(IRIS_BN).unwrap();
    let double = IrisBn::<f64>::load(IRIS_BN).unwrap();
    assert_eq!(double.buffer("1.num_batches_tracked"), Some(&[200.0][..]));
    for (name, expected, tolerance, worst) in [
        ("f32", flatten(&reference["expected_logits"]), 1e-5, &mut 0.0_f64),
        ("f64", flatten(&reference["expected_logits_f64"]), 1e-12, &mut 0.0_f64),
    ] {
        for (n, row) in inputs.chunks(4).enumerate() {
            let logits: Vec<f64> = if name == "f32" {
                let x = SVector::<f32, 4>::from_fn(|i, _| row[i] as f32);
                single.forward(&x).iter().map(|&v| f64::from(v)).collect()
            } else {
                double.forward(&SVector::<f64, 4>::from_column_slice(row)).iter().copied().collect()
            };
            for k in 0..3 {
                *worst = worst.max((logits[k] - expected[3 * n + k]).abs());
            }
            assert_eq!(nn::loss::argmax(&logits), classes[n] as usize);
        }
        println!("iris batch-norm MLP ({name}): worst absolute logit error {worst:e}");
        assert!(*worst < tolerance, "{name}: {worst:e}");
    }
    // The batched paths use the same running statistics.
    let batch = nn::OMatrix::<f64, nn::Const<4>, nn::Dyn>::from_column_slice(&inputs);
    let logits = double.forward_batch(&batch);
    let expected = flatten(&reference["expected_logits_f64"]);
    assert!(logits.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-12));
}

/// The `dtype` the file's header gives a tensor.
fn stored_dtype(path: &std::path::Path, tensor: &str) -> String {
    let bytes = std::fs::read(path).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
    header[tensor]["dtype"].as_str().unwrap().to_owned()
}

#[test]
fn running_statistics_are_saved_and_loaded_with_the_parameters() {
    let mut trainer =
        Trainer::new(IrisBn::<f64>::seeded(3), SoftmaxCrossEntropy, Sgd::with_learning_rate(0.1));
    let inputs: Vec<f64> = (0..4 * 6).map(|i| f64::from(i % 7) / 7.0 - 0.4).collect();
    for _ in 0..3 {
        trainer.step(&inputs, &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0]).unwrap();
    }
    let net = trainer.into_network();
    assert_eq!(net.buffer("1.num_batches_tracked"), Some(&[3.0][..]));
    let path = scratch("state.safetensors");
    net.save(&path).unwrap();
    assert_eq!(stored_dtype(&path, "1.num_batches_tracked"), "I64", "as PyTorch writes it");
    assert_eq!(stored_dtype(&path, "1.running_var"), "F64");
    let back = IrisBn::<f64>::load(&path).unwrap();
    assert_eq!(back, net, "parameters and running statistics, bit for bit");
}

#[test]
fn missing_extra_misshapen_and_mistyped_state_tensors_are_errors_naming_them() {
    // The same layers with a layer norm where the batch norm was: its running statistics
    // have no place.
    nn::network! { struct IrisLn { dense(4 -> 8), layer_norm(8), tanh, dense(8 -> 3) } }
    let error = IrisLn::<f32>::load(IRIS_BN).unwrap_err();
    assert!(
        error.to_string().ends_with(
            "tensors `1.num_batches_tracked`, `1.running_mean`, `1.running_var` are not parameters of this network"
        ),
        "{error}"
    );
    // A batch norm where the file has none: the first missing tensor is named.
    nn::network! { struct WineBn { dense(13 -> 16), batch_norm(16), dense(16 -> 3) } }
    let wine = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/torch_sequential/wine_mlp.safetensors");
    match WineBn::<f32>::load(wine).unwrap_err() {
        IoError::Missing { tensor, .. } => assert_eq!(tensor, "1.weight"),
        other => panic!("{other}"),
    }
    nn::network! { struct Narrow { dense(4 -> 8), batch_norm(8), tanh, dense(8 -> 2) } }
    match Narrow::<f32>::load(IRIS_BN).unwrap_err() {
        IoError::Shape { tensor, expected, found, .. } => {
            assert_eq!((tensor.as_str(), expected, found), ("3.weight", vec![2, 8], vec![3, 8]));
        }
        other => panic!("{other}"),
    }
    // The file with its running mean's type changed from F32 to I32 (same size).
    let mut bytes = std::fs::read(IRIS_BN).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + length].to_vec()).unwrap();
    let at = header.find("\"1.running_mean\"").unwrap();
    let dtype = at + header[at..].find("F32").unwrap();
    bytes[8 + dtype..8 + dtype + 3].copy_from_slice(b"I32");
    let path = scratch("mistyped.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let error = IrisBn::<f32>::load(&path).unwrap_err();
    assert!(matches!(&error, IoError::Dtype { tensor, .. } if tensor == "1.running_mean"), "{error}");
    assert!(error.to_string().contains("`1.running_mean` is I32"), "{error}");
}

/// A file that takes `capacity` bytes, then fails as a full disk does.
struct FullDisk {
    file: std::fs::File,
    capacity: usize,
}

impl std::io::Write for FullDisk {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.capacity == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"));
        }
        let written = self.file.write(&bytes[..bytes.len().min(self.capacity)])?;
        self.capacity -= written;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Files in `path`'s directory besides `path` itself (temporary files left behind).
fn leftovers(path: &std::path::Path) -> Vec<String> {
    let directory = path.parent().unwrap();
    let names = std::fs::read_dir(directory).unwrap().map(|entry| entry.unwrap().file_name());
    let own = path.file_name().unwrap().to_string_lossy().into_owned();
    names.map(|name| name.to_string_lossy().into_owned()).filter(|name| *name != own).collect()
}

#[test]
fn a_save_that_fails_midway_leaves_the_previous_checkpoint_intact_and_loadable() {
    let path = scratch("checkpoint.safetensors");
    let (old, new) = (Mlp::<f32>::seeded(1), Mlp::<f32>::seeded(2));
    old.save(&path).unwrap();
    let new_bytes = {
        let elsewhere = scratch("newer.safetensors");
        new.save(&elsewhere).unwrap();
        std::fs::read(&elsewhere).unwrap()
    };
    let full_disk = |capacity: usize| {
        nn::io::write_atomically_via(
            &path,
            &new_bytes,
            |temporary| std::fs::File::create(temporary).map(|file| FullDisk { file, capacity }),
            |disk| disk.file.sync_all(),
        )
    };
    let crash_before_rename = || {
        nn::io::write_atomically_via(
            &path,
            &new_bytes,
            |temporary| std::fs::File::create(temporary),
            |_| Err(std::io::Error::other("power lost before the rename")),
        )
    };
    let failures = [0, 1, 100, new_bytes.len() / 2, new_bytes.len() - 1].map(full_disk);
    for failure in failures.into_iter().chain([crash_before_rename()]) {
        let error = failure.expect_err("the save fails");
        assert!(
            matches!(error, IoError::Write { .. }) && error.to_string().contains("checkpoint.safetensors"),
            "{error}"
        );
        assert_eq!(Mlp::<f32>::load(&path).unwrap(), old, "the previous checkpoint is intact");
        assert!(leftovers(&path).is_empty(), "left behind: {:?}", leftovers(&path));
    }
    // A process that died between write and rename leaves its temporary file: the checkpoint
    // still loads, and the next save goes through.
    std::fs::write(path.with_file_name(".checkpoint.safetensors.4242.tmp"), &new_bytes[..10]).unwrap();
    assert_eq!(Mlp::<f32>::load(&path).unwrap(), old);
    new.save(&path).unwrap();
    assert_eq!(Mlp::<f32>::load(&path).unwrap(), new);
}

#[test]
fn a_save_into_a_directory_that_cannot_hold_it_is_an_error_naming_the_file() {
    // Its "directory" is a file: creation fails whoever runs the test.
    let blocker = scratch("not-a-directory");
    std::fs::write(&blocker, b"a file").unwrap();
    let path = blocker.join("model.safetensors");
    let error = Mlp::<f32>::seeded(1).save(&path).expect_err("cannot be written");
    assert!(matches!(error, IoError::Write { .. }), "{error}");
    assert!(error.to_string().contains("not-a-directory/model.safetensors"), "{error}");
}

/// Set in the child process that runs the read-only test as an unprivileged user.
const READ_ONLY_DIRECTORY: &str = "NN_TEST_READ_ONLY_DIRECTORY";

/// Saves into `directory`, which holds `checkpoint.safetensors` of `Mlp::seeded(1)` and may
/// not be written: the save is an error naming the file, and the checkpoint is untouched.
fn save_into_read_only(directory: &std::path::Path) {
    let path = directory.join("checkpoint.safetensors");
    let error = Mlp::<f32>::seeded(2).save(&path).expect_err("a read-only directory cannot be written");
    assert!(matches!(error, IoError::Write { .. }), "{error}");
    assert!(error.to_string().contains("checkpoint.safetensors"), "{error}");
    assert_eq!(Mlp::<f32>::load(&path).unwrap(), Mlp::<f32>::seeded(1), "the previous checkpoint is intact");
    assert!(leftovers(&path).is_empty(), "left behind: {:?}", leftovers(&path));
}

/// Removes a directory, read-only or not, however the test that made it ends.
#[cfg(unix)]
struct Removed(PathBuf);

#[cfg(unix)]
impl Drop for Removed {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(unix)]
#[test]
fn a_save_into_a_read_only_directory_is_an_error_that_keeps_the_previous_checkpoint() {
    use std::os::unix::fs::PermissionsExt;
    if let Some(directory) = std::env::var_os(READ_ONLY_DIRECTORY) {
        return save_into_read_only(std::path::Path::new(&directory));
    }
    // Under the system's temporary directory, which any user can reach.
    let directory = std::env::temp_dir().join(format!("nn-read-only-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let _removed = Removed(directory.clone());
    Mlp::<f32>::seeded(1).save(directory.join("checkpoint.safetensors")).unwrap();
    std::fs::set_permissions(&directory, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = directory.join("probe");
    if std::fs::write(&probe, b"").is_err() {
        save_into_read_only(&directory);
    } else {
        // Root ignores a directory's mode: run this test again as user `nobody`.
        std::fs::remove_file(&probe).unwrap();
        let name = "a_save_into_a_read_only_directory_is_an_error_that_keeps_the_previous_checkpoint";
        let status = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads=1"])
            .env(READ_ONLY_DIRECTORY, &directory)
            .status()
            .expect("setpriv (util-linux) runs the test as an unprivileged user");
        assert!(status.success(), "the unprivileged run failed: {status}");
    }
}
