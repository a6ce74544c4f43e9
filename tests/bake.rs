//! Baked networks (`#[weights = "…"]`): weights decoded from a safetensors file at compile
//! time equal the same file loaded at run time, bit for bit, for parameters, state and every
//! output; and an owned copy trains on from them.
//!
//! The files in `tests/weights/` are written by `regenerate_weights_files`:
//! `cargo test --test bake -- --ignored`, which must run before the baked declarations
//! compile when a layer list changes.

use nn::prelude::*;
use rand::Rng;

nn::network! {
    /// Dense layers with batch normalisation: parameters, running statistics and a count.
    pub struct Mlp {
        hidden: dense(4 -> 8, tanh),
        norm: batch_norm,
        out: dense(3),
    }
}

nn::network! {
    #[weights = "tests/weights/mlp_f32.safetensors"]
    /// `Mlp`, baked from an `f32` file.
    pub struct BakedMlp {
        hidden: dense(4 -> 8, tanh),
        norm: batch_norm,
        out: dense(3),
    }
}

nn::network! {
    /// `Mlp`, baked from an `f64` file.
    #[weights = "tests/weights/mlp_f64.safetensors"]
    pub struct WideBakedMlp {
        hidden: dense(4 -> 8, tanh),
        norm: batch_norm,
        out: dense(3),
    }
}

nn::network! {
    /// A streaming GRU.
    pub struct Gru { input(5, 3), gru(3 -> 6), dense(2) }
}

nn::network! {
    #[weights = "tests/weights/gru_f32.safetensors"]
    /// `Gru`, baked.
    pub struct BakedGru { input(5, 3), gru(3 -> 6), dense(2) }
}

fn weights_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/weights").join(name)
}

/// A seeded network with every value random: parameters and state alike, and a count.
fn randomised<T: nn::Real, N: Network<T>>(seed: u64) -> N {
    let mut rng = nn::init::seeded_rng(seed);
    let mut network = N::initialise(&mut rng);
    for value in network.parameters_mut() {
        *value = T::from_float(rng.random_range(-1.0..1.0));
    }
    for spec in N::buffer_specs() {
        let range = spec.offset..spec.offset + spec.len();
        for value in &mut network.buffers_mut()[range] {
            *value = if spec.integer {
                T::from_float(f64::from(rng.random_range(0..1000)))
            } else {
                T::from_float(rng.random_range(0.1..2.0))
            };
        }
    }
    network
}

#[test]
#[ignore = "writes the weights files the baked declarations read; run after changing them"]
fn regenerate_weights_files() {
    nn::io::save(&randomised::<f32, Mlp<f32>>(1), weights_file("mlp_f32.safetensors")).unwrap();
    nn::io::save(&randomised::<f64, Mlp<f64>>(2), weights_file("mlp_f64.safetensors")).unwrap();
    nn::io::save(&randomised::<f32, Gru<f32>>(3), weights_file("gru_f32.safetensors")).unwrap();
}

fn inputs<const N: usize, T: nn::Real>(count: usize) -> Vec<SVector<T, N>> {
    let mut rng = nn::init::seeded_rng(7);
    (0..count).map(|_| SVector::from_fn(|_, _| T::from_float(rng.random_range(-3.0..3.0)))).collect()
}

#[test]
fn a_baked_f32_network_equals_its_file_loaded_at_run_time_bit_for_bit() {
    let loaded: BakedMlp<f32> = nn::io::load(weights_file("mlp_f32.safetensors")).unwrap();
    let baked = BakedMlp::BAKED;
    assert_eq!(&baked.parameters()[..], loaded.parameters());
    assert_eq!(&baked.buffers()[..], loaded.buffers());
    assert!(baked.buffers().iter().any(|&v| v > 1.0), "the count and statistics are baked too");
    for x in inputs::<4, f32>(100) {
        assert_eq!(baked.forward(&x), loaded.forward(&x));
    }
}

#[test]
fn a_baked_f64_network_computes_in_f64_and_equals_its_file_bit_for_bit() {
    let loaded: WideBakedMlp<f64> = nn::io::load(weights_file("mlp_f64.safetensors")).unwrap();
    let baked: WideBakedMlpView<'static, f64> = WideBakedMlp::BAKED;
    assert_eq!(&baked.parameters()[..], loaded.parameters());
    assert_eq!(&baked.buffers()[..], loaded.buffers());
    for x in inputs::<4, f64>(100) {
        assert_eq!(baked.forward(&x), loaded.forward(&x));
    }
}

#[test]
fn a_baked_recurrent_network_streams_and_runs_whole_sequences_as_loaded() {
    let loaded: BakedGru<f32> = nn::io::load(weights_file("gru_f32.safetensors")).unwrap();
    let baked = BakedGru::BAKED;
    let (mut baked_state, mut loaded_state) = (BakedGruState::new(), BakedGruState::new());
    for x in inputs::<3, f32>(40) {
        assert_eq!(baked.step(&mut baked_state, &x), loaded.step(&mut loaded_state, &x));
    }
    for x in inputs::<15, f32>(10) {
        assert_eq!(baked.forward(&x), loaded.forward(&x));
    }
}

#[test]
fn an_owned_copy_of_a_baked_network_trains_on_from_its_weights() {
    let network = BakedMlp::from_view(BakedMlp::BAKED);
    assert_eq!(network.parameters(), &BakedMlp::BAKED.parameters()[..]);
    let inputs = (0..64).map(|i| i as f32 / 64.0 - 0.5).collect();
    let targets = (0..48).map(|i| f32::from(u8::from(i % 3 == 0))).collect();
    let data = Dataset::new(4, 3, inputs, targets).unwrap();
    let config = FitConfig { epochs: 2, batch_size: 8, shuffle: false, early_stopping: None };
    let mut trainer = Trainer::new(
        network,
        MeanSquaredError,
        Adam::new(AdamConfig { learning_rate: 0.01, ..AdamConfig::default() }),
    );
    trainer.fit(&data, &config).unwrap();
    assert_ne!(trainer.network().parameters(), &BakedMlp::BAKED.parameters()[..]);
}
