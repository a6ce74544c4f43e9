//! What the bench targets share: reading back criterion's results for their reports.
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
