//! Generated code is warning-free under the strictest common settings: this file denies all
//! rustc warnings, missing docs and clippy's pedantic group, and forbids `unsafe` (the
//! run-time choice of vector instructions keeps its one `unsafe` call inside the runtime). `cargo test` compiles it under
//! the rustc lints, `cargo clippy --all-targets -- -D warnings` (in `.ci/run`) under clippy's,
//! so a lint in generated code fails the build.
#![forbid(unsafe_code)]
#![deny(warnings, missing_docs, clippy::all, clippy::pedantic)]

nn::network! {
    /// Every layer kind and option, public, so every generated item must be documented.
    pub struct Linted {
        input(6),
        hidden: dense(8, tanh, init = he_uniform),
        relu,
        dropout(0.25),
        dense(8 -> 4, sigmoid),
        identity,
        out: dense(2),
    }
}

nn::network! {
    /// Large enough (over 256 parameters) for its passes to be multiversioned.
    pub struct Multiversioned { dense(32 -> 32, relu), dense(32 -> 4) }
}

nn::network! {
    #[weights = "tests/weights/mlp_f32.safetensors"]
    /// Baked from a file: its statics and `BAKED` must be lint-free too.
    pub struct Baked { hidden: dense(4 -> 8, tanh), norm: batch_norm, out: dense(3) }
}

nn::network! {
    #[weights = "tests/weights/gru_f32.safetensors"]
    /// Baked, streaming, with no state buffers.
    pub struct BakedStreaming { input(5, 3), gru(3 -> 6), dense(2) }
}

nn::network! {
    /// The smallest network, with an unnamed layer only.
    pub struct Tiny { dense(1 -> 1) }
}

nn::network! {
    /// No parameters at all.
    pub struct NoParameters { input(3), dropout(0.5), relu }
}

nn::network! {
    /// A graph: branches, merges and residual blocks, multiversioned.
    pub struct Graph {
        input(16),
        a: dense(16, tanh),
        b: dense(16, relu) <- input,
        sum: add(a, b, a),
        joined: concat(sum, input),
        residual { dense(32, relu), dropout(0.1), residual { dense(32) } },
        dense(2),
    }
}

nn::network! {
    /// Every convolution, pooling and upsampling kind.
    pub struct Convolutional {
        input(2, 8, 8),
        conv: conv2d(2 -> 4, kernel = 3, padding = same, relu),
        bn: batch_norm(4),
        max_pool2d(2),
        conv2d(4, kernel = (1, 3), groups = 4, bias = false),
        conv_transpose2d(4 -> 2, kernel = 2, stride = 2, sigmoid),
        upsample(2),
        avg_pool2d(2, stride = 2),
        global_avg_pool,
        dense(3),
    }
}

nn::network! {
    /// One-dimensional convolution and pooling.
    pub struct Signal { input(1, 16), conv1d(4, kernel = 3, dilation = 2), max_pool1d(2), conv_transpose1d(2, kernel = 2), avg_pool1d(3), flatten }
}

nn::network! {
    /// Every sequence layer, and a streaming API.
    pub struct Recurrent { input(6, 3), gru(8), lstm(4, bidirectional), rnn(5, relu), dense(2, softmax) }
}

nn::network! {
    /// Streams without any recurrent layer: an empty state.
    pub struct Stateless { input(4, 2), dense(3, tanh), last_step }
}

nn::network! {
    /// Attention and position encodings.
    pub struct Attending { input(4, 6), positional, sinusoidal, residual { layer_norm, self_attention(heads = 2, causal) }, mean_over_steps }
}

nn::network! {
    /// A stream of one recurrent layer of each kind.
    pub struct Streaming { input(5, 1), gru(4), lstm(3), rnn(2, last), dense(1) }
}

const _: () = assert!(Multiversioned::<f32>::PARAMETERS >= 256, "large enough to be multiversioned");

#[test]
fn linted_networks_work() {
    use nn::Network;
    let net = Linted::<f64>::seeded(1);
    assert_eq!(net.hidden().weight().shape(), (8, 6));
    assert_eq!(Tiny::<f32>::PARAMETERS, 2);
    let y = Multiversioned::<f32>::seeded(0).forward(&nn::SVector::<f32, 32>::repeat(0.5));
    assert!(y.iter().all(|v| v.is_finite()));
    assert_eq!(NoParameters::<f32>::PARAMETERS, 0);
    let y = Graph::<f32>::seeded(0).forward(&nn::SVector::<f32, 16>::repeat(0.5));
    assert!(y.iter().all(|v| v.is_finite()));
    let y = Convolutional::<f32>::seeded(0).forward(&nn::SVector::<f32, 128>::repeat(0.5));
    assert!(y.iter().all(|v| v.is_finite()));
    let y = Signal::<f64>::seeded(0).forward(&nn::SVector::<f64, 16>::repeat(0.5));
    assert!(y.iter().all(|v| v.is_finite()));
    let y = Recurrent::<f64>::seeded(0).forward(&nn::SVector::<f64, 18>::repeat(0.5));
    assert!(y.iter().all(|v| v.is_finite()));
    let y = Attending::<f32>::seeded(0).forward(&nn::SVector::<f32, 24>::repeat(0.5));
    assert!(y.iter().all(|v| v.is_finite()));
    let mut state = StreamingState::new();
    let y = Streaming::<f32>::seeded(0).step(&mut state, &nn::SVector::from([0.5]));
    assert!(y[0].is_finite());
    let mut empty = StatelessState::new();
    let y = Stateless::<f32>::seeded(0).step(&mut empty, &nn::SVector::from([0.5, 0.5]));
    assert!(y.iter().all(|v| v.is_finite()) && empty.values().is_empty());
    let mut none = NoParameters::<f64>::seeded(0);
    let y = none.forward(&nn::SVector::<f64, 3>::new(-1.0, 0.0, 2.0));
    assert_eq!(y, nn::SVector::<f64, 3>::new(0.0, 0.0, 2.0));
    let mut workspace = NoParameters::workspace();
    none.forward_train(&[1.0, 2.0, 3.0], &mut workspace, &mut nn::init::seeded_rng(0)).unwrap();
    none.backward(&mut workspace, &mut []);
}
