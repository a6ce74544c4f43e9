//! `read_csv` on any bytes, with each way of naming the label and a shape: typed
//! `DataError`s naming the file, never a panic.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use nn::data::csv::{CsvOptions, Label, read_csv};

fuzz_target!(|bytes: &[u8]| {
    let path = common::as_file(bytes);
    let options = [
        CsvOptions::default(),
        CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() },
        CsvOptions { label: Label::Index(0), header: false, ..CsvOptions::default() },
        CsvOptions { shape: Some(vec![1, 2, 2]), ..CsvOptions::default() },
    ];
    for options in &options {
        if let Ok(data) = read_csv::<f32>(&path, options) {
            assert_eq!(data.inputs().len(), data.len() * data.features());
            for n in 0..data.len() {
                let _ = data.location(n);
            }
        }
    }
});
