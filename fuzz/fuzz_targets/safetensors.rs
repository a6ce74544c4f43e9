//! `nn::io::load` on any bytes: a typed `IoError` or a network, never a panic, and no
//! allocation beyond a small multiple of the input (libFuzzer's `-rss_limit_mb` enforces it).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use nn::Network;

nn::network! {
    /// Parameters, state, an `int64` count: every tensor kind a file can hold.
    struct Net { input(2, 4), gru(4 -> 3), last_step, dense(3 -> 4, relu), batch_norm, dense(2) }
}

fuzz_target!(|bytes: &[u8]| {
    let path = common::as_file(bytes);
    if let Ok(network) = nn::io::load::<f32, Net<f32>>(&path) {
        assert_eq!(network.parameters().len(), Net::<f32>::PARAMETERS);
    }
    let _ = nn::io::load::<f64, Net<f64>>(&path);
});
