//! Once the workspace is warm, a training step allocates nothing: proven with a global
//! allocator that counts every allocation of this test binary.
//!
//! Tests run on several threads, so allocations are counted per thread: each test counts
//! only what its own thread allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nn::prelude::*;

struct CountingAllocator;

thread_local! {
    /// Allocations made by this thread (const-initialised: reading it never allocates).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    ALLOCATIONS.with(|count| count.set(count.get() + 1));
}

// SAFETY: forwards every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Held by every test that steps a network: the thread count (`nn::gemm::set_threads`) is
/// global, and `cargo test` runs this file's tests on parallel threads. A test's warm-up must
/// see the count its counted steps see: one test's two threads landing between another's
/// warm-up and its counted steps made those steps split products the warm-up had run whole,
/// and allocate (`packed_gemm_steps_do_not_allocate` beside
/// `two_thread_steps_do_not_allocate_on_the_calling_thread` failed in 8 of 16 runs).
static THREAD_COUNT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Waits until no other test steps a network.
fn hold_thread_count() -> std::sync::MutexGuard<'static, ()> {
    THREAD_COUNT.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Allocations this thread makes while running `work`.
fn allocations_during(work: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    work();
    ALLOCATIONS.with(Cell::get) - before
}

nn::network! { struct Small { dense(2 -> 3, sigmoid), dropout(0.5), dense(3 -> 1, relu) } }
nn::network! { struct Large { dense(64 -> 128, relu), dropout(0.2), tanh, dense(128 -> 10) } }
nn::network! { struct Packed { dense(256 -> 256, relu), dense(256 -> 64, relu), dense(64 -> 10) } }
nn::network! { struct Chain { dense(2 -> 8, tanh), dense(8 -> 3, sigmoid), dense(3 -> 1) } }
nn::network! { struct Tiny { dense(2 -> 3, sigmoid), dense(3 -> 1) } }

nn::network! {
    /// Every new kind and a graph: branches, merges, residual blocks, batch, layer and
    /// spectral normalisation.
    struct Graph {
        input(32),
        a: dense(48, relu),
        b: dense(48, tanh) <- input,
        sum: add(a, b),
        joined: concat(sum, a),
        batch_norm(96, relu),
        residual { layer_norm(96), dense(96, gelu), dropout(0.1), dense(96, norm = spectral) },
        dense(10),
    }
}

nn::network! {
    /// Every convolution path: implicit (padded and not), unfolded (strided), pointwise,
    /// transposed, grouped, pooling with its argmax, upsampling.
    struct Convolutional {
        input(2, 12, 12),
        conv2d(2 -> 4, kernel = 3, padding = 1, relu),
        max_pool2d(2),
        conv2d(8, kernel = 3, stride = 2, groups = 2, relu),
        conv2d(8, kernel = 1),
        conv_transpose2d(8 -> 4, kernel = 2, stride = 2, tanh),
        upsample(2),
        conv2d(4, kernel = 3),
        avg_pool2d(2),
        global_avg_pool,
        dense(10),
    }
}

fn data<T: nn::Real>(features: usize, outputs: usize, samples: usize) -> (Vec<T>, Vec<T>) {
    let inputs = (0..features * samples).map(|k| T::from_float(((k % 17) as f64 - 8.0) / 8.0)).collect();
    let targets = (0..outputs * samples).map(|k| T::from_float(((k % 5) as f64) / 5.0)).collect();
    (inputs, targets)
}

#[test]
fn small_network_steps_do_not_allocate() {
    let _threads = hold_thread_count();
    let (inputs, targets) = data::<f64>(2, 1, 4);
    let mut trainer = Trainer::new(Small::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    trainer.step(&inputs, &targets).unwrap();
    let count = allocations_during(|| {
        for _ in 0..1000 {
            trainer.step(&inputs, &targets).unwrap();
        }
    });
    assert_eq!(count, 0, "allocations in 1000 warm training steps");
}

/// One sample through a chain of dense layers takes the stack path (each value an array),
/// four samples the stack path too (each value's samples in lanes), and three and sixteen
/// the batch path, all on the same buffers.
#[test]
fn one_sample_steps_do_not_allocate() {
    let _threads = hold_thread_count();
    let (inputs, targets) = data::<f32>(2, 1, 16);
    let mut trainer = Trainer::new(Chain::<f32>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    // 13 parameters: its one-sample steps hand the update their gradients as a local array.
    let mut tiny = Trainer::new(Tiny::<f32>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    trainer.step(&inputs, &targets).unwrap();
    tiny.step(&inputs, &targets).unwrap();
    let count = allocations_during(|| {
        for _ in 0..1000 {
            for samples in [1, 4, 3, 16] {
                trainer.step(&inputs[..2 * samples], &targets[..samples]).unwrap();
                tiny.step(&inputs[..2 * samples], &targets[..samples]).unwrap();
            }
        }
    });
    assert_eq!(count, 0, "allocations in 8000 warm training steps");
}

#[test]
fn gemm_sized_steps_do_not_allocate_and_smaller_batches_reuse_buffers() {
    let _threads = hold_thread_count();
    let (inputs, targets) = data::<f32>(64, 10, 64);
    assert!(nn::layer::dense::uses_gemm(64, 128, 64));
    let config = SgdConfig { learning_rate: 0.01, momentum: 0.9, ..SgdConfig::default() };
    let mut trainer = Trainer::new(Large::<f32>::seeded(2), MeanSquaredError, Sgd::new(config));
    trainer.step(&inputs, &targets).unwrap();
    let count = allocations_during(|| {
        for _ in 0..50 {
            trainer.step(&inputs, &targets).unwrap();
            // A last, smaller minibatch reuses the same buffers.
            trainer.step(&inputs[..64 * 7], &targets[..10 * 7]).unwrap();
        }
    });
    assert_eq!(count, 0, "allocations in 100 warm training steps");
}

/// Products large enough for the packed GEMM (forward passes, weight and input gradients)
/// take their packing buffers from per-thread scratch, allocated by the first step only.
#[test]
fn packed_gemm_steps_do_not_allocate() {
    use nn::gemm::{PACKED_BATCH, PACKED_MULTIPLY_ADDS};
    let _threads = hold_thread_count();
    let batch = 128;
    assert!(
        batch >= PACKED_BATCH && batch * 256 * 64 >= PACKED_MULTIPLY_ADDS,
        "the packed path must be taken"
    );
    let (inputs, targets) = data::<f32>(256, 10, batch);
    let mut trainer = Trainer::new(Packed::<f32>::seeded(3), MeanSquaredError, Sgd::with_learning_rate(0.01));
    trainer.step(&inputs, &targets).unwrap();
    let count = allocations_during(|| {
        for _ in 0..10 {
            trainer.step(&inputs, &targets).unwrap();
            // Under the packed batch size, the same step runs the unpacked kernels.
            trainer.step(&inputs[..256 * 24], &targets[..10 * 24]).unwrap();
        }
    });
    assert_eq!(count, 0, "allocations in 20 warm training steps");
    // Batched inference keeps the weights packed in its workspace (allocated by the first
    // call) and packs them again there after each step.
    let mut workspace = Packed::workspace();
    trainer.network().infer(&inputs, &mut workspace).unwrap();
    let count = allocations_during(|| {
        for _ in 0..5 {
            trainer.step(&inputs, &targets).unwrap();
            trainer.network().infer(&inputs, &mut workspace).unwrap();
        }
    });
    assert_eq!(count, 0, "allocations in 5 warm steps, each followed by inference");
}

/// With two threads, products and the optimizer's update split onto the helper thread
/// (at 64 samples the first layer's forward product is `zᵀ = W·xᵀ`), and the calling
/// thread still allocates nothing once warm. (The helper's own scratch is grown on its
/// first product and reused, as every thread's is; this counter sees only the calling
/// thread.)
#[test]
fn two_thread_steps_do_not_allocate_on_the_calling_thread() {
    let _threads = hold_thread_count();
    let batch = 128;
    let (inputs, targets) = data::<f32>(256, 10, batch);
    let mut trainer = Trainer::new(Packed::<f32>::seeded(3), MeanSquaredError, Sgd::with_learning_rate(0.01));
    nn::gemm::set_threads(2);
    trainer.step(&inputs, &targets).unwrap();
    trainer.step(&inputs[..256 * 64], &targets[..10 * 64]).unwrap();
    let count = allocations_during(|| {
        for _ in 0..10 {
            trainer.step(&inputs, &targets).unwrap();
            trainer.step(&inputs[..256 * 64], &targets[..10 * 64]).unwrap();
        }
    });
    nn::gemm::set_threads(1);
    assert_eq!(count, 0, "allocations in 20 warm two-thread training steps");
}

/// Every optimizer, with clipping, once warm.
#[test]
fn every_optimizer_steps_without_allocating() {
    fn count<O: Optimizer<f64>>(optimizer: O) -> usize {
        let (inputs, targets) = data::<f64>(64, 10, 32);
        let mut trainer = Trainer::new(Large::<f64>::seeded(5), MeanSquaredError, optimizer)
            .with_clipping(Clip::GlobalNorm(1.0));
        trainer.step(&inputs, &targets).unwrap();
        allocations_during(|| {
            for _ in 0..20 {
                trainer.step(&inputs, &targets).unwrap();
            }
        })
    }
    let _threads = hold_thread_count();
    let amsgrad = AdamConfig { amsgrad: true, ..AdamConfig::default() };
    let rmsprop = RmsPropConfig { momentum: 0.9, centered: true, ..RmsPropConfig::default() };
    let sgd = SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::default() };
    assert_eq!(count(Sgd::new(sgd)), 0, "Sgd");
    assert_eq!(count(Adam::new(amsgrad)), 0, "Adam");
    assert_eq!(count(AdamW::new(amsgrad)), 0, "AdamW");
    assert_eq!(count(RmsProp::new(rmsprop)), 0, "RmsProp");
    assert_eq!(count(Rprop::new(RpropConfig::default())), 0, "Rprop");
}

/// A schedule sets the rate once per epoch without allocating either.
#[test]
fn a_scheduled_fit_allocates_only_its_history() {
    let _threads = hold_thread_count();
    let (inputs, targets) = data::<f64>(2, 1, 40);
    let dataset = Dataset::new(2, 1, inputs, targets).unwrap();
    let schedule = LinearWarmup { epochs: 3, start_factor: 0.1 }.then(3, ReduceOnPlateau::new(0.5, 1));
    let mut trainer = Trainer::new(Small::<f64>::seeded(3), MeanSquaredError, Sgd::with_learning_rate(0.1))
        .with_schedule(schedule);
    let config = FitConfig { epochs: 1, batch_size: 8, shuffle: true, early_stopping: None };
    trainer.fit(&dataset, &config).unwrap();
    let count = allocations_during(|| {
        trainer.fit(&dataset, &FitConfig { epochs: 20, ..config }).unwrap();
    });
    assert_eq!(count, 1, "allocations in a 20-epoch scheduled fit: the history");
}

#[test]
fn fit_allocates_only_its_history() {
    let _threads = hold_thread_count();
    let (inputs, targets) = data::<f64>(2, 1, 40);
    let dataset = Dataset::new(2, 1, inputs, targets).unwrap();
    let mut trainer = Trainer::new(Small::<f64>::seeded(3), MeanSquaredError, Sgd::with_learning_rate(0.1));
    let config = FitConfig { epochs: 1, batch_size: 8, shuffle: true, early_stopping: None };
    trainer.fit(&dataset, &config).unwrap();
    let config = FitConfig { epochs: 20, ..config };
    let count = allocations_during(|| {
        trainer.fit(&dataset, &config).unwrap();
    });
    // The history's records, allocated once for all epochs; no step allocates.
    assert_eq!(count, 1, "allocations in a 20-epoch fit");
}

#[test]
fn the_counter_counts() {
    let count = allocations_during(|| drop(std::hint::black_box(vec![1u8; 10])));
    assert_eq!(count, 1);
}

#[test]
fn graph_and_normalisation_steps_do_not_allocate() {
    // Batches of 64 (the GEMM path) and 5 (the inlined loops) alternate, in f32 and f64.
    fn run<T: nn::Real>() {
        let (large, large_targets) = data::<T>(32, 10, 64);
        let (small, small_targets) = data::<T>(32, 10, 5);
        let optimizer = Adam::new(AdamConfig::default());
        let mut trainer = Trainer::new(Graph::<T>::seeded(2), MeanSquaredError, optimizer);
        trainer.step(&large, &large_targets).unwrap();
        trainer.step(&small, &small_targets).unwrap();
        let count = allocations_during(|| {
            for _ in 0..20 {
                trainer.step(&large, &large_targets).unwrap();
                trainer.step(&small, &small_targets).unwrap();
            }
        });
        assert_eq!(count, 0, "allocations in 40 warm training steps");
        // Integer class indices are converted into a buffer the trainer reuses.
        let mut classifier =
            Trainer::new(Graph::<T>::seeded(2), SoftmaxCrossEntropy, Sgd::with_learning_rate(0.01));
        let classes: Vec<u32> = (0..64).map(|n| n % 10).collect();
        classifier.step(&large, &classes).unwrap();
        let count = allocations_during(|| {
            for _ in 0..10 {
                classifier.step(&large, &classes).unwrap();
            }
        });
        assert_eq!(count, 0, "allocations in 10 warm steps with integer class targets");
        let mut workspace = Graph::<T>::workspace();
        trainer.network().infer(&large, &mut workspace).unwrap();
        let matrix = nn::OMatrix::<T, nn::Const<32>, nn::Dyn>::from_column_slice(&large);
        let _ = trainer.network().forward_batch_with(&matrix, &mut workspace);
        let count = allocations_during(|| {
            trainer.network().infer(&large, &mut workspace).unwrap();
            trainer.network().infer(&small, &mut workspace).unwrap();
            let _ = trainer.network().forward_batch_with(&matrix, &mut workspace);
        });
        assert_eq!(count, 0, "allocations in warm inference");
    }
    let _threads = hold_thread_count();
    run::<f32>();
    run::<f64>();
}

#[test]
fn convolution_steps_do_not_allocate() {
    // Batches of 64 and 5 alternate.
    fn run<T: nn::Real>() {
        let (large, large_targets) = data::<T>(288, 10, 64);
        let (small, small_targets) = data::<T>(288, 10, 5);
        let optimizer = Sgd::with_learning_rate(0.01);
        let mut trainer = Trainer::new(Convolutional::<T>::seeded(3), MeanSquaredError, optimizer);
        trainer.step(&large, &large_targets).unwrap();
        trainer.step(&small, &small_targets).unwrap();
        let count = allocations_during(|| {
            for _ in 0..5 {
                trainer.step(&large, &large_targets).unwrap();
                trainer.step(&small, &small_targets).unwrap();
            }
        });
        assert_eq!(count, 0, "allocations in 10 warm convolution training steps");
        let mut workspace = Convolutional::<T>::workspace();
        trainer.network().infer(&large, &mut workspace).unwrap();
        let count = allocations_during(|| {
            trainer.network().infer(&large, &mut workspace).unwrap();
            trainer.network().infer(&small, &mut workspace).unwrap();
        });
        assert_eq!(count, 0, "allocations in warm convolution inference");
    }
    let _threads = hold_thread_count();
    run::<f32>();
    run::<f64>();
}

nn::network! {
    /// Every sequence layer: a bidirectional GRU, an LSTM, attention and both encodings.
    struct Sequences {
        input(6, 4),
        positional,
        sinusoidal,
        gru(4 -> 8, bidirectional),
        residual { layer_norm, self_attention(heads = 4, causal) },
        lstm(16 -> 5),
        rnn(6, last),
        dense(3),
    }
}
nn::network! { struct Streamed { input(6, 1), gru(1 -> 16), lstm(8), rnn(4, relu), dense(1) } }

#[test]
fn sequence_steps_and_streaming_do_not_allocate() {
    fn run<T: nn::Real>() {
        let (large, large_targets) = data::<T>(24, 3, 32);
        let (small, small_targets) = data::<T>(24, 3, 3);
        let optimizer = Sgd::with_learning_rate(0.01);
        let mut trainer = Trainer::new(Sequences::<T>::seeded(3), MeanSquaredError, optimizer);
        trainer.step(&large, &large_targets).unwrap();
        trainer.step(&small, &small_targets).unwrap();
        let count = allocations_during(|| {
            for _ in 0..5 {
                trainer.step(&large, &large_targets).unwrap();
                trainer.step(&small, &small_targets).unwrap();
            }
        });
        assert_eq!(count, 0, "allocations in 10 warm sequence training steps");
        let x = nn::SVector::<T, 24>::from_column_slice(&large[..24]);
        let _ = trainer.network().forward(&x);
        let count = allocations_during(|| {
            let _ = trainer.network().forward(&x);
        });
        assert_eq!(count, 0, "allocations in a warm one-sample forward");

        let net = Streamed::<T>::seeded(4);
        let mut state = StreamedState::new();
        let count = allocations_during(|| {
            for t in 0..1000 {
                let _ = net.step(&mut state, &nn::SVector::from([T::from_float(f64::from(t % 7) / 7.0)]));
            }
            state.reset();
        });
        assert_eq!(count, 0, "allocations in 1000 streamed steps");
    }
    let _threads = hold_thread_count();
    run::<f32>();
    run::<f64>();
}

nn::network! {
    #[weights = "tests/weights/gru_f32.safetensors"]
    /// A baked streaming GRU: its weights are static data.
    struct BakedGru { input(5, 3), gru(3 -> 6), dense(2) }
}

#[test]
fn a_baked_network_streams_without_allocating_from_the_first_step() {
    let _threads = hold_thread_count();
    let (sequence, step) =
        (SVector::<f32, 15>::from_fn(|i, _| i as f32 / 15.0), SVector::<f32, 3>::repeat(0.5));
    let mut state = BakedGruState::new();
    // Streaming from cold: a baked network and its state have nothing to grow.
    let streaming = allocations_during(|| {
        let _ = BakedGru::BAKED.step(&mut state, &step);
    });
    assert_eq!(streaming, 0);
    // The whole-sequence forward borrows the thread's scratch (with `std`), grown once.
    let _ = BakedGru::BAKED.forward(&sequence);
    let warm = allocations_during(|| {
        let _ = BakedGru::BAKED.forward(&sequence);
    });
    assert_eq!(warm, 0);
}
