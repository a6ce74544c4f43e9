//! What the bench targets share: reading back criterion's results for their reports, and
//! taking a timed training step's loss.
//!
//! Not a bench target of its own (Cargo discovers `benches/*.rs` and `benches/*/main.rs`);
//! each bench includes it with `#[path = "../common/mod.rs"] mod common;`.

use std::path::{Path, PathBuf};

/// Criterion's median time in ns of `group/function/parameter`, from its `estimates.json`.
///
/// `None` when that benchmark has not run (a filtered run) or its file does not parse.
/// Criterion writes a function name's `/` as `_` in the directory name.
pub fn median(group: &str, function: &str, parameter: &str) -> Option<f64> {
    let path = target_dir()
        .join("criterion")
        .join(group)
        .join(function.replace('/', "_"))
        .join(parameter)
        .join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// The target directory criterion writes under: `CARGO_TARGET_DIR`, or the workspace's.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"), Into::into)
}

/// The loss of a training step, taken as a caller takes it (with `?` or `unwrap`): the
/// closures that time nn's steps return it, as the hand-written steps return theirs.
///
/// Returned whole, the 64-byte `Result<f32, TrainError>` went through criterion's
/// `black_box` as a copy whose 16-byte loads spanned the step's narrower stores of it,
/// which the CPU cannot forward: W1's one-sample step took 1.10–1.12× the time of the same
/// step whose loss was taken (the two alternated in one process on the Zen 3 EPYC of
/// `BENCHMARKS.md`, the median ratio of 200 rounds, in four runs). Every timed step ran
/// once before timing, its loss checked against the baseline's.
#[inline(always)]
pub fn loss(step: Result<f32, nn::TrainError>) -> f32 {
    step.expect("a step that succeeded before timing")
}
