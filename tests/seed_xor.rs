//! Seed 003, Example 1: a hand-weighted relu network computes XOR exactly.
//!
//! Inputs `(x1, x2, 1)`, the constant third input standing in for the bias; hidden weights
//! `[[1, 1, 0], [1, 1, −1]]`, output weights `[1, −2]`, every bias 0, relu throughout. The
//! seed's table lists `a_1^2`, `a_2^2` and `a_1^3` for the four inputs.

// The table holds small integers, exact in binary floating point: equality is the claim.
#![allow(clippy::float_cmp)]

use nn::prelude::*;

nn::network! {
    struct SeedXor {
        hidden: dense(3 -> 2, relu),
        out: dense(2 -> 1, relu),
    }
}

fn seed_network<T: nn::Real>() -> SeedXor<T> {
    let weights =
        [1.0, 1.0, 0.0, 1.0, 1.0, -1.0, /* hidden.bias */ 0.0, 0.0, /* out */ 1.0, -2.0, 0.0];
    SeedXor::from_parameters(weights.iter().map(|&w| T::from_float(w)).collect()).unwrap()
}

/// The seed's table: `x1, x2, a_1^2, a_2^2, a_1^3`.
const TABLE: [[f64; 5]; 4] = [
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 1.0, 0.0, 1.0],
    [1.0, 0.0, 1.0, 0.0, 1.0],
    [1.0, 1.0, 2.0, 1.0, 0.0],
];

fn reproduces_the_table<T: nn::Real>() {
    let mut net = seed_network::<T>();
    let inputs: Vec<T> = TABLE.iter().flat_map(|r| [r[0], r[1], 1.0]).map(T::from_float).collect();
    let mut workspace = SeedXor::workspace();
    net.forward_train(&inputs, &mut workspace, &mut nn::init::seeded_rng(0)).unwrap();
    let hidden = workspace.layer_output("hidden").unwrap();
    let out = workspace.layer_output("out").unwrap();
    for (n, row) in TABLE.iter().enumerate() {
        assert_eq!(hidden[2 * n].to_f64(), row[2], "a_1^2 for {row:?}");
        assert_eq!(hidden[2 * n + 1].to_f64(), row[3], "a_2^2 for {row:?}");
        assert_eq!(out[n].to_f64(), row[4], "a_1^3 for {row:?}");
        let one = net.forward(&SVector::<T, 3>::from_fn(|i, _| inputs[3 * n + i]));
        assert_eq!(one[0].to_f64(), row[4], "one-sample forward for {row:?}");
    }
}

#[test]
fn seed_003_example_1_reproduces_the_table_in_f64() {
    reproduces_the_table::<f64>();
}

#[test]
fn seed_003_example_1_reproduces_the_table_in_f32() {
    reproduces_the_table::<f32>();
}
