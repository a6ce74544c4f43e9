//! The cost constants every network carries (`FLOPS`, `TRAINING_FLOPS`, `PARAMETER_BYTES`,
//! `BUFFER_BYTES`, `FORWARD_BYTES`), against counts written out by hand here from each
//! layer's products, and a compile-time budget written as the documentation shows it.

nn::network! {
    /// W4 of the benchmarks, with a dropout that holds no value in inference.
    pub struct W4 { dense(784 -> 512, relu), dropout(0.5), dense(512, relu), dense(10) }
}

nn::network! {
    /// A convolution, batch normalisation (state) and a dense head.
    pub struct Cnn { input(1, 8, 8), conv2d(4, kernel = 3), batch_norm, relu, flatten, dense(10) }
}

nn::network! {
    /// A grouped, strided convolution and a transposed one.
    pub struct Convolutions {
        input(4, 9, 9),
        conv2d(4 -> 6, kernel = 3, stride = 2, groups = 2),
        conv_transpose2d(6 -> 2, kernel = 2, stride = 2),
    }
}

nn::network! {
    /// A bidirectional GRU, an LSTM on top, and the last step.
    pub struct Recurrent { input(5, 3), gru(3 -> 6, bidirectional), lstm(4), last_step, dense(2) }
}

nn::network! {
    /// Self-attention over an embedding.
    pub struct Attention { input(7), embedding(50 -> 8), self_attention(heads = 2), mean_over_steps, dense(3) }
}

// A compile-time budget, as documented: this crate fails to build if W4 outgrows 4 MiB.
const _: () = assert!(W4::<f32>::PARAMETER_BYTES <= 4 * 1024 * 1024);

#[test]
fn dense_counts_two_flops_per_multiply_add_and_skips_the_first_input_gradient() {
    let products = [784 * 512, 512 * 512, 512 * 10];
    let forward: usize = products.iter().map(|p| 2 * p).sum();
    assert_eq!(W4::<f32>::FLOPS, forward);
    // Backward: every layer's weight gradient, and the input gradient of all but the first.
    let backward = forward + 2 * (512 * 512 + 512 * 10);
    assert_eq!(W4::<f32>::TRAINING_FLOPS, forward + backward);
    assert_eq!(W4::<f32>::PARAMETER_BYTES, 4 * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10));
    assert_eq!(W4::<f64>::PARAMETER_BYTES, 2 * W4::<f32>::PARAMETER_BYTES);
    assert_eq!(W4::<f32>::BUFFER_BYTES, 0);
    assert_eq!(W4::<f32>::FORWARD_BYTES, 4 * (512 + 512 + 10));
}

#[test]
fn convolutions_count_each_output_position_and_state_counts_its_bytes() {
    let conv = 2 * (4 * 6 * 6) * 9;
    let dense = 2 * (4 * 6 * 6) * 10;
    assert_eq!(Cnn::<f32>::FLOPS, conv + dense);
    assert_eq!(Cnn::<f32>::TRAINING_FLOPS, 2 * conv + 3 * dense);
    // Batch norm: running mean and variance of 4 channels and the count.
    assert_eq!(Cnn::<f64>::BUFFER_BYTES, 8 * (4 + 4 + 1));
    // Outputs held: conv, batch norm and relu (each 144 values) and the logits; flatten
    // reshapes the relu's vector in place.
    assert_eq!(Cnn::<f32>::FORWARD_BYTES, 4 * (3 * 144 + 10));

    // Strided, grouped: 6 filters over 4×4 positions, each reading 4/2 channels × 3×3.
    let strided = 2 * (6 * 4 * 4) * 2 * 9;
    // Transposed: every one of 6×4×4 input values reaches 2 output channels × 2×2.
    let transposed = 2 * (6 * 4 * 4) * 2 * 4;
    assert_eq!(Convolutions::<f32>::FLOPS, strided + transposed);
}

#[test]
fn recurrent_layers_count_both_projections_per_step_and_direction() {
    let (steps, gru_gates, lstm_gates) = (5, 3, 4);
    let gru_input = steps * gru_gates * 6 * 3;
    let gru_hidden = steps * gru_gates * 6 * 6;
    let lstm_input = steps * lstm_gates * 4 * 12;
    let lstm_hidden = steps * lstm_gates * 4 * 4;
    let dense = 4 * 2;
    let forward = 2 * (2 * (gru_input + gru_hidden) + lstm_input + lstm_hidden + dense);
    assert_eq!(Recurrent::<f32>::FLOPS, forward);
    // The GRU reads the input (no gradient): its hidden products twice, its input ones once.
    let backward = 2 * (2 * (gru_input + 2 * gru_hidden) + 2 * lstm_input + 2 * lstm_hidden + 2 * dense);
    assert_eq!(Recurrent::<f32>::TRAINING_FLOPS, forward + backward);
    // Each recurrent layer's `W_hh` transposed for the one-sample forward (both GRU
    // directions share one), and no scratch for a dense network.
    assert_eq!(Recurrent::<f32>::SCRATCH_BYTES, 4 * (gru_gates * 6 * 6 + lstm_gates * 4 * 4));
    assert_eq!(W4::<f32>::SCRATCH_BYTES, 0);
}

#[test]
fn attention_counts_projections_and_the_products_between_steps() {
    let (t, e) = (7, 8);
    let projections = 3 * t * e * e + t * e * e;
    let between = 2 * t * t * e;
    let dense = 8 * 3;
    assert_eq!(Attention::<f32>::FLOPS, 2 * (projections + between + dense));
    // The embedding's output needs a gradient (its table learns), so every product counts
    // its input gradient too.
    let backward = 2 * (2 * projections + 2 * between + 2 * dense);
    assert_eq!(Attention::<f32>::TRAINING_FLOPS, 2 * (projections + between + dense) + backward);
}
