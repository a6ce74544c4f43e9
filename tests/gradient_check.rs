//! Central finite differences against backpropagation, in f64, on networks of depth 1 to 4
//! covering every activation, with and without dropout, on graphs (residual blocks,
//! branches, `add` and `concat`), and on every normalisation, embedding and convolution,
//! pooling and upsampling layer, every recurrent layer (whole sequence and `last`, stacked
//! and bidirectional), self-attention with and without its mask, both position encodings,
//! per-step dense layers and a transformer encoder block.
//!
//! The numeric derivative is the five-point central difference
//! `(−L(p+2h) + 8L(p+h) − 8L(p−h) + L(p−2h)) / 12h`, whose error is `O(h⁴)`: with `h = 1e-4`
//! both truncation and round-off stay near 1e-12, so entries as small as 1e-6 are checked
//! to better than 1e-6 relative (the two-point formula's round-off floor, about 1e-10
//! absolute, would hide errors in such entries). Dropout uses a fixed mask: every
//! evaluation draws it from the same seeded RNG.
//!
//! The error of each gradient entry is `|analytic − numeric| / max(|analytic|, |numeric|,
//! 1e-6)`, and the worst over all parameters must stay below 1e-6. So entries of magnitude
//! at least 1e-6 are checked to 1e-6 relative, and smaller ones, where a relative error is
//! meaningless (a dead relu unit's gradient is exactly 0, while its numeric estimate is
//! round-off of about 1e-13), are checked to 1e-12 absolute.
//!
//! The five-point formula assumes the loss is smooth to the fifth derivative. In the large
//! networks here some pre-activation always lies within the step of 0, where relu's kink (or
//! elu's kink in its second derivative) makes the difference no derivative at all, so those
//! networks use activations that are smooth everywhere (tanh, sigmoid, softplus).

use nn::loss::{
    BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Huber, Loss, MeanAbsoluteError, MeanSquaredError,
    QuadraticCost, SoftmaxCrossEntropy,
};
use nn::network::{BatchError, Gradients};
use nn::optim::Sgd;
use nn::{Network, Workspace};
use rand::Rng;

nn::network! { struct Depth1 { dense(3 -> 2, sigmoid) } }
nn::network! { struct Depth2 { dense(4 -> 5, tanh), dense(5 -> 3, identity) } }
nn::network! { struct Depth3 { dense(3 -> 6, relu), dropout(0.3), dense(6 -> 4, sigmoid), dense(4 -> 2, tanh) } }
nn::network! {
    struct Depth4 {
        input(5),
        dense(7), tanh,
        dense(6, relu),
        dropout(0.5),
        dense(4), sigmoid,
        dense(4 -> 3, identity),
    }
}
nn::network! { struct ActivationsAlone { input(3), relu, dense(4, sigmoid), identity, dropout(0.2), dense(2) } }
nn::network! { struct Wide { dense(40 -> 48, tanh), dense(48 -> 40, relu), dense(40 -> 3) } }

// Every activation, inside dense layers and as layers of their own. Each network is at most
// four layers deep: through ten saturating layers the first layers' gradients fall to 1e-9,
// below what any finite difference of the loss can resolve.
nn::network! { struct InDenseA { dense(3 -> 4, leaky_relu), dense(4, elu(0.5)), dense(4, gelu), dense(3, softmax) } }
nn::network! {
    struct InDenseB { dense(3 -> 4, leaky_relu(0.2)), dense(4, gelu_tanh), dense(4, softplus(2)), dense(3, silu) }
}
nn::network! { struct InDenseC { dense(3 -> 4, elu), dense(4, softplus), dense(3, swish) } }
nn::network! { struct AloneA { input(3), dense(4), leaky_relu(0.1), dense(4), elu, dense(3), softmax } }
nn::network! { struct AloneB { input(3), dense(4), gelu, dense(4), gelu_tanh, dense(3), softplus } }
nn::network! { struct AloneC { input(3), dense(4), swish, dense(4), sigmoid, dense(3), tanh } }

/// Below this magnitude a gradient entry is compared absolutely (see the module docs).
const ABSOLUTE_BELOW: f64 = 1e-6;

/// The difference step `h` (see the module docs).
const STEP: f64 = 1e-4;

/// The step for recurrent and attention networks. Their loss goes through many more
/// operations (every step of a sequence), so it carries more round-off, and with `h = 1e-4`
/// the five-point formula's floor (measured: up to 4.5e-12 absolute on entries of 4e-7)
/// passes the 1e-12 absolute criterion for the smallest entries; `h = 1e-3` lowers that
/// floor tenfold while the `O(h⁴)` truncation stays near 1e-12 on these smooth networks.
const SEQUENCE_STEP: f64 = 1e-3;

/// The loss of the network on a fixed batch, with dropout masks from a fixed seed. (The
/// training forward also moves running statistics, which the training loss never reads.)
fn loss_at<N: Network<f64>, L: Loss<f64>>(
    net: &mut N,
    loss: &L,
    inputs: &[N::Input],
    targets: &[f64],
) -> f64 {
    let mut workspace = N::Workspace::default();
    net.forward_train(inputs, &mut workspace, &mut nn::init::seeded_rng(99)).unwrap();
    loss.value(workspace.output(), targets, N::OUTPUTS).unwrap()
}

/// The worst relative error between backpropagation and central differences, on random
/// inputs and targets.
fn worst_relative_error<N: Network<f64, Input = f64>, L: Loss<f64>>(
    loss: &L,
    batch: usize,
    seed: u64,
) -> f64 {
    worst_relative_error_with_step::<N, L>(loss, batch, seed, STEP)
}

/// [`worst_relative_error`] with the difference step `h`.
fn worst_relative_error_with_step<N: Network<f64, Input = f64>, L: Loss<f64>>(
    loss: &L,
    batch: usize,
    seed: u64,
    h: f64,
) -> f64 {
    let mut rng = nn::init::seeded_rng(seed);
    let net = N::initialise(&mut rng);
    let inputs: Vec<f64> = (0..N::INPUTS * batch).map(|_| rng.random_range(-1.0..1.0)).collect();
    let targets: Vec<f64> = (0..N::OUTPUTS * batch).map(|_| rng.random_range(-1.0..1.0)).collect();
    compare_with_step(net, loss, &inputs, &targets, h)
}

/// Backpropagates `loss` through `net` on one batch and compares every parameter's gradient
/// with the five-point difference; returns the worst error (see the module docs).
fn compare_with_finite_differences<N: Network<f64>, L: Loss<f64>>(
    net: N,
    loss: &L,
    inputs: &[N::Input],
    targets: &[f64],
) -> f64 {
    compare_with_step(net, loss, inputs, targets, STEP)
}

/// [`compare_with_finite_differences`] with the difference step `h`.
fn compare_with_step<N: Network<f64>, L: Loss<f64>>(
    mut net: N,
    loss: &L,
    inputs: &[N::Input],
    targets: &[f64],
    h: f64,
) -> f64 {
    let mut workspace = N::Workspace::default();
    net.forward_train(inputs, &mut workspace, &mut nn::init::seeded_rng(99)).unwrap();
    let (output, output_gradient) = workspace.output_and_gradient();
    loss.evaluate(output, targets, output_gradient, N::OUTPUTS).unwrap();
    let mut analytic = vec![0.0; N::PARAMETERS];
    net.backward(&mut workspace, &mut analytic);
    assert!(analytic.iter().any(|&g| g != 0.0), "a gradient check needs nonzero gradients");
    let mut worst: f64 = 0.0;
    for (index, &gradient) in analytic.iter().enumerate() {
        let numeric = five_point_derivative(&mut net, index, h, |net| loss_at(net, loss, inputs, targets));
        worst = worst.max((gradient - numeric).abs() / gradient.abs().max(numeric.abs()).max(ABSOLUTE_BELOW));
    }
    worst
}

/// `∂L/∂p_index` by the five-point central difference with step `h`.
fn five_point_derivative<N: Network<f64>>(
    net: &mut N,
    index: usize,
    h: f64,
    loss: impl Fn(&mut N) -> f64,
) -> f64 {
    let original = net.parameters()[index];
    let mut at = |offset: f64| {
        net.parameters_mut()[index] = original + offset;
        loss(net)
    };
    let (plus2, plus, minus, minus2) = (at(2.0 * h), at(h), at(-h), at(-2.0 * h));
    net.parameters_mut()[index] = original;
    (-plus2 + 8.0 * plus - 8.0 * minus + minus2) / (12.0 * h)
}

#[track_caller]
fn assert_gradients_match<N: Network<f64, Input = f64>>(name: &str) {
    for (seed, batch) in [(1, 1), (2, 5)] {
        let worst = worst_relative_error::<N, _>(&MeanSquaredError, batch, seed);
        println!("{name} (batch {batch}, mse): worst relative error {worst:e}");
        assert!(worst < 1e-6, "{name}: worst relative error {worst:e}");
        let worst = worst_relative_error::<N, _>(&QuadraticCost, batch, seed + 10);
        println!("{name} (batch {batch}, quadratic cost): worst relative error {worst:e}");
        assert!(worst < 1e-6, "{name}: worst relative error {worst:e}");
    }
}

#[test]
fn depth_1_sigmoid() {
    assert_gradients_match::<Depth1<f64>>("Depth1");
}

#[test]
fn depth_2_tanh_identity() {
    assert_gradients_match::<Depth2<f64>>("Depth2");
}

#[test]
fn depth_3_relu_dropout_sigmoid_tanh() {
    assert_gradients_match::<Depth3<f64>>("Depth3");
}

#[test]
fn depth_4_with_standalone_activations_and_dropout() {
    assert_gradients_match::<Depth4<f64>>("Depth4");
}

#[test]
fn activation_layers_before_and_after_dense() {
    assert_gradients_match::<ActivationsAlone<f64>>("ActivationsAlone");
}

#[test]
fn wide_layers_on_the_gemm_path() {
    // 40·48·batch crosses the GEMM threshold at batch ≥ 18.
    assert!(nn::layer::dense::uses_gemm(40, 48, 20));
    let worst = worst_relative_error::<Wide<f64>, _>(&MeanSquaredError, 20, 5);
    println!("Wide (batch 20): worst relative error {worst:e}");
    assert!(worst < 1e-6, "Wide: worst relative error {worst:e}");
}

#[test]
fn every_activation_inside_dense_layers() {
    assert_gradients_match::<InDenseA<f64>>("InDenseA");
    assert_gradients_match::<InDenseB<f64>>("InDenseB");
    assert_gradients_match::<InDenseC<f64>>("InDenseC");
}

#[test]
fn every_activation_as_its_own_layer() {
    assert_gradients_match::<AloneA<f64>>("AloneA");
    assert_gradients_match::<AloneB<f64>>("AloneB");
    assert_gradients_match::<AloneC<f64>>("AloneC");
}

/// A chain of dense layers trains one sample on the stack (each value and gradient passed
/// to the next layer as an array) and a batch through the batch kernels: two copies of one
/// sample must give that sample's outputs and, for one output gradient each, twice its
/// parameter gradients. A forgotten `σ'`, a transposed product or a stale `z` in either
/// path breaks the equality far above 1e-13.
fn assert_one_sample_matches_the_batch<N: Network<f64, Input = f64>>(name: &str) {
    let mut rng = nn::init::seeded_rng(7);
    let mut net = N::initialise(&mut rng);
    let input: Vec<f64> = (0..N::INPUTS).map(|_| rng.random_range(-1.0..1.0)).collect();
    let gradient: Vec<f64> = (0..N::OUTPUTS).map(|_| rng.random_range(-1.0..1.0)).collect();
    let (mut one, mut two) = (N::Workspace::default(), N::Workspace::default());
    let (mut alone, mut twice) = (vec![0.0; N::PARAMETERS], vec![0.0; N::PARAMETERS]);
    net.forward_train(&input, &mut one, &mut nn::init::seeded_rng(1)).unwrap();
    net.forward_train(&[&input[..], &input[..]].concat(), &mut two, &mut nn::init::seeded_rng(1)).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * a.abs().max(b.abs()).max(1.0);
    for (sample, batch) in one.output().iter().zip(two.output().chunks(N::OUTPUTS).flatten()) {
        assert!(close(*sample, *batch), "{name}: output {sample} alone, {batch} in a batch");
    }
    one.output_and_gradient().1.copy_from_slice(&gradient);
    two.output_and_gradient().1.copy_from_slice(&[&gradient[..], &gradient[..]].concat());
    net.backward(&mut one, &mut alone);
    net.backward(&mut two, &mut twice);
    for (index, (&alone, &twice)) in alone.iter().zip(&twice).enumerate() {
        assert!(
            close(2.0 * alone, twice),
            "{name}: parameter {index}'s gradient {alone} alone, {twice} for two"
        );
    }
}

nn::network! { struct Xor { dense(2 -> 3, sigmoid), dense(3 -> 1, sigmoid) } }

#[test]
fn one_sample_steps_match_the_batch_path() {
    assert_one_sample_matches_the_batch::<Xor<f64>>("Xor");
    assert_one_sample_matches_the_batch::<Depth2<f64>>("Depth2");
    assert_one_sample_matches_the_batch::<InDenseB<f64>>("InDenseB");
    assert_one_sample_matches_the_batch::<InDenseC<f64>>("InDenseC");
    assert_one_sample_matches_the_batch::<Wide<f64>>("Wide");
}

/// A loss as the pass tests hand it to a training pass.
type PassLoss<'a> = &'a dyn Fn(&[f64], &mut [f64]) -> Result<f64, BatchError>;

/// An update as the pass tests hand it to a training pass.
type PassUpdate<'a> = Box<dyn FnOnce(&[f64], Gradients<'_, f64>) -> bool + 'a>;

/// [`Network::train_borrowing`] with the tests' random generator and errors.
fn train_borrowing<N: Network<f64, Input = f64>>(
    net: &mut N,
    inputs: &[f64],
    workspace: &mut N::Workspace,
    values: &mut [f64],
    loss: PassLoss<'_>,
    update: PassUpdate<'_>,
) -> Result<(f64, bool), BatchError> {
    net.train_borrowing(inputs, workspace, &mut nn::init::seeded_rng(1), values, |e| e, loss, update)
}

/// The trainer's passes, [`Network::train_borrowing`] (or another `pass` of the same
/// form): a small network's forms on the stack, for one sample or a few, which hand the
/// values, the output and its gradient between the passes as arrays, give what the passes
/// through the workspace give (`train_in_turn`), bit for bit: the output the loss sees, the
/// loss, every gradient the update sees, the next parameters it leaves in the buffer, its
/// answer, and the output and its gradient left in the workspace. A tiny network (`local`)
/// hands the update its gradients as a local array, the others in the buffer. A loss that
/// fails ends the step before the backward pass and the update.
fn assert_train_pass_matches_the_workspace_path<N: Network<f64, Input = f64>>(
    name: &str,
    samples: usize,
    local: bool,
    pass: impl Fn(
        &mut N,
        &[f64],
        &mut N::Workspace,
        &mut [f64],
        PassLoss<'_>,
        PassUpdate<'_>,
    ) -> Result<(f64, bool), BatchError>,
) {
    let name = format!("{name} at {samples} samples");
    let mut rng = nn::init::seeded_rng(11);
    let mut net = N::initialise(&mut rng);
    let input: Vec<f64> = (0..samples * N::INPUTS).map(|_| rng.random_range(-1.0..1.0)).collect();
    let gradient: Vec<f64> = (0..samples * N::OUTPUTS).map(|_| rng.random_range(-1.0..1.0)).collect();
    let loss = |output: &[f64], output_gradient: &mut [f64]| {
        output_gradient.copy_from_slice(&gradient);
        Ok::<_, BatchError>(output.iter().enumerate().map(|(i, o)| (i + 1) as f64 * o).sum())
    };
    let (mut arrays, mut workspace) = (N::Workspace::default(), N::Workspace::default());
    let (mut by_arrays, mut by_workspace) = (vec![f64::NAN; N::PARAMETERS], vec![f64::NAN; N::PARAMETERS]);
    let (mut seen_by_arrays, mut seen_by_workspace, mut arrays_local, mut workspace_local) =
        (Vec::new(), Vec::new(), false, false);
    let update = Box::new(recording_update(&mut seen_by_arrays, &mut arrays_local));
    let value = pass(&mut net, &input, &mut arrays, &mut by_arrays, &loss, update).unwrap();
    let expected = nn::__private::train_in_turn(
        &mut net,
        &input,
        &mut workspace,
        &mut nn::init::seeded_rng(1),
        &mut by_workspace,
        |e| e,
        loss,
        recording_update(&mut seen_by_workspace, &mut workspace_local),
    )
    .unwrap();
    let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(value.0.to_bits(), expected.0.to_bits(), "{name}: the loss");
    assert_eq!((value.1, expected.1), (false, false), "{name}: the update's answer");
    assert_eq!(seen_by_arrays.len(), N::PARAMETERS, "{name}: one update");
    assert_eq!(bits(&seen_by_arrays), bits(&seen_by_workspace), "{name}: the gradients");
    assert_eq!(bits(&by_arrays), bits(&by_workspace), "{name}: the next values");
    assert_eq!((arrays_local, workspace_local), (local, false), "{name}: where the gradients were");
    assert_eq!(bits(arrays.output()), bits(workspace.output()), "{name}: the output kept");
    assert_eq!(bits(arrays.output_and_gradient().1), bits(&gradient), "{name}: its gradient kept");
    let mut untouched = vec![f64::NAN; N::PARAMETERS];
    let failed = pass(
        &mut net,
        &input,
        &mut arrays,
        &mut untouched,
        &|_, _| Err(BatchError::TooSmall { layer: "loss", minimum: 2, batch: 1 }),
        Box::new(|_, _| panic!("an update after a failed loss")),
    );
    assert!(failed.is_err(), "{name}: a failed loss ends the step");
    assert!(untouched.iter().all(|g| g.is_nan()), "{name}: no backward pass after a failed loss");
}

/// An update that records the gradients it is given (into `seen`, empty at first) and
/// whether in a local array, writes `p − g/2` as the next values, and answers `false`.
fn recording_update<'a>(
    seen: &'a mut Vec<f64>,
    local: &'a mut bool,
) -> impl FnOnce(&[f64], Gradients<'_, f64>) -> bool + 'a {
    move |parameters, gradients| {
        let values = match gradients {
            Gradients::Stored(values) => {
                seen.extend_from_slice(values);
                values
            }
            Gradients::Local { gradients, values } => {
                *local = true;
                seen.extend_from_slice(gradients);
                values
            }
        };
        for ((value, p), g) in values.iter_mut().zip(parameters).zip(seen.iter()) {
            *value = p - g / 2.0;
        }
        false
    }
}

/// The pass test on the networks that take the stack, at `samples`: `Xor` and `Depth1` (13
/// and 8 parameters) hand their update the gradients as a local array, the others in the
/// buffer; `Wide` takes the workspace either way.
fn train_passes_match_the_workspace_path_at(samples: usize) {
    assert_train_pass_matches_the_workspace_path::<Xor<f64>>("Xor", samples, true, train_borrowing);
    assert_train_pass_matches_the_workspace_path::<Depth1<f64>>("Depth1", samples, true, train_borrowing);
    assert_train_pass_matches_the_workspace_path::<Depth2<f64>>("Depth2", samples, false, train_borrowing);
    assert_train_pass_matches_the_workspace_path::<InDenseC<f64>>(
        "InDenseC",
        samples,
        false,
        train_borrowing,
    );
    assert_train_pass_matches_the_workspace_path::<Wide<f64>>("Wide", samples, false, train_borrowing);
}

#[test]
fn one_sample_train_passes_match_the_workspace_path() {
    train_passes_match_the_workspace_path_at(1);
}

/// A batch of four, which a small network's trainer takes on the stack (`train_few`), and
/// other sizes `train_few` takes, called directly: the same as through the workspace.
/// `Depth2` ends in an identity layer, whose backward pass reads its output as `z`;
/// `InDenseC`'s activations read `z` itself.
#[test]
fn few_sample_train_passes_match_the_workspace_path() {
    train_passes_match_the_workspace_path_at(4);
    macro_rules! few {
        ($network:ident, $local:expr, $($samples:literal),*) => {$(
            assert_train_pass_matches_the_workspace_path::<$network<f64>>(
                stringify!($network),
                $samples,
                $local,
                |net, inputs, workspace, values, loss, update| {
                    let rng = &mut nn::init::seeded_rng(1);
                    net.train_few::<$samples, _, _>(inputs, workspace, rng, values, |e| e, loss, update)
                },
            );
        )*};
    }
    few!(Xor, true, 2, 3, 5, 8, 9, 16);
    few!(Depth2, false, 2, 3, 7);
    few!(InDenseC, false, 2, 3, 6);
}

// Graphs: residual blocks (nested, with dropout inside), branches that read the input or
// an earlier layer, a value read three times by one layer (its gradient sums three parts),
// and merges with `add` and `concat`.
nn::network! {
    struct Residuals {
        input(4),
        h: dense(5, tanh),
        residual { dense(5, relu), dropout(0.25), residual { dense(5, sigmoid) }, dense(5) },
        residual { gelu },
        dense(3),
    }
}
nn::network! {
    struct BranchAndMerge {
        input(5),
        a: dense(4, tanh),
        b: dense(4, sigmoid) <- input,
        c: dense(3, elu) <- a,
        sum: add(a, b, a),
        both: concat(sum, c, b),
        dense(6, tanh),
        joined: concat(both, input),
        dense(2),
    }
}
// Smooth activations only: at this size some relu pre-activation lies within the
// difference step of 0, and the difference across the kink is not a derivative.
nn::network! {
    struct WideBranches {
        input(32),
        a: dense(32, tanh),
        b: dense(32, elu) <- input,
        add(a, b),
        residual { dense(32, tanh) },
        dense(3),
    }
}

#[test]
fn residual_blocks() {
    assert_gradients_match::<Residuals<f64>>("Residuals");
}

#[test]
fn branch_and_merge_with_add_and_concat() {
    assert_gradients_match::<BranchAndMerge<f64>>("BranchAndMerge");
}

#[test]
fn branches_of_wide_layers_on_the_gemm_path() {
    assert!(nn::layer::dense::uses_gemm(32, 32, 32));
    let worst = worst_relative_error::<WideBranches<f64>, _>(&MeanSquaredError, 32, 7);
    println!("WideBranches (batch 32): worst relative error {worst:e}");
    assert!(worst < 1e-6, "WideBranches: worst relative error {worst:e}");
}

// Batch normalisation: its gradient runs through the batch mean and variance, so every
// sample's gradient depends on every other sample's input. Each batch norm here reads an
// activation: the bias of a dense layer right before one has an exactly zero gradient,
// where both sides of the comparison are rounding noise (tested on its own below).
nn::network! {
    struct BatchNorms {
        input(4),
        dense(5, softplus),
        batch_norm(5, tanh),
        residual { dense(5, tanh), batch_norm, sigmoid },
        dense(3, elu),
        batch_norm(3, momentum = 0.3, eps = 1e-3),
    }
}
// In a batch of two, x̂ = ±d/√(d² + ε) is ±1 but for ε, so everything before a batch norm
// gets gradients of order ε, which a finite difference of the loss cannot resolve; a larger
// ε keeps x̂ dependent on the input and the gradient path through the statistics exercised.
nn::network! { struct BatchOfTwo { input(4), dense(5, softplus), batch_norm(5, tanh, eps = 0.5), dense(2) } }
nn::network! { struct BiasBeforeBatchNorm { input(4), dense(5), batch_norm(5, tanh), dense(2) } }
nn::network! { struct WideBatchNorm { input(32), dense(40, tanh), batch_norm(40, tanh), dense(3) } }

#[test]
fn batch_norm() {
    for (seed, batch) in [(3, 3), (4, 5), (5, 9)] {
        let worst = worst_relative_error::<BatchNorms<f64>, _>(&MeanSquaredError, batch, seed);
        println!("BatchNorms (batch {batch}): worst relative error {worst:e}");
        assert!(worst < 1e-6, "BatchNorms (batch {batch}): worst relative error {worst:e}");
    }
    let worst = worst_relative_error::<BatchOfTwo<f64>, _>(&MeanSquaredError, 2, 9);
    println!("BatchOfTwo (batch 2): worst relative error {worst:e}");
    assert!(worst < 1e-6, "BatchOfTwo: worst relative error {worst:e}");
    let worst = worst_relative_error::<WideBatchNorm<f64>, _>(&MeanSquaredError, 32, 6);
    println!("WideBatchNorm (batch 32): worst relative error {worst:e}");
    assert!(worst < 1e-6, "WideBatchNorm: worst relative error {worst:e}");
}

#[test]
fn the_bias_before_batch_norm_gets_no_gradient() {
    // Batch normalisation subtracts the batch mean, so a constant added before it cancels:
    // ∂L/∂b = 0 exactly. Seed 004's backward pass, which holds the batch statistics
    // constant, would give it the gradient of an ordinary bias instead.
    let mut rng = nn::init::seeded_rng(8);
    let mut net = BiasBeforeBatchNorm::<f64>::initialise(&mut rng);
    let inputs: Vec<f64> = (0..4 * 6).map(|_| rng.random_range(-1.0..1.0)).collect();
    let targets: Vec<f64> = (0..2 * 6).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut workspace = BiasBeforeBatchNorm::workspace();
    net.forward_train(&inputs, &mut workspace, &mut rng).unwrap();
    let (output, gradient) = workspace.output_and_gradient();
    MeanSquaredError.evaluate(output, &targets, gradient, 2).unwrap();
    let mut gradients = vec![0.0; BiasBeforeBatchNorm::<f64>::PARAMETERS];
    net.backward(&mut workspace, &mut gradients);
    let bias = net.parameter("0.bias").map(|_| &gradients[20..25]).unwrap();
    let weight = &gradients[..20];
    assert!(bias.iter().all(|g| g.abs() < 1e-15), "0.bias gradient {bias:?}");
    assert!(weight.iter().any(|g| g.abs() > 1e-3), "the weights before it still learn: {weight:?}");
}

#[test]
fn batch_norm_refuses_a_training_batch_of_one_and_changes_nothing() {
    let mut net = BatchNorms::<f64>::seeded(0);
    let before = net.clone();
    let mut workspace = BatchNorms::workspace();
    let error = net.forward_train(&[0.1, 0.2, 0.3, 0.4], &mut workspace, &mut nn::init::seeded_rng(0));
    assert_eq!(error, Err(nn::network::BatchError::TooSmall { layer: "1", minimum: 2, batch: 1 }));
    assert_eq!(net, before, "no running statistic moved");
    assert!(error.unwrap_err().to_string().contains("layer `1` normalises over the batch"));
}

// Layer normalisation, alone, with an activation fused, and inside a residual block as in
// a transformer's pre-norm block.
nn::network! {
    struct LayerNorms {
        input(5),
        dense(6),
        layer_norm(6, gelu),
        residual { layer_norm(eps = 1e-3), dense(6, tanh) },
        dense(3),
        layer_norm,
    }
}
nn::network! { struct WideLayerNorm { input(32), dense(40, tanh), layer_norm(40, softplus), dense(3) } }

#[test]
fn layer_norm() {
    assert_gradients_match::<LayerNorms<f64>>("LayerNorms");
    let worst = worst_relative_error::<WideLayerNorm<f64>, _>(&MeanSquaredError, 32, 6);
    println!("WideLayerNorm (batch 32): worst relative error {worst:e}");
    assert!(worst < 1e-6, "WideLayerNorm: worst relative error {worst:e}");
}

// Embeddings: ids repeat within a sample and across samples, so rows collect several
// gradients; a second embedding reads the same ids; some rows are never used.
nn::network! {
    struct Embeddings {
        input(4),
        tokens: embedding(9 -> 3),
        positions: embedding(9 -> 3) <- input,
        sum: add(tokens, positions),
        layer_norm(3, tanh),
        flatten,
        dense(2),
    }
}
nn::network! { struct OneId { embedding(6 -> 5), dense(5, tanh), dense(2) } }

/// The trainer's passes ([`Network::forward_train_borrowing`], then
/// [`Network::backward_borrowing`] on the same inputs) read the inputs where the caller
/// keeps them, and must compute exactly what the public passes compute from the
/// workspace's copy. The borrowing workspace is fresh, so a pass that still read the copy
/// would read zeros.
fn assert_borrowing_matches_keeping<N: Network<f64>>(name: &str, inputs: &[N::Input]) {
    let mut rng = nn::init::seeded_rng(11);
    let mut net = N::initialise(&mut rng);
    let batch = inputs.len() / N::INPUTS;
    let gradient: Vec<f64> = (0..N::OUTPUTS * batch).map(|_| rng.random_range(-1.0..1.0)).collect();
    let (mut keeping, mut borrowing) = (N::Workspace::default(), N::Workspace::default());
    let (mut kept, mut borrowed) = (vec![0.0; N::PARAMETERS], vec![0.0; N::PARAMETERS]);
    net.forward_train(inputs, &mut keeping, &mut nn::init::seeded_rng(1)).unwrap();
    net.forward_train_borrowing(inputs, &mut borrowing, &mut nn::init::seeded_rng(1)).unwrap();
    assert_eq!(keeping.output(), borrowing.output(), "{name}: outputs at batch {batch}");
    keeping.output_and_gradient().1.copy_from_slice(&gradient);
    borrowing.output_and_gradient().1.copy_from_slice(&gradient);
    net.backward(&mut keeping, &mut kept);
    net.backward_borrowing(inputs, &mut borrowing, &mut borrowed);
    assert_eq!(kept, borrowed, "{name}: gradients at batch {batch}");
}

#[test]
fn the_trainers_borrowed_inputs_give_the_same_outputs_and_gradients() {
    let values = |count: usize| -> Vec<f64> { (0..count).map(|i| (i as f64 * 0.37).sin()).collect() };
    for batch in [1, 3] {
        assert_borrowing_matches_keeping::<Xor<f64>>("Xor", &values(2 * batch));
        assert_borrowing_matches_keeping::<BranchAndMerge<f64>>("BranchAndMerge", &values(5 * batch));
        assert_borrowing_matches_keeping::<Embeddings<f64>>(
            "Embeddings",
            &[1, 4, 4, 8, 0, 2, 7, 7, 3, 5, 6, 1][..4 * batch],
        );
    }
    assert_borrowing_matches_keeping::<Wide<f64>>("Wide", &values(40 * 64));
}

#[test]
fn embedding_with_repeated_ids() {
    let ids: Vec<u32> = vec![1, 4, 1, 7, 4, 4, 0, 1, 8, 1, 2, 7];
    let mut rng = nn::init::seeded_rng(12);
    let targets: Vec<f64> = (0..2 * 3).map(|_| rng.random_range(-1.0..1.0)).collect();
    let worst = compare_with_finite_differences(
        Embeddings::<f64>::initialise(&mut rng),
        &MeanSquaredError,
        &ids,
        &targets,
    );
    println!("Embeddings (3 samples of 4 ids): worst relative error {worst:e}");
    assert!(worst < 1e-6, "Embeddings: worst relative error {worst:e}");
    let single: Vec<u32> = vec![3, 0, 3, 5, 3];
    let targets: Vec<f64> = (0..2 * 5).map(|_| rng.random_range(-1.0..1.0)).collect();
    let worst = compare_with_finite_differences(
        OneId::<f64>::initialise(&mut rng),
        &QuadraticCost,
        &single,
        &targets,
    );
    println!("OneId (5 samples): worst relative error {worst:e}");
    assert!(worst < 1e-6, "OneId: worst relative error {worst:e}");
}

#[test]
fn unused_embedding_rows_get_exactly_no_gradient() {
    let mut net = OneId::<f64>::seeded(1);
    let mut workspace = OneId::workspace();
    net.forward_train(&[3, 0, 3], &mut workspace, &mut nn::init::seeded_rng(0)).unwrap();
    let (output, gradient) = workspace.output_and_gradient();
    MeanSquaredError.evaluate(output, &[0.5, -0.5, 0.1, 0.2, 0.3, 0.4], gradient, 2).unwrap();
    let mut gradients = vec![1.0; OneId::<f64>::PARAMETERS];
    net.backward(&mut workspace, &mut gradients);
    let table = &gradients[..6 * 5];
    for (row, values) in table.chunks(5).enumerate() {
        let used = row == 0 || row == 3;
        assert_eq!(values.iter().any(|&g| g != 0.0), used, "row {row}: {values:?}");
    }
}

#[test]
fn an_id_outside_the_vocabulary_is_a_typed_error_on_every_path() {
    use nn::network::BatchError;
    let mut net = OneId::<f64>::seeded(1);
    let before = net.clone();
    let expected = BatchError::IdOutOfRange { sample: 2, position: 0, id: 6, layer: "0", vocabulary: 6 };
    let mut workspace = OneId::workspace();
    assert_eq!(net.forward_train(&[1, 2, 6], &mut workspace, &mut nn::init::seeded_rng(0)), Err(expected));
    assert_eq!(net.infer(&[1, 2, 6], &mut workspace).map(<[f64]>::to_vec), Err(expected));
    let one = BatchError::IdOutOfRange { sample: 0, position: 0, id: 9, layer: "0", vocabulary: 6 };
    assert_eq!(net.forward(&[9]), Err(one));
    let batch = nn::OMatrix::<u32, nn::Const<1>, nn::Dyn>::from_column_slice(&[1, 2, 6]);
    assert_eq!(net.forward_batch(&batch), Err(expected));
    assert_eq!(net, before, "nothing changed");
    assert!(net.forward(&[5]).is_ok());
    assert_eq!(
        expected.to_string(),
        "sample 2, position 0: id 6 is outside the vocabulary of layer `0`, ids 0 to 5"
    );
}

// Spectral normalisation: PyTorch's gradient treats the power-iteration vectors u, v as
// constants, but every training forward moves them. After the training forward that gives
// the analytic gradient, inference (which uses the stored u, v and does not iterate) is the
// same function with u, v frozen, so the differences are taken on it.
nn::network! {
    struct Spectral {
        input(4),
        dense(5, tanh, norm = spectral),
        residual { dense(5, softplus, norm = spectral(2)) },
        dense(3, norm = spectral),
    }
}
nn::network! { struct WideSpectral { input(32), dense(40, tanh, norm = spectral), dense(3) } }

fn spectral_check<N: Network<f64, Input = f64>>(batch: usize, seed: u64) -> f64 {
    let mut rng = nn::init::seeded_rng(seed);
    let mut net = N::initialise(&mut rng);
    let inputs: Vec<f64> = (0..N::INPUTS * batch).map(|_| rng.random_range(-1.0..1.0)).collect();
    let targets: Vec<f64> = (0..N::OUTPUTS * batch).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut workspace = N::Workspace::default();
    net.forward_train(&inputs, &mut workspace, &mut rng).unwrap();
    let (output, gradient) = workspace.output_and_gradient();
    MeanSquaredError.evaluate(output, &targets, gradient, N::OUTPUTS).unwrap();
    let mut analytic = vec![0.0; N::PARAMETERS];
    net.backward(&mut workspace, &mut analytic);
    let inference_loss = |net: &mut N| {
        let mut workspace = N::Workspace::default();
        let output = net.infer(&inputs, &mut workspace).unwrap();
        MeanSquaredError.value(output, &targets, N::OUTPUTS).unwrap()
    };
    let mut worst: f64 = 0.0;
    for (index, &gradient) in analytic.iter().enumerate() {
        let numeric = five_point_derivative(&mut net, index, STEP, inference_loss);
        worst = worst.max((gradient - numeric).abs() / gradient.abs().max(numeric.abs()).max(ABSOLUTE_BELOW));
    }
    worst
}

#[test]
fn spectral_norm() {
    for (batch, seed) in [(1, 1), (6, 2)] {
        let worst = spectral_check::<Spectral<f64>>(batch, seed);
        println!("Spectral (batch {batch}): worst relative error {worst:e}");
        assert!(worst < 1e-6, "Spectral (batch {batch}): worst relative error {worst:e}");
    }
    let worst = spectral_check::<WideSpectral<f64>>(32, 3);
    println!("WideSpectral (batch 32): worst relative error {worst:e}");
    assert!(worst < 1e-6, "WideSpectral: worst relative error {worst:e}");
}

nn::network! { struct Logits { dense(4 -> 6, tanh), dense(6 -> 3) } }
nn::network! { struct Probabilities { dense(4 -> 6, tanh), dense(6 -> 2, sigmoid) } }

/// Every loss, through a network, with targets in each loss's domain.
#[test]
fn every_loss() {
    let batch = 5;
    let regression: Vec<f64> = (0..3 * batch).map(|k| (f64::from(k) * 0.37).sin()).collect();
    let classes: Vec<f64> = (0..batch).map(|k| f64::from(k % 3)).collect();
    let probabilities: Vec<f64> = (0..2 * batch).map(|k| f64::from((k * 3) % 7) / 6.0).collect();
    let labels: Vec<f64> = regression.iter().map(|v| v.abs()).collect();
    let cases: [(&str, f64); 7] = [
        ("mean squared error", check_loss::<Logits<f64>, _>(&MeanSquaredError, &regression)),
        ("quadratic cost", check_loss::<Logits<f64>, _>(&QuadraticCost, &regression)),
        ("mean absolute error", check_loss::<Logits<f64>, _>(&MeanAbsoluteError, &regression)),
        ("huber", check_loss::<Logits<f64>, _>(&Huber { delta: 0.3 }, &regression)),
        ("softmax cross-entropy", check_loss::<Logits<f64>, _>(&SoftmaxCrossEntropy, &classes)),
        ("binary cross-entropy", check_loss::<Probabilities<f64>, _>(&BinaryCrossEntropy, &probabilities)),
        ("bce with logits", check_loss::<Logits<f64>, _>(&BinaryCrossEntropyWithLogits, &labels)),
    ];
    for (name, worst) in cases {
        println!("{name}: worst relative error {worst:e}");
        assert!(worst < 1e-6, "{name}: {worst:e}");
    }
}

/// Backpropagation through `N` with loss `L` and fixed targets, against the five-point
/// difference.
fn check_loss<N: Network<f64, Input = f64>, L: Loss<f64>>(loss: &L, targets: &[f64]) -> f64 {
    let batch = targets.len() / loss.target_width(N::OUTPUTS);
    let mut rng = nn::init::seeded_rng(21);
    let net = N::initialise(&mut rng);
    let inputs: Vec<f64> = (0..N::INPUTS * batch).map(|_| rng.random_range(-1.0..1.0)).collect();
    compare_with_finite_differences(net, loss, &inputs, targets)
}

nn::network! { struct StepHidden { dense(2 -> 3), heaviside, dense(3 -> 1) } }
nn::network! { struct SignHidden { dense(2 -> 3), sign, dense(3 -> 1) } }

/// Step and sign pass no gradient: the layer before them gets exactly zero and keeps its
/// parameters, while the layer after them trains normally.
#[test]
fn step_and_sign_block_the_gradient_and_training_stays_well_defined() {
    fn train<N: Network<f64, Input = f64> + Clone>() {
        let net = N::initialise(&mut nn::init::seeded_rng(4));
        let inputs = [0.5, -1.0, 1.5, 0.25, -0.75, 1.0];
        let targets = [1.0, -1.0, 0.5];
        let mut trainer =
            nn::Trainer::new(net.clone(), MeanSquaredError, Sgd::with_learning_rate(0.1)).keeping_gradients();
        let first = trainer.step(&inputs, &targets).unwrap();
        let gradients = trainer.gradients().expect("kept");
        assert!(gradients[..9].iter().all(|&g| g == 0.0), "nothing flows through the step");
        assert!(gradients[9..].iter().any(|&g| g != 0.0));
        for _ in 0..50 {
            trainer.step(&inputs, &targets).unwrap();
        }
        let last = trainer.step(&inputs, &targets).unwrap();
        assert_eq!(trainer.network().parameters()[..9], net.parameters()[..9]);
        assert!(last < first, "the output layer still learns: {first} → {last}");
    }
    train::<StepHidden<f64>>();
    train::<SignHidden<f64>>();
}

#[test]
fn a_wrong_gradient_is_caught() {
    // The check can fail: perturb one parameter after backprop and the errors explode.
    let mut rng = nn::init::seeded_rng(3);
    let mut net = Depth2::<f64>::initialise(&mut rng);
    let inputs = [0.1, -0.2, 0.3, 0.4];
    let targets = [0.5, 0.0, -0.5];
    let mut workspace = Depth2::workspace();
    net.forward_train(&inputs, &mut workspace, &mut rng).unwrap();
    let (output, gradient) = workspace.output_and_gradient();
    MeanSquaredError.evaluate(output, &targets, gradient, 3).unwrap();
    let mut analytic = vec![0.0; Depth2::<f64>::PARAMETERS];
    net.backward(&mut workspace, &mut analytic);
    let numeric =
        five_point_derivative(&mut net, 0, STEP, |net| loss_at(net, &MeanSquaredError, &inputs, &targets));
    let relative = |claimed: f64| (claimed - numeric).abs() / claimed.abs().max(numeric.abs());
    assert!(relative(analytic[0]) < 1e-6);
    assert!(relative(analytic[0] * (1.0 + 1e-5)) > 1e-6, "an error of 1e-5 in a gradient would be noticed");
}

// Convolution. Each network puts a layer with parameters before the spatial layers, so
// their input gradients are checked too (through that layer's parameter gradients). Smooth
// activations only; max pooling's argmax does not switch within the difference step on
// these draws (a switch would show as an error near 1, not a small one).
nn::network! {
    /// `conv2d` with padding, stride 2, rectangular kernel and dilation; several channels.
    struct ConvStridePadDilation {
        input(2, 7, 12),
        conv2d(2 -> 4, kernel = 3, stride = 2, padding = 1, tanh),
        conv2d(4 -> 3, kernel = (2, 3), dilation = (1, 2), padding = (1, 0), tanh),
        flatten,
        dense(3),
    }
}
nn::network! {
    /// Grouped, depthwise (`groups = C`, `padding = same`) and pointwise convolutions,
    /// then global average pooling.
    struct ConvGroupsDepthwise {
        input(4, 6, 5),
        conv2d(4 -> 6, kernel = 3, groups = 2, tanh),
        conv2d(6 -> 6, kernel = 3, groups = 6, padding = same, tanh),
        conv2d(6 -> 3, kernel = 1, bias = false, tanh),
        global_avg_pool,
        dense(2),
    }
}
nn::network! {
    /// `conv1d`: stride, padding, dilation, groups, no bias; max pooling in 1-D; dropout and
    /// a standalone activation on a signal.
    struct Conv1d {
        input(3, 10),
        conv1d(3 -> 4, kernel = 3, stride = 2, padding = 2, dilation = 2, tanh),
        dropout(0.25),
        conv1d(4 -> 2, kernel = 2, groups = 2, bias = false),
        sigmoid,
        max_pool1d(2),
        flatten,
        dense(2),
    }
}
nn::network! {
    /// `conv_transpose2d` with stride, padding and output padding, after a convolution.
    struct ConvTranspose {
        input(2, 3, 4),
        conv2d(2 -> 2, kernel = 2, padding = 1, tanh),
        conv_transpose2d(2 -> 3, kernel = 3, stride = 2, padding = 1, output_padding = 1, tanh),
        avg_pool2d(2),
        flatten,
        dense(2),
    }
}
nn::network! {
    /// `conv_transpose1d` with groups and dilation, then a second one reading the first.
    struct ConvTranspose1d {
        input(4, 5),
        conv1d(4 -> 4, kernel = 1, tanh),
        conv_transpose1d(4 -> 2, kernel = 3, stride = 2, dilation = 2, groups = 2, tanh),
        conv_transpose1d(2 -> 2, kernel = 2, tanh),
        flatten,
        dense(2),
    }
}
nn::network! {
    /// Batch norm over channels, max pooling, upsampling and padded average pooling.
    struct PoolUpsampleBatchNorm {
        input(2, 6, 6),
        conv2d(2 -> 3, kernel = 3, padding = 1, tanh),
        batch_norm(3, tanh),
        max_pool2d(2),
        upsample(2),
        avg_pool2d(3, stride = 2, padding = 1),
        flatten,
        dense(2),
    }
}

#[test]
fn conv2d_with_padding_stride_dilation_and_channels() {
    assert_gradients_match::<ConvStridePadDilation<f64>>("ConvStridePadDilation");
}

#[test]
fn conv2d_grouped_depthwise_and_pointwise() {
    assert_gradients_match::<ConvGroupsDepthwise<f64>>("ConvGroupsDepthwise");
}

#[test]
fn conv1d_with_stride_dilation_and_groups() {
    assert_gradients_match::<Conv1d<f64>>("Conv1d");
}

#[test]
fn conv_transpose2d_with_output_padding() {
    assert_gradients_match::<ConvTranspose<f64>>("ConvTranspose");
}

#[test]
fn conv_transpose1d_with_groups_and_dilation() {
    assert_gradients_match::<ConvTranspose1d<f64>>("ConvTranspose1d");
}

#[test]
fn pooling_upsampling_and_batch_norm_over_channels() {
    assert_gradients_match::<PoolUpsampleBatchNorm<f64>>("PoolUpsampleBatchNorm");
}

nn::network! {
    /// A tanh RNN's whole sequence through a per-step dense layer.
    struct RnnSequence { input(5, 3), rnn(3 -> 4), dense(2, tanh) }
}
nn::network! {
    /// A relu RNN read at its final state.
    struct RnnReluLast { input(4, 3), rnn(3 -> 4, relu, last), dense(2) }
}
nn::network! {
    /// A bidirectional RNN averaged over its steps.
    struct RnnBidirectional { input(3, 2), rnn(2 -> 3, bidirectional), mean_over_steps, dense(2) }
}
nn::network! {
    /// A GRU's whole sequence, per-step dense.
    struct GruSequence { input(4, 3), gru(3 -> 4), dense(2) }
}
nn::network! {
    /// A GRU stacked on a bidirectional GRU, read at its last step.
    struct GruStackedLast { input(4, 2), gru(2 -> 3, bidirectional), gru(4, last), dense(2) }
}
nn::network! {
    /// An LSTM stacked on a bidirectional LSTM read at both final states.
    struct LstmStacked { input(4, 3), lstm(3 -> 4), lstm(3, bidirectional, last), dense(2) }
}
nn::network! {
    /// A bidirectional LSTM's whole sequence, then its last step.
    struct LstmBidirectional { input(3, 2), lstm(2 -> 3, bidirectional), last_step, dense(2) }
}
nn::network! {
    /// Self-attention, every key visible.
    struct Attention { input(4, 6), self_attention(heads = 2), mean_over_steps, dense(3) }
}
nn::network! {
    /// Causal self-attention behind a per-step projection, read at the last step.
    struct AttentionCausal { input(5, 4), dense(6, tanh), self_attention(heads = 3, causal), last_step, dense(2) }
}
nn::network! {
    /// Both position encodings before attention.
    struct Positions { input(4, 6), positional, sinusoidal, self_attention(heads = 1), flatten, dense(2) }
}
nn::network! {
    /// A pre-norm transformer encoder block written in the declaration.
    struct TransformerBlock {
        input(6, 8),
        positional(6),
        residual { layer_norm, self_attention(heads = 2, causal) },
        residual { layer_norm, dense(16, gelu), dense(8) },
        layer_norm,
        mean_over_steps,
        dense(3),
    }
}

/// [`assert_gradients_match`] with [`SEQUENCE_STEP`].
fn assert_sequence_gradients_match<N: Network<f64, Input = f64>>(name: &str) {
    for (seed, batch) in [(1, 1), (2, 5)] {
        let worst = worst_relative_error_with_step::<N, _>(&MeanSquaredError, batch, seed, SEQUENCE_STEP);
        println!("{name} (batch {batch}, mse): worst relative error {worst:e}");
        assert!(worst < 1e-6, "{name}: worst relative error {worst:e}");
        let worst = worst_relative_error_with_step::<N, _>(&QuadraticCost, batch, seed + 10, SEQUENCE_STEP);
        println!("{name} (batch {batch}, quadratic cost): worst relative error {worst:e}");
        assert!(worst < 1e-6, "{name}: worst relative error {worst:e}");
    }
}

#[test]
fn rnn_with_both_nonlinearities_last_and_bidirectional() {
    assert_sequence_gradients_match::<RnnSequence<f64>>("RnnSequence");
    assert_sequence_gradients_match::<RnnReluLast<f64>>("RnnReluLast");
    assert_sequence_gradients_match::<RnnBidirectional<f64>>("RnnBidirectional");
}

#[test]
fn gru_whole_sequence_stacked_bidirectional_and_last() {
    assert_sequence_gradients_match::<GruSequence<f64>>("GruSequence");
    assert_sequence_gradients_match::<GruStackedLast<f64>>("GruStackedLast");
}

#[test]
fn lstm_stacked_bidirectional_and_last() {
    assert_sequence_gradients_match::<LstmStacked<f64>>("LstmStacked");
    assert_sequence_gradients_match::<LstmBidirectional<f64>>("LstmBidirectional");
}

#[test]
fn self_attention_with_and_without_the_causal_mask() {
    assert_sequence_gradients_match::<Attention<f64>>("Attention");
    assert_sequence_gradients_match::<AttentionCausal<f64>>("AttentionCausal");
}

#[test]
fn learned_and_sinusoidal_positions() {
    assert_sequence_gradients_match::<Positions<f64>>("Positions");
}

#[test]
fn transformer_encoder_block() {
    assert_sequence_gradients_match::<TransformerBlock<f64>>("TransformerBlock");
}
