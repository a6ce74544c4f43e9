//! The IDX readers (plain or gzip) on any bytes: typed `DataError`s, never a panic, and no
//! allocation sized by a lying header.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = common::as_file(bytes);
    if let Ok(images) = nn::data::idx::read_images(&path) {
        assert_eq!(images.pixels.len(), images.count() * images.rows * images.columns);
    }
    let _ = nn::data::idx::read_labels(&path);
    let _ = nn::data::idx::read_mnist::<f32>(&path, &path);
});
