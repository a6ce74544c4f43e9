//! The loaders read paths, so each input is written to a file of this process's own in
//! memory-backed `/dev/shm` (or the temporary directory) first.

use std::path::PathBuf;

/// `bytes` as a file, the same path for every input of this process.
pub fn as_file(bytes: &[u8]) -> PathBuf {
    let directory = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let path = directory.join(format!("nn-fuzz-{}", std::process::id()));
    std::fs::write(&path, bytes).expect("the fuzzer's own scratch file is writable");
    path
}
