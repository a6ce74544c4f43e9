//! # nn
//!
//! Neural networks declared inline in Rust source and compiled into statically typed,
//! specialised code: forward and backward passes unrolled over the layers, every shape
//! checked at compile time, and a trainer monomorphised for that exact architecture.
//!
//! ```
//! nn::network! {
//!     /// Learns XOR.
//!     pub struct Xor {
//!         hidden: dense(2 -> 3, sigmoid),
//!         dropout(0.5),
//!         out: dense(3 -> 1, relu),
//!     }
//! }
//!
//! let net = Xor::<f64>::seeded(7);
//! let y = net.forward(&nn::SVector::<f64, 2>::new(1.0, 0.0));
//! assert_eq!(Xor::<f64>::PARAMETERS, 13);
//! assert_eq!(net.hidden().weight().shape(), (3, 2));
//! # let _ = y;
//! ```
//!
//! ## The declaration
//!
//! `network! { [attributes] [visibility] struct Name { layer, layer, … } }`, where a layer is
//! `[name:] kind [<- source]`: it reads the previous layer's output, or the named layer (or
//! `input`) after `<-`.
//!
//! | layer | meaning |
//! |---|---|
//! | `dense(IN -> OUT, act)` | `a = act(W·x + b)`; `IN` is checked against what the previous layer produces |
//! | `dense(OUT, act)` | the same, `IN` inferred |
//! | `dense(IN -> OUT)` | no activation (identity) |
//! | `dense(…, init = he_uniform)` | choose the initialiser (default `torch_linear`, PyTorch's `nn.Linear` default) |
//! | `dense(…, norm = spectral)` | spectral normalisation of the weight (`torch.nn.utils.spectral_norm`) |
//! | `relu`, `leaky_relu(0.2)`, `gelu`, `softmax`, … | an activation on its own (every activation is listed in the README) |
//! | `dropout(p)` | inverted dropout, active only in training |
//! | `batch_norm(F, act, momentum = 0.1, eps = 1e-5)` | PyTorch's `BatchNorm1d`/`2d`: batch statistics in training, running ones in inference; all arguments optional |
//! | `layer_norm(F, act, eps = 1e-5)` | PyTorch's `LayerNorm(F)` over the last axis; all arguments optional |
//! | `embedding(VOCAB -> DIM)` | the network reads `u32` ids: one per sample, or `L` after `input(L)` (a sequence `[L, DIM]`) |
//! | `conv2d(C_IN -> C_OUT, kernel = 3, stride = 1, padding = 1, act)`, `conv1d(…)` | PyTorch's `nn.Conv2d`/`1d` with `dilation`, `groups`, `padding = same`, `bias = false`; every output size computed at compile time |
//! | `conv_transpose2d(…, output_padding = 1)`, `conv_transpose1d(…)` | transposed convolution ("deconvolution") |
//! | `max_pool2d(2)`, `avg_pool2d(3, stride = 2)`, `max_pool1d`, `avg_pool1d`, `global_avg_pool` | pooling |
//! | `upsample(2)` | nearest-neighbour upsampling |
//! | `rnn(F -> H, tanh)`, `gru(F -> H)`, `lstm(F -> H)` | PyTorch's recurrent layers on a sequence `[T, F]`, the whole sequence or (`last`) the final state; `bidirectional`; PyTorch's parameter names and gate order |
//! | `self_attention(heads = 4, causal)` | PyTorch's `MultiheadAttention` on `[T, E]`, optionally causal |
//! | `positional`, `sinusoidal` | learned or fixed position encodings |
//! | `last_step`, `mean_over_steps` | a sequence to one vector |
//! | `flatten` | a sequence or image as one vector |
//! | `residual { layer, … }` | `x + f(x)`; the block must keep `x`'s shape |
//! | `add(a, b, …)`, `concat(a, b, …)` | merge named layers' outputs: sum (one shape), or join along the features |
//! | `input(N)`, `input(T, F)`, `input(C, H, W)` | first only: declares the input's shape (vector, sequence or signal, image), so the first layer may omit its input size |
//!
//! A network is a directed graph; a value read by several layers gets the sum of their
//! gradients:
//!
//! ```
//! nn::network! {
//!     pub struct Branches {
//!         input(5),
//!         a: dense(4, tanh),
//!         b: dense(4, sigmoid) <- input,   // a second branch from the input
//!         joined: concat(a, b),            // [a, b]: 8 features
//!         residual { dense(8, relu), dense(8) },
//!         batch_norm(8, relu),
//!         dense(2),
//!     }
//! }
//!
//! use nn::Network;
//! let net = Branches::<f64>::seeded(0);
//! assert_eq!(net.buffer("4.running_var"), Some(&[1.0; 8][..]));
//! let y = net.forward(&nn::SVector::<f64, 5>::repeat(0.5)); // running statistics: inference
//! # let _ = y;
//! ```
//!
//! A convolutional network declares its input's shape, in PyTorch's `[C, H, W]` order; the
//! macro computes every shape after it, and a mismatch is a compile error that shows the
//! arithmetic:
//!
//! ```
//! nn::network! {
//!     pub struct LeNet {
//!         input(1, 28, 28),
//!         conv2d(1 -> 6, kernel = 5, relu), // [6, 24, 24]
//!         max_pool2d(2),                     // [6, 12, 12]
//!         conv2d(16, kernel = 5, relu),      // [16, 8, 8]
//!         max_pool2d(2),                     // [16, 4, 4]
//!         flatten,                           // 256
//!         dense(120, relu),
//!         dense(84, relu),
//!         dense(10),
//!     }
//! }
//!
//! use nn::Network;
//! assert_eq!(LeNet::<f32>::INPUT_SHAPE, &[1, 28, 28]);
//! assert_eq!(LeNet::<f32>::PARAMETERS, 44_426);
//! ```
//!
//! A network over sequences whose layers can run one step at a time (recurrent layers in
//! one direction, dense and activation layers) also streams, one step per call with no
//! allocation, and agrees with the whole-sequence forward:
//!
//! ```
//! nn::network! { pub struct Filter { input(4, 1), gru(1 -> 8), dense(1) } }
//!
//! let net = Filter::<f64>::seeded(0);
//! let signal = [0.1, 0.4, -0.2, 0.3];
//! let whole = net.forward(&nn::SVector::from(signal)); // [T, 1]: every step's output
//! let mut state = FilterState::new();
//! for (t, &x) in signal.iter().enumerate() {
//!     let y = net.step(&mut state, &nn::SVector::from([x]));
//!     assert_eq!(y[0].to_bits(), whole[t].to_bits());
//! }
//! state.reset(); // a new stream
//! ```
//!
//! Unnamed layers are named by their index, as in a PyTorch `nn.Sequential`: parameters are
//! `0.weight`, `0.bias`, … and the Rust accessor is `layer0()`. A named layer `hidden:` gives
//! `hidden.weight` and `hidden()`.
//!
//! ## Training
//!
//! ```
//! use nn::prelude::*;
//!
//! nn::network! { struct Or { dense(2 -> 4, tanh), dense(1, sigmoid) } }
//!
//! // Four samples, one per column: inputs (x1, x2), target x1 OR x2.
//! let data = Dataset::new(2, 1, vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0., 1., 1., 1.])?;
//! let optimizer = Adam::new(AdamConfig { learning_rate: 0.1, ..AdamConfig::default() });
//! let mut trainer = Trainer::new(Or::seeded(0), BinaryCrossEntropy, optimizer);
//! let history = trainer.fit(&data, &FitConfig { epochs: 100, batch_size: 4, ..FitConfig::default() })?;
//! assert_eq!(trainer.evaluate(&data)?.accuracy, Some(1.0));
//! assert!(history.losses()[99] < history.losses()[0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What is generated
//!
//! For `struct Xor`: `Xor<T = f32>` holding one heap buffer of parameters and one of state
//! (running statistics); `XorView<'a, T>`, the network over borrowed weights; `XorWorkspace<T>`,
//! the reusable buffers of a training step; consts `INPUTS`, `OUTPUTS`, `PARAMETERS` and the
//! costs below; `seeded`, `forward` (one sample, `SVector` in and out), `forward_batch` (one
//! sample per column); one accessor per dense layer; and an implementation of `Network`,
//! which the generic `Trainer` runs on.
//!
//! ## Costs as constants
//!
//! Every network states what one sample costs: `FLOPS` and `TRAINING_FLOPS` (2 per
//! multiply-add of its products), `PARAMETER_BYTES`, `BUFFER_BYTES`, `FORWARD_BYTES` (the
//! layer outputs one-sample `forward` holds on its stack) and `SCRATCH_BYTES` (the scratch it
//! borrows, on the stack without `std`). They are constants, so a budget is a compile-time
//! check:
//!
//! ```
//! nn::network! { pub struct Keyword { dense(40 -> 64, relu), dense(64, relu), dense(12) } }
//!
//! // This crate does not build if the network outgrows 64 KiB of flash or 100 kFLOP.
//! const _: () = assert!(Keyword::<f32>::PARAMETER_BYTES <= 64 * 1024);
//! const _: () = assert!(Keyword::<f32>::FLOPS <= 100_000);
//! ```
//!
//! ## Baked weights and `no_std`
//!
//! `#[weights = "model.safetensors"]` on a declaration reads that file when the crate
//! compiles (the path is relative to the crate's `Cargo.toml`; changing the file rebuilds
//! the crate), checks every tensor's name, shape and dtype against the layers, and bakes the
//! values into `static` arrays: `Net::BAKED` is a `NetView<'static, _>` that runs `forward`
//! (and `step`, for a streaming network) with no heap, no file system and no initialisation.
//! It computes in the file's float type; `Net::from_view(Net::BAKED)` gives an owned copy to
//! train on.
//!
//! ```ignore
//! nn::network! {
//!     #[weights = "models/digits.safetensors"]
//!     pub struct Digits { dense(64 -> 32, relu), dense(10) }
//! }
//!
//! let class = Digits::BAKED.forward(&pixels).imax();
//! ```
//!
//! Without the default feature `std`, nn is `#![no_std]` and needs no allocator: a network
//! then holds its buffers inline rather than on the heap, and offers its view, one-sample
//! `forward`, `step`, the cost constants and `BAKED` — everything but training, batches and
//! files. Convolutions and self-attention need `std` (their one-sample forward runs the
//! batched kernels, which keep scratch buffers); a declaration using them says so.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

pub use nn_macros::network;
pub use nn_runtime::*;

#[cfg(feature = "std")]
pub use nalgebra::DMatrix;
pub use nalgebra::{Const, Dyn, OMatrix, SMatrix, SVector};

/// Everything a typical program needs: `use nn::prelude::*;`.
#[cfg(feature = "std")]
pub mod prelude {
    pub use nn_macros::network;
    pub use nn_runtime::activation::Activation;
    pub use nn_runtime::clip::Clip;
    pub use nn_runtime::init::Init;
    pub use nn_runtime::loss::{
        BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Huber, Loss, MeanAbsoluteError, MeanSquaredError,
        PerStep, QuadraticCost, SoftmaxCrossEntropy,
    };
    pub use nn_runtime::optim::{
        Adam, AdamConfig, AdamW, Optimizer, RmsProp, RmsPropConfig, Rprop, RpropConfig, Sgd, SgdConfig,
    };
    pub use nn_runtime::schedule::{
        CosineAnnealing, Exponential, LinearWarmup, ReduceOnPlateau, Schedule, StepDecay,
    };
    pub use nn_runtime::{
        Callback, Control, Dataset, EarlyStopping, EpochRecord, Evaluation, FitConfig, History, Monitor,
        Network, TrainError, Trainer, Workspace,
    };

    pub use nalgebra::{Const, Dyn, OMatrix, SVector};
}

/// What the generated code names. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "std")]
    pub use std::{boxed::Box, vec::Vec};

    pub use nalgebra::storage::RawStorage;
    pub use nalgebra::{Const, Dim, Dyn, Matrix, MatrixView, OMatrix, SVector, U1, zero};
    #[cfg(feature = "std")]
    pub use rand::Rng;

    pub use crate::{__requires_std as requires_std, __scratch as scratch, __std_only as std_only};
    pub use nn_runtime::activation::{self, Activation};
    pub use nn_runtime::bake::{Stored, Tensor, convert_f32, convert_f64, place_f32, place_f64};
    #[cfg(feature = "std")]
    pub use nn_runtime::buffer::{
        Lines, gradient_buffer, initial_buffers, lines, parameters_from_vec, split_tensors, state_from_vec,
        swap_parameters, zeroed_parameters,
    };
    #[cfg(feature = "std")]
    pub use nn_runtime::gemm::{Prepacked, Weights};
    #[cfg(feature = "std")]
    pub use nn_runtime::init::{Init, fill_normal, fill_uniform, seeded_rng};
    pub use nn_runtime::isa::{Pass, run_best, run_direct, run_widest};
    // Every layer kind's runtime module (`dense`, `add`, …), so a new kind needs no line here.
    pub use nn_runtime::layer::*;
    pub use nn_runtime::network::{
        BatchError, BatchShapeError, ParameterCountError, Revision, Storage, batch_size, few_samples,
        one_sample, one_sample_ref, samples_of, stored_copy,
    };
    #[cfg(feature = "std")]
    pub use nn_runtime::network::{Gradients, LOCAL_GRADIENTS_UP_TO, train_in_turn};
    #[cfg(feature = "std")]
    pub use nn_runtime::{Network, Workspace};
    pub use nn_runtime::{ParameterSpec, Real};
}

/// The generated items that need `std` (training, batches, files): kept with it, dropped
/// without.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __std_only {
    ($($items:tt)*) => { $($items)* };
}

/// The generated items that need `std`: dropped in a `no_std` build.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __std_only {
    ($($items:tt)*) => {};
}

/// A layer kind whose one-sample forward needs `std`: nothing with it.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __requires_std {
    ($kind:literal) => {};
}

/// A layer kind whose one-sample forward needs `std`: a compile error naming it without.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __requires_std {
    ($kind:literal) => {
        ::core::compile_error!(::core::concat!(
            "`", $kind, "` needs nn's `std` feature: its one-sample forward runs the batched kernels, which keep scratch buffers; enable `std` or leave the layer out of a `no_std` network"
        ));
    };
}

/// Runs `$body` with `$name` bound to `$len` scratch values of `$t`: a reused thread-local
/// buffer with `std` (a warm call allocates nothing), a stack array without.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __scratch {
    ($t:ty, $len:literal, |$name:ident| $body:expr) => {
        <$t as $crate::__private::Real>::with_scratch($len, |$name| $body)
    };
}

/// Runs `$body` with `$name` bound to `$len` scratch values of `$t`, on the stack.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __scratch {
    ($t:ty, $len:literal, |$name:ident| $body:expr) => {{
        let mut __buffer = [$crate::__private::zero::<$t>(); $len];
        let $name: &mut [$t] = &mut __buffer;
        $body
    }};
}
