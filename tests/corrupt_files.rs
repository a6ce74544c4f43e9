//! The loaders of untrusted files — safetensors, IDX (plain and gzip), CSV — on corrupted
//! bytes: truncated, bit-flipped, spliced, with oversized or lying headers, wrong dtypes,
//! shapes whose product overflows, NaN and huge values, non-UTF-8. Every case is a typed
//! error or a loaded value, never a panic. A bounded number of cases runs here; the
//! libFuzzer targets in `fuzz/` run the same loaders without bound (see the README).

use std::path::PathBuf;

use nn::data::csv::{CsvOptions, Label, read_csv};
use nn::prelude::*;
use proptest::prelude::*;

nn::network! {
    /// Parameters, state and an `int64` count: every tensor kind a file can hold.
    struct Net { input(2, 4), gru(4 -> 3), last_step, dense(3 -> 4, relu), batch_norm, dense(2) }
}

/// `bytes` written to a file of this test binary's own, one per case name and thread.
fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let directory =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nn-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_alphanumeric(), "");
    let path = directory.join(format!("{name}-{thread}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A valid file of `Net`'s parameters and state.
fn valid_safetensors() -> Vec<u8> {
    let path = file("valid.safetensors", &[]);
    Net::<f32>::seeded(1).save(&path).unwrap();
    std::fs::read(&path).unwrap()
}

/// A safetensors file with this header JSON and data.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// A valid IDX image file: 2 images of 3 × 3.
fn valid_idx() -> Vec<u8> {
    let mut bytes = Vec::new();
    for value in [0x0803_u32, 2, 3, 3] {
        bytes.extend_from_slice(&value.to_be_bytes());
    }
    bytes.extend((0..18).map(|p| p * 14));
    bytes
}

const VALID_CSV: &str = "a,b,c,d,label\n0.5,1,2,3,0\n4,5,6,7,1\n8,9,10,11,2\n";

/// What can happen to a valid file.
#[derive(Clone, Debug)]
enum Corruption {
    Truncate(usize),
    FlipBit(usize, u8),
    Overwrite(usize, Vec<u8>),
    Insert(usize, Vec<u8>),
}

impl Corruption {
    fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        let at = |position: usize, len: usize| position % (len + 1);
        match self {
            Self::Truncate(position) => bytes.truncate(at(*position, bytes.len())),
            Self::FlipBit(position, bit) => {
                if !bytes.is_empty() {
                    let index = position % bytes.len();
                    bytes[index] ^= 1 << (bit % 8);
                }
            }
            Self::Overwrite(position, patch) => {
                let start = at(*position, bytes.len());
                for (offset, &byte) in patch.iter().enumerate() {
                    if let Some(target) = bytes.get_mut(start + offset) {
                        *target = byte;
                    }
                }
            }
            Self::Insert(position, patch) => {
                let start = at(*position, bytes.len());
                bytes.splice(start..start, patch.iter().copied());
            }
        }
        bytes
    }
}

fn corruption() -> impl Strategy<Value = Vec<Corruption>> {
    let patch = proptest::collection::vec(
        prop_oneof![any::<u8>(), Just(0xff), Just(0), Just(b'"'), Just(b'9'), Just(0x80)],
        1..12,
    );
    let one = prop_oneof![
        any::<usize>().prop_map(Corruption::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Corruption::FlipBit(p, b)),
        (any::<usize>(), patch.clone()).prop_map(|(p, b)| Corruption::Overwrite(p, b)),
        (any::<usize>(), patch).prop_map(|(p, b)| Corruption::Insert(p, b)),
    ];
    proptest::collection::vec(one, 1..4)
}

fn corrupt(bytes: &[u8], corruptions: &[Corruption]) -> Vec<u8> {
    corruptions.iter().fold(bytes.to_vec(), |bytes, c| c.apply(&bytes))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_corrupted_safetensors_file_loads_or_is_a_typed_error(corruptions in corruption()) {
        let path = file("corrupt.safetensors", &corrupt(&valid_safetensors(), &corruptions));
        let _ = nn::io::load::<f32, Net<f32>>(&path);
        let _ = nn::io::load::<f64, Net<f64>>(&path);
    }

    #[test]
    fn a_corrupted_idx_file_loads_or_is_a_typed_error(corruptions in corruption(), gzip in any::<bool>()) {
        let mut bytes = corrupt(&valid_idx(), &corruptions);
        if gzip {
            // A gzip stream of the corrupted file, itself cut short half the time.
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut encoder, &bytes).unwrap();
            bytes = encoder.finish().unwrap();
            let keep = bytes.len() - corruptions.len() % 2 * bytes.len() / 3;
            bytes.truncate(keep);
        }
        let path = file("corrupt-idx", &bytes);
        if let Ok(images) = nn::data::idx::read_images(&path) {
            prop_assert_eq!(images.pixels.len(), images.count() * images.rows * images.columns);
        }
        let _ = nn::data::idx::read_labels(&path);
    }

    #[test]
    fn a_corrupted_csv_file_loads_or_is_a_typed_error(corruptions in corruption()) {
        let path = file("corrupt.csv", &corrupt(VALID_CSV.as_bytes(), &corruptions));
        for options in [
            CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() },
            CsvOptions { shape: Some(vec![1, 2, 2]), ..CsvOptions::default() },
        ] {
            if let Ok(data) = read_csv::<f32>(&path, &options) {
                prop_assert_eq!(data.inputs().len(), data.len() * data.features());
            }
        }
    }
}

#[test]
fn hostile_safetensors_headers_are_typed_errors() {
    let cases = [
        // A header length of 2⁶⁴ − 1 bytes in a 20-byte file.
        [u64::MAX.to_le_bytes().as_slice(), b"{}{}{}{}{}{}"].concat(),
        // Shapes whose product overflows, and one that promises far more data than there is.
        safetensors(
            r#"{"0.weight":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
        safetensors(
            r#"{"0.weight":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
        // Offsets past the end, reversed, and a dtype nn does not load.
        safetensors(r#"{"0.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4000000000]}}"#, &[0; 4]),
        safetensors(r#"{"0.weight":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, &[0; 4]),
        safetensors(r#"{"0.weight":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}"#, &[1]),
        // Not JSON, not UTF-8, empty.
        safetensors("{\"0.weight\":", &[]),
        [8_u64.to_le_bytes().as_slice(), &[0xff, 0xfe, 0xfd, 0xfc, 0x80, 0x81, 0x82, 0x83]].concat(),
        Vec::new(),
    ];
    for (case, bytes) in cases.iter().enumerate() {
        let path = file(&format!("hostile-{case}.safetensors"), bytes);
        let error = nn::io::load::<f32, Net<f32>>(&path).expect_err("a hostile file is an error");
        assert!(error.to_string().contains(&path.display().to_string()), "case {case}: {error}");
    }
}

#[test]
fn nan_and_huge_weights_load_as_written() {
    // PyTorch loads them too: a file's values are the user's, only its structure is checked.
    let mut network = Net::<f32>::seeded(2);
    network.parameters_mut()[0] = f32::NAN;
    network.parameters_mut()[1] = f32::MAX;
    let path = file("nan.safetensors", &[]);
    network.save(&path).unwrap();
    let loaded = Net::<f32>::load(&path).unwrap();
    assert!(loaded.parameters()[0].is_nan());
    assert_eq!(loaded.parameters()[1].to_bits(), f32::MAX.to_bits());
}

#[test]
fn non_utf8_csv_is_an_error_naming_the_file() {
    let path = file("latin1.csv", b"a,b,label\n1,\xe9,0\n");
    let error = read_csv::<f32>(&path, &CsvOptions::default()).expect_err("not UTF-8");
    assert!(error.to_string().contains("latin1.csv"), "{error}");
}
