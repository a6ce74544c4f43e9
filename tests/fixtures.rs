//! The PyTorch fixtures `01`–`07` and `09`–`20` (float64 references): every layer's forward values, the
//! loss, every gradient, and every optimizer step with its state, in f64 to 1e-9 relative
//! (the fixtures' own hint: `|got − exp| ≤ 1e-12 + 1e-9·|exp|`) and in f32 within the
//! fixtures' float32 hint. Each test prints its worst relative error.

mod support;

use nn::activation::softmax;
use nn::prelude::*;
use nn::{Real, Trainer};
use serde_json::Value;
use support::{Fixture, FromFixture, Tolerance, assert_close, cast, flatten, flatten_parameters};

nn::network! { struct Net01 { dense(2 -> 3, sigmoid), dense(3 -> 1, sigmoid) } }
nn::network! { struct Net02 { dense(4 -> 5, tanh), dense(5 -> 3, relu), dense(3 -> 2, identity) } }
nn::network! { struct Net03 { dense(5 -> 8, relu), dense(8 -> 4) } }
nn::network! { struct Net04 { dense(3 -> 4, tanh), dense(4 -> 1, sigmoid) } }
nn::network! {
    /// `05_batchnorm`: `BatchNorm1d` between two dense layers, relu fused.
    struct Net05 { dense(3 -> 6), batch_norm(6, relu), dense(2) }
}
nn::network! {
    /// `07_embedding`: one id per sample (ids, never floats), then logits.
    struct Net07 { embedding(10 -> 4), dense(3) }
}
nn::network! {
    /// `20_embedding_sequence`: five ids per sample, a sequence `[5, 3]`, flattened.
    struct Net20 { input(5), emb: embedding(12 -> 3), flat: flatten, out: dense(2) }
}
nn::network! {
    /// `09_conv2d`: a convolution, max pooling and logits (a chain).
    struct Net09 { input(1, 6, 6), conv2d(1 -> 2, kernel = 3, relu), max_pool2d(2), flatten, dense(3) }
}
nn::network! {
    /// `13_conv2d_stride_groups_bn`: a strided, padded, grouped convolution, `BatchNorm2d`
    /// with relu fused, average pooling and logits.
    struct Net13 {
        input(2, 7, 7),
        conv: conv2d(2 -> 4, kernel = 3, stride = 2, padding = 1, groups = 2),
        bn: batch_norm(4, relu),
        pool: avg_pool2d(2),
        flat: flatten,
        out: dense(3),
    }
}
nn::network! {
    /// `14_conv1d`: a padded, dilated 1-D convolution and max pooling.
    struct Net14 {
        input(1, 12),
        conv: conv1d(1 -> 3, kernel = 3, padding = 2, dilation = 2, relu),
        pool: max_pool1d(2),
        flat: flatten,
        out: dense(2),
    }
}
nn::network! {
    /// `15_conv_transpose2d`: a strided transposed convolution with output padding, 3×3 to 6×6.
    struct Net15 {
        input(2, 3, 3),
        deconv: conv_transpose2d(2 -> 1, kernel = 3, stride = 2, padding = 1, output_padding = 1, sigmoid),
    }
}
nn::network! {
    /// `10_layernorm`: `LayerNorm(6)` with exact GELU fused, between two dense layers.
    struct Net10 { input(5), h: dense(6), ln: layer_norm(6, gelu), out: dense(3) }
}
nn::network! {
    /// `11_residual` as its graph: `h1` feeds `f1` and `res`.
    struct Net11 { input(4), h1: dense(6, relu), f1: dense(6, tanh), f2: dense(6), res: add(h1, f2), out: dense(2) }
}
nn::network! {
    /// `11_residual` as a residual block: the same network, the same names.
    struct Net11Residual { input(4), h1: dense(6, relu), res: residual { f1: dense(6, tanh), f2: dense(6) }, out: dense(2) }
}
nn::network! {
    /// `12_branch_concat`: two branches read the input and are joined.
    struct Net12 { input(5), a: dense(3, relu), b: dense(4, tanh) <- input, cat: concat(a, b), out: dense(3) }
}

nn::network! {
    /// `16_rnn`: a tanh RNN read at its last step.
    struct Net16 { input(5, 3), rnn: rnn(3 -> 4), last: last_step, out: dense(3) }
}
nn::network! {
    /// `16_rnn_relu`: the same with relu.
    struct Net16Relu { input(5, 3), rnn: rnn(3 -> 4, relu), last: last_step, out: dense(3) }
}
nn::network! {
    /// `17_gru`: a GRU's whole sequence through a per-step dense layer.
    struct Net17 { input(4, 3), gru: gru(3 -> 4), out: dense(2) }
}
nn::network! {
    /// `17_gru_last`: a GRU read at its last step.
    struct Net17Last { input(4, 3), gru: gru(3 -> 4), last: last_step, out: dense(3) }
}
nn::network! {
    /// `18_lstm`: PyTorch's two-layer LSTM as two consecutive layers.
    struct Net18 { input(4, 3), lstm_l0: lstm(3 -> 4), lstm: lstm(4), last: last_step, out: dense(3) }
}
nn::network! {
    /// `18_lstm_bidirectional`: both directions, averaged over the steps.
    struct Net18Bidirectional { input(4, 3), lstm: lstm(3 -> 4, bidirectional), pool: mean_over_steps, out: dense(2) }
}

nn::network! {
    /// `19_self_attention`: attention in a residual, normalised, averaged over the steps.
    struct Net19 {
        input(4, 8),
        attn: self_attention(heads = 2),
        res: add(input, attn),
        ln: layer_norm,
        pool: mean_over_steps,
        out: dense(3),
    }
}
nn::network! {
    /// `19_self_attention_causal`: the same with the causal mask.
    struct Net19Causal {
        input(4, 8),
        attn: self_attention(heads = 2, causal),
        res: add(input, attn),
        ln: layer_norm,
        pool: mean_over_steps,
        out: dense(3),
    }
}

/// Compares and remembers the worst relative error.
struct Checker {
    tolerance: Tolerance,
    worst: f64,
    file: &'static str,
    /// Parameter elements whose gradient is zero in exact arithmetic (the attention key
    /// bias): the file holds rounding noise there, which Adam turns into movement of up to
    /// ~2e-11, so they are compared with `atol` 1e-9 (or the file's own, if larger), as the
    /// fixtures' README says.
    zero_gradients: Vec<usize>,
}

impl Checker {
    fn close<T: Real>(&mut self, got: &[T], expected: &[f64], what: &str) {
        let worst = assert_close(got, expected, self.tolerance, &format!("{}: {what}", self.file));
        self.worst = self.worst.max(worst);
    }

    /// [`Checker::close`] for a parameter-shaped buffer: the analytically zero elements
    /// within 1e-9, the rest within the file's tolerance.
    fn close_parameters<T: Real>(&mut self, got: &[T], expected: &[f64], what: &str) {
        let mut got = got.to_vec();
        for &index in &self.zero_gradients {
            let (error, atol) =
                ((got[index].to_f64() - expected[index]).abs(), self.tolerance.atol.max(1e-9));
            assert!(
                error <= atol,
                "{}: {what}[{index}] (analytically zero gradient): error {error:e}",
                self.file
            );
            got[index] = T::from_float(expected[index]);
        }
        self.close(&got, expected, what);
    }
}

/// The flat indices, in nn's parameter buffer, of the elements the fixture lists under
/// `diagnostics.analytically_zero_gradients`.
fn zero_gradient_indices(json: &Value) -> Vec<usize> {
    let Some(elements) = json["diagnostics"]["analytically_zero_gradients"]["elements"].as_array() else {
        return Vec::new();
    };
    let layers = json["init"]["params"].as_array().unwrap();
    elements
        .iter()
        .flat_map(|element| {
            let (layer, param) =
                (element["layer"].as_u64().unwrap() as usize, element["param"].as_str().unwrap());
            let before: usize = layers[..layer]
                .iter()
                .map(|l| flatten_parameters(&Value::Array(vec![l.clone()])).len())
                .sum();
            let within = support::parameter_offset(&layers[layer], param);
            element["flat_indices"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |i| before + within + i.as_u64().unwrap() as usize)
        })
        .collect()
}

/// An optimizer's state, named as in the fixtures' `optimizer_state`.
type State<O, T> = fn(&O) -> Vec<(&'static str, Vec<T>)>;

/// Runs a fixture end to end: forward, loss, gradients, then every optimizer step.
fn run<T, N, L, O>(file: &'static str, loss: L, optimizer: O, state: State<O, T>) -> f64
where
    T: Real,
    N: Network<T> + Clone,
    N::Input: FromFixture,
    N::Workspace: LayerRecords<T>,
    L: Loss<T> + Copy,
    O: Optimizer<T>,
{
    let fixture = Fixture::load(file);
    let json = &fixture.json;
    let zero_gradients = zero_gradient_indices(json);
    let mut check = Checker { tolerance: fixture.tolerance::<T>(), worst: 0.0, file, zero_gradients };
    let net = N::from_parameters(cast(&flatten_parameters(&json["init"]["params"]))).unwrap();
    let (inputs, targets) = (fixture.inputs_as::<N::Input>(), fixture.targets::<T>());
    let expected = &json["expected"];

    // The first forward runs on a copy: a training forward updates running statistics, and
    // the trainer's first step must start from the initial state, as PyTorch's did.
    let mut workspace = N::Workspace::default();
    net.clone().forward_train(&inputs, &mut workspace, &mut nn::init::seeded_rng(0)).unwrap();
    let layers = &json["network"]["layers"];
    for (index, record) in expected["forward"]["layers"].as_array().unwrap().iter().enumerate() {
        // Graph files name their layers (in lower case here); chains are numbered.
        let name = layers[index]["name"].as_str().map_or_else(|| index.to_string(), str::to_lowercase);
        if let Some(z) = record.get("z") {
            check.close(workspace.pre_activation(&name), &flatten(z), &format!("layer {name} z"));
        }
        check.close(workspace.activation(&name), &flatten(&record["a"]), &format!("layer {name} a"));
        if record.get("per_layer").is_some() {
            recurrent_records(&mut check, &workspace, layers, record);
        }
        if record.get("attn_weights").is_some() {
            attention_records(&mut check, &workspace, &name, record);
        }
        for (key, kept) in
            [("x_hat", "normalised"), ("batch_mean", "mean"), ("mean", "mean"), ("argmax", "argmax")]
        {
            if let Some(values) = record.get(key) {
                check.close(workspace.scratch(&name, kept), &flatten(values), &format!("layer {name} {key}"));
            }
        }
    }
    if let Some(probabilities) = expected["forward"].get("softmax") {
        let mut softmax = vec![T::zero(); workspace.output().len()];
        softmax::forward(workspace.output(), &mut softmax, N::OUTPUTS);
        check.close(&softmax, &flatten(probabilities), "softmax");
    }
    let (output, output_gradient) = workspace.output_and_gradient();
    let value = loss.evaluate(output, &targets, output_gradient, N::OUTPUTS).unwrap();
    check.close(&[value], &[expected["loss"].as_f64().unwrap()], "loss");
    // NaN where the backward pass must write: a gradient it left unwritten shows.
    let mut gradients = vec![T::from_float(f64::NAN); N::PARAMETERS];
    net.backward(&mut workspace, &mut gradients);
    check.close_parameters(&gradients, &flatten_parameters(&expected["grads"]), "grads");
    // The backward pass leaves the forward pass's values as they were: with the loss's
    // gradient written again, a second one gives the same gradients, bit for bit (how the
    // trainer finds which gradient of a failed step was not finite).
    let (output, output_gradient) = workspace.output_and_gradient();
    loss.evaluate(output, &targets, output_gradient, N::OUTPUTS).unwrap();
    let mut again = vec![T::from_float(f64::NAN); N::PARAMETERS];
    net.backward(&mut workspace, &mut again);
    assert!(
        gradients.iter().zip(&again).all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()),
        "{file}: a second backward pass gave other gradients"
    );

    let mut trainer = Trainer::new(net, loss, optimizer).keeping_gradients();
    for step in expected["steps"].as_array().unwrap() {
        let k = step["step"].as_u64().unwrap();
        let value = trainer.step(&inputs, &targets).unwrap();
        check.close(&[value], &[step["loss"].as_f64().unwrap()], &format!("step {k} loss"));
        check.close_parameters(
            trainer.gradients().expect("kept"),
            &flatten_parameters(&step["grads"]),
            &format!("step {k} grads"),
        );
        check.close_parameters(
            trainer.network().parameters(),
            &flatten_parameters(&step["params"]),
            &format!("step {k} params"),
        );
        for (name, values) in state(trainer.optimizer()) {
            let expected_state = &step["optimizer_state"][name];
            check.close_parameters(&values, &flatten_parameters(expected_state), &format!("step {k} {name}"));
        }
        if let Some(buffers) = step.get("buffers") {
            check.close(trainer.network().buffers(), &flatten_buffers(buffers), &format!("step {k} buffers"));
        }
    }
    let mut workspace = N::Workspace::default();
    let output = trainer.network().infer(&inputs, &mut workspace).unwrap().to_vec();
    if let Some(eval) = expected.get("eval_forward_after_steps") {
        // Inference normalises with the running statistics, never the batch's.
        check.close(&output, &flatten(&eval["output"]), "eval-mode output after the steps");
        for (index, record) in eval["layers"].as_array().unwrap().iter().enumerate() {
            let name = layers[index]["name"].as_str().map_or_else(|| index.to_string(), str::to_lowercase);
            // Inference skips a flatten (the values do not move): its values are its input's.
            let holder = if layers[index]["type"] == "flatten" {
                layers[index]["inputs"][0].as_str().unwrap().to_lowercase()
            } else {
                name.clone()
            };
            check.close(
                workspace.activation(&holder),
                &flatten(&record["a"]),
                &format!("eval layer {name} a"),
            );
        }
    }
    // The fixtures' final loss is the training-mode loss (batch statistics, on a copy so the
    // running ones stay as they are).
    let mut training = N::Workspace::default();
    trainer.network().clone().forward_train(&inputs, &mut training, &mut nn::init::seeded_rng(0)).unwrap();
    let final_loss = loss.value(training.output(), &targets, N::OUTPUTS).unwrap();
    check.close(&[final_loss], &[expected["final_loss"].as_f64().unwrap()], "final loss");
    check.worst
}

/// A recurrent layer's records — each (layer, direction)'s pre-activations, gates, cell
/// states and hidden states `[N][T][·]`, and the final `h_n`, `c_n` — against what it kept. PyTorch's layer
/// `k` of a stacked module is nn's `{name}_l{k}`, its top layer `{name}`.
fn recurrent_records<T: Real, W: LayerRecords<T>>(
    check: &mut Checker,
    workspace: &W,
    layers: &Value,
    record: &Value,
) {
    let per_layer = &record["per_layer"];
    let node = &layers.as_array().unwrap().iter().find(|l| l.get("hidden_size").is_some()).unwrap();
    let (name, hidden) = (node["name"].as_str().unwrap(), node["hidden_size"].as_u64().unwrap() as usize);
    let top = node["num_layers"].as_u64().unwrap() - 1;
    let directions = if node["bidirectional"].as_bool().unwrap() { 2 } else { 1 };
    for entry in per_layer.as_array().unwrap() {
        let k = entry["layer"].as_u64().unwrap();
        let layer = if k == top { name.to_owned() } else { format!("{name}_l{k}") };
        let (reverse, suffix) = if entry["direction"] == "reverse" { (1, "_reverse") } else { (0, "") };
        let what = |key: &str| format!("layer {layer} {} {key}", entry["direction"]);
        let gates = ["r", "z", "n"].iter().chain(&["i", "f", "g", "o", "c"]);
        let kept_width = if entry.get("r").is_some() { 3 } else { 5 };
        for (index, key) in gates.filter(|key| entry.get(**key).is_some()).enumerate() {
            let kept = workspace.scratch(&layer, &format!("kept{suffix}"));
            check.close(
                &block(kept, kept_width * hidden, index * hidden, hidden),
                &flatten(&entry[*key]),
                &what(key),
            );
        }
        for (key, kept) in [("pre", "pre"), ("gi", "pre"), ("gates_pre", "pre"), ("gh", "gh")] {
            if let Some(values) = entry.get(key) {
                check.close(
                    workspace.scratch(&layer, &format!("{kept}{suffix}")),
                    &flatten(values),
                    &what(key),
                );
            }
        }
        let sequence = workspace.activation(&layer);
        let h = block(sequence, directions * hidden, reverse * hidden, hidden);
        check.close(&h, &flatten(&entry["h"]), &what("h"));
        // h_n and c_n: each (layer, direction)'s state after reading the whole sequence, at
        // position T − 1 forward and 0 in reverse, in PyTorch's order.
        let steps = entry["h"][0].as_array().unwrap().len();
        let last = if reverse == 1 { 0 } else { steps - 1 };
        let index = k as usize * directions + reverse;
        let final_h: Vec<T> = h.chunks(hidden).skip(last).step_by(steps).flatten().copied().collect();
        check.close(&final_h, &flatten(&record["h_n"][index]), &what("h_n"));
        if let Some(c_n) = record.get("c_n") {
            let c =
                block(workspace.scratch(&layer, &format!("kept{suffix}")), 5 * hidden, 4 * hidden, hidden);
            let final_c: Vec<T> = c.chunks(hidden).skip(last).step_by(steps).flatten().copied().collect();
            check.close(&final_c, &flatten(&c_n[index]), &what("c_n"));
        }
    }
}

/// A self-attention layer's records: the projections `q`, `k`, `v`, the scores before the
/// mask, the weights per head and averaged over the heads, and the heads' concatenated
/// output.
fn attention_records<T: Real, W: LayerRecords<T>>(
    check: &mut Checker,
    workspace: &W,
    name: &str,
    record: &Value,
) {
    let qkv = workspace.scratch(name, "qkv");
    let (steps, embed) =
        (record["q"][0].as_array().unwrap().len(), record["q"][0][0].as_array().unwrap().len());
    for (index, key) in ["q", "k", "v"].into_iter().enumerate() {
        check.close(
            &block(qkv, 3 * embed, index * embed, embed),
            &flatten(&record[key]),
            &format!("layer {name} {key}"),
        );
    }
    let weights = workspace.scratch(name, "weights");
    check.close(weights, &flatten(&record["attn_weights"]), &format!("layer {name} attn_weights"));
    let heads = record["attn_weights"][0].as_array().unwrap().len();
    let per_head = steps * steps;
    let samples = weights.chunks_exact(heads * per_head);
    let average: Vec<T> = samples
        .flat_map(|sample| {
            (0..per_head).map(move |i| {
                let sum = (0..heads).fold(T::zero(), |sum, j| sum + sample[j * per_head + i]);
                sum / T::from_float(heads as f64)
            })
        })
        .collect();
    check.close(&average, &flatten(&record["attn_weights_avg"]), &format!("layer {name} attn_weights_avg"));
    check.close(
        workspace.scratch(name, "context"),
        &flatten(&record["context"]),
        &format!("layer {name} context"),
    );
}

/// Columns `start .. start + len` of every row of `width` values.
fn block<T: Real>(values: &[T], width: usize, start: usize, len: usize) -> Vec<T> {
    values.chunks_exact(width).flat_map(|row| row[start..start + len].to_vec()).collect()
}

/// A PARAMS-shaped list of state (`null` for layers without any) as one flat buffer in nn's
/// layout: each layer's running mean, running variance and batch count.
fn flatten_buffers(layers: &Value) -> Vec<f64> {
    let keys = ["running_mean", "running_var", "num_batches_tracked"];
    layers
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| !l.is_null())
        .flat_map(|l| keys.map(|k| flatten(&l[k])))
        .flatten()
        .collect()
}

/// The generated workspaces' per-layer lookups, behind a trait so `run` is generic.
trait LayerRecords<T> {
    fn pre_activation(&self, layer: &str) -> &[T];
    fn activation(&self, layer: &str) -> &[T];
    fn scratch(&self, layer: &str, kept: &str) -> &[T];
}

macro_rules! layer_records {
    ($($workspace:ident),*) => {$(
        impl<T: Real> LayerRecords<T> for $workspace<T> {
            fn pre_activation(&self, layer: &str) -> &[T] {
                self.layer_pre_activation(layer).unwrap()
            }
            fn activation(&self, layer: &str) -> &[T] {
                self.layer_output(layer).unwrap()
            }
            fn scratch(&self, layer: &str, kept: &str) -> &[T] {
                self.layer_scratch(layer, kept).unwrap()
            }
        }
    )*};
}
layer_records!(
    Net01Workspace,
    Net02Workspace,
    Net03Workspace,
    Net04Workspace,
    Net05Workspace,
    Net06Workspace,
    Net07Workspace,
    Net09Workspace,
    Net10Workspace,
    Net11Workspace,
    Net11ResidualWorkspace,
    Net12Workspace,
    Net13Workspace,
    Net14Workspace,
    Net15Workspace,
    Net16Workspace,
    Net16ReluWorkspace,
    Net17Workspace,
    Net17LastWorkspace,
    Net18Workspace,
    Net18BidirectionalWorkspace,
    Net19Workspace,
    Net19CausalWorkspace,
    Net20Workspace
);

fn number(json: &Value, key: &str) -> f64 {
    json["optimizer"][key].as_f64().unwrap_or_else(|| panic!("optimizer.{key}"))
}

fn sgd<T: Real>(file: &str) -> Sgd<T> {
    let json = Fixture::load(file).json;
    let momentum = json["optimizer"].get("momentum").and_then(Value::as_f64).unwrap_or(0.0);
    Sgd::new(SgdConfig { learning_rate: number(&json, "lr"), momentum, ..SgdConfig::default() })
}

fn adam_config(file: &str) -> AdamConfig {
    let json = Fixture::load(file).json;
    let betas = &json["optimizer"]["betas"];
    AdamConfig {
        learning_rate: number(&json, "lr"),
        betas: (betas[0].as_f64().unwrap(), betas[1].as_f64().unwrap()),
        epsilon: number(&json, "eps"),
        weight_decay: json["optimizer"].get("weight_decay").and_then(Value::as_f64).unwrap_or(0.0),
        amsgrad: false,
    }
}

/// Every fixture, each with its worst relative error.
fn all_fixtures<T: Real + FromFixture>() -> Vec<(&'static str, f64)> {
    let mut files = chain_fixtures::<T>();
    files.extend(stateful_and_graph_fixtures::<T>());
    files.extend(recurrent_fixtures::<T>());
    files
}

/// `01`–`04`: chains of dense layers with every loss and optimizer.
fn chain_fixtures<T: Real + FromFixture>() -> Vec<(&'static str, f64)> {
    let momentum = |o: &Sgd<T>| vec![("momentum_buffer", o.momentum_buffer().to_vec())];
    let adam = |o: &Adam<T>| {
        vec![("exp_avg", o.first_moment().to_vec()), ("exp_avg_sq", o.second_moment().to_vec())]
    };
    let adamw = |o: &AdamW<T>| {
        vec![("exp_avg", o.first_moment().to_vec()), ("exp_avg_sq", o.second_moment().to_vec())]
    };
    let none = |_: &Sgd<T>| Vec::new();
    let files = [
        (
            "01_xor_sigmoid_mse.json",
            run::<T, Net01<T>, _, _>(
                "01_xor_sigmoid_mse.json",
                MeanSquaredError,
                sgd("01_xor_sigmoid_mse.json"),
                none,
            ),
        ),
        (
            "01_xor_sigmoid_half_sse_mean.json",
            run::<T, Net01<T>, _, _>(
                "01_xor_sigmoid_half_sse_mean.json",
                QuadraticCost,
                sgd("01_xor_sigmoid_half_sse_mean.json"),
                none,
            ),
        ),
        (
            "02_mlp_tanh_relu_mse.json",
            run::<T, Net02<T>, _, _>(
                "02_mlp_tanh_relu_mse.json",
                MeanSquaredError,
                sgd("02_mlp_tanh_relu_mse.json"),
                momentum,
            ),
        ),
        (
            "02_mlp_tanh_relu_half_sse_mean.json",
            run::<T, Net02<T>, _, _>(
                "02_mlp_tanh_relu_half_sse_mean.json",
                QuadraticCost,
                sgd("02_mlp_tanh_relu_half_sse_mean.json"),
                momentum,
            ),
        ),
        (
            "03_softmax_ce.json",
            run::<T, Net03<T>, _, _>(
                "03_softmax_ce.json",
                SoftmaxCrossEntropy,
                Adam::new(adam_config("03_softmax_ce.json")),
                adam,
            ),
        ),
        (
            "04_bce.json",
            run::<T, Net04<T>, _, _>(
                "04_bce.json",
                BinaryCrossEntropy,
                AdamW::new(adam_config("04_bce.json")),
                adamw,
            ),
        ),
    ];
    files.into()
}

/// `05`–`20`: convolution, normalisation, ids and graphs.
fn stateful_and_graph_fixtures<T: Real + FromFixture>() -> Vec<(&'static str, f64)> {
    let momentum = |o: &Sgd<T>| vec![("momentum_buffer", o.momentum_buffer().to_vec())];
    let adam = |o: &Adam<T>| {
        vec![("exp_avg", o.first_moment().to_vec()), ("exp_avg_sq", o.second_moment().to_vec())]
    };
    let none = |_: &Sgd<T>| Vec::new();
    let files = [
        (
            "09_conv2d.json",
            run::<T, Net09<T>, _, _>("09_conv2d.json", SoftmaxCrossEntropy, sgd("09_conv2d.json"), none),
        ),
        (
            "13_conv2d_stride_groups_bn.json",
            run::<T, Net13<T>, _, _>(
                "13_conv2d_stride_groups_bn.json",
                SoftmaxCrossEntropy,
                sgd("13_conv2d_stride_groups_bn.json"),
                momentum,
            ),
        ),
        (
            "14_conv1d.json",
            run::<T, Net14<T>, _, _>("14_conv1d.json", MeanSquaredError, sgd("14_conv1d.json"), none),
        ),
        (
            "15_conv_transpose2d.json",
            run::<T, Net15<T>, _, _>(
                "15_conv_transpose2d.json",
                MeanSquaredError,
                sgd("15_conv_transpose2d.json"),
                none,
            ),
        ),
        (
            "05_batchnorm.json",
            run::<T, Net05<T>, _, _>("05_batchnorm.json", MeanSquaredError, sgd("05_batchnorm.json"), none),
        ),
        (
            "07_embedding.json",
            run::<T, Net07<T>, _, _>(
                "07_embedding.json",
                SoftmaxCrossEntropy,
                sgd("07_embedding.json"),
                none,
            ),
        ),
        (
            "10_layernorm.json",
            run::<T, Net10<T>, _, _>(
                "10_layernorm.json",
                SoftmaxCrossEntropy,
                Adam::new(adam_config("10_layernorm.json")),
                adam,
            ),
        ),
        (
            "11_residual.json",
            run::<T, Net11<T>, _, _>("11_residual.json", MeanSquaredError, sgd("11_residual.json"), none),
        ),
        (
            "11_residual.json (residual block)",
            run::<T, Net11Residual<T>, _, _>(
                "11_residual.json",
                MeanSquaredError,
                sgd("11_residual.json"),
                none,
            ),
        ),
        (
            "12_branch_concat.json",
            run::<T, Net12<T>, _, _>(
                "12_branch_concat.json",
                SoftmaxCrossEntropy,
                sgd("12_branch_concat.json"),
                momentum,
            ),
        ),
        (
            "20_embedding_sequence.json",
            run::<T, Net20<T>, _, _>(
                "20_embedding_sequence.json",
                MeanSquaredError,
                sgd("20_embedding_sequence.json"),
                none,
            ),
        ),
    ];
    files.into()
}

/// `16`–`19`: recurrent layers and self-attention.
fn recurrent_fixtures<T: Real + FromFixture>() -> Vec<(&'static str, f64)> {
    let adam = |o: &Adam<T>| {
        vec![("exp_avg", o.first_moment().to_vec()), ("exp_avg_sq", o.second_moment().to_vec())]
    };
    let none = |_: &Sgd<T>| Vec::new();
    vec![
        (
            "16_rnn.json",
            run::<T, Net16<T>, _, _>("16_rnn.json", SoftmaxCrossEntropy, sgd("16_rnn.json"), none),
        ),
        (
            "16_rnn_relu.json",
            run::<T, Net16Relu<T>, _, _>(
                "16_rnn_relu.json",
                SoftmaxCrossEntropy,
                sgd("16_rnn_relu.json"),
                none,
            ),
        ),
        (
            "17_gru.json",
            run::<T, Net17<T>, _, _>(
                "17_gru.json",
                MeanSquaredError,
                Adam::new(adam_config("17_gru.json")),
                adam,
            ),
        ),
        (
            "17_gru_last.json",
            run::<T, Net17Last<T>, _, _>(
                "17_gru_last.json",
                SoftmaxCrossEntropy,
                Adam::new(adam_config("17_gru_last.json")),
                adam,
            ),
        ),
        (
            "18_lstm.json",
            run::<T, Net18<T>, _, _>("18_lstm.json", SoftmaxCrossEntropy, sgd("18_lstm.json"), none),
        ),
        (
            "18_lstm_bidirectional.json",
            run::<T, Net18Bidirectional<T>, _, _>(
                "18_lstm_bidirectional.json",
                MeanSquaredError,
                sgd("18_lstm_bidirectional.json"),
                none,
            ),
        ),
        (
            "19_self_attention.json",
            run::<T, Net19<T>, _, _>(
                "19_self_attention.json",
                SoftmaxCrossEntropy,
                Adam::new(adam_config("19_self_attention.json")),
                adam,
            ),
        ),
        (
            "19_self_attention_causal.json",
            run::<T, Net19Causal<T>, _, _>(
                "19_self_attention_causal.json",
                SoftmaxCrossEntropy,
                Adam::new(adam_config("19_self_attention_causal.json")),
                adam,
            ),
        ),
    ]
}

#[test]
fn every_fixture_matches_pytorch_in_f64() {
    for (file, worst) in all_fixtures::<f64>() {
        println!("{file} f64: worst relative error {worst:e}");
        assert!(worst < 1e-9, "{file}: {worst:e}");
    }
}

#[test]
fn every_fixture_matches_pytorch_in_f32() {
    for (file, worst) in all_fixtures::<f32>() {
        println!(
            "{file} f32: worst relative error {worst:e} (each value also within the fixture's f32 hint)"
        );
    }
}

#[test]
fn swapping_the_quadratic_losses_fails_fixture_01() {
    // K = 1 there, so `mse` = 2·`half_sse_mean`: the fixture tells them apart.
    let swapped = std::panic::catch_unwind(|| {
        run::<f64, Net01<f64>, _, _>(
            "01_xor_sigmoid_mse.json",
            QuadraticCost,
            sgd("01_xor_sigmoid_mse.json"),
            |_: &Sgd<f64>| Vec::new(),
        )
    });
    assert!(swapped.is_err());
}

/// Seed 004's momentum, `Δw ← αΔw − η∂L, w ← w + Δw` (with `Δw₀ = 0`), as an optimizer of
/// its own, against `expected.steps_classic_momentum` and against [`Sgd`]'s trajectory.
struct ClassicMomentum {
    alpha: f64,
    eta: f64,
    velocity: Vec<f64>,
}

impl Optimizer<f64> for ClassicMomentum {
    fn prepare(&mut self, parameters: usize) {
        self.velocity = vec![0.0; parameters];
    }

    fn step(&mut self, parameters: &[f64], values: &mut [f64]) -> bool {
        for ((value, &w), v) in values.iter_mut().zip(parameters).zip(&mut self.velocity) {
            let g = *value;
            *v = self.alpha * *v - self.eta * g;
            *value = w + *v;
        }
        values.iter().all(|w| w.is_finite())
    }

    fn learning_rate(&self) -> f64 {
        self.eta
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.eta = learning_rate;
    }
}

/// Runs fixture `02`'s three steps in seed 004's form and in PyTorch's, against
/// `steps_classic_momentum`; returns the worst relative error.
fn classic_momentum<L: Loss<f64> + Copy>(file: &str, loss: L) -> f64 {
    let fixture = Fixture::load(file);
    let json = &fixture.json;
    let tolerance = fixture.tolerance::<f64>();
    let net = Net02::<f64>::from_parameters(flatten_parameters(&json["init"]["params"])).unwrap();
    let (inputs, targets) = (fixture.inputs::<f64>(), fixture.targets::<f64>());
    let classic =
        ClassicMomentum { alpha: number(json, "momentum"), eta: number(json, "lr"), velocity: Vec::new() };
    let mut seed_form = Trainer::new(net.clone(), loss, classic);
    let mut torch_form = Trainer::new(net, loss, sgd::<f64>(file));
    let mut worst: f64 = 0.0;
    for step in json["expected"]["steps_classic_momentum"].as_array().unwrap() {
        seed_form.step(&inputs, &targets).unwrap();
        torch_form.step(&inputs, &targets).unwrap();
        let k = step["step"].as_u64().unwrap();
        let params = flatten_parameters(&step["params"]);
        let velocity = flatten_parameters(&step["velocity"]);
        for (got, expected, what) in [
            (seed_form.network().parameters(), &params, "seed-004 parameters"),
            (&seed_form.optimizer().velocity[..], &velocity, "seed-004 velocity"),
            (torch_form.network().parameters(), &params, "torch parameters"),
        ] {
            worst = worst.max(assert_close(got, expected, tolerance, &format!("{file} step {k} {what}")));
        }
    }
    worst
}

#[test]
fn seed_004_classic_momentum_matches_the_fixture_and_torch_sgd() {
    for (file, worst) in [
        ("02_mlp_tanh_relu_mse.json", classic_momentum("02_mlp_tanh_relu_mse.json", MeanSquaredError)),
        (
            "02_mlp_tanh_relu_half_sse_mean.json",
            classic_momentum("02_mlp_tanh_relu_half_sse_mean.json", QuadraticCost),
        ),
    ] {
        println!("{file} seed-004 momentum f64: worst relative error {worst:e}");
        assert!(worst < 1e-9);
    }
}

nn::network! {
    /// `06_dropout_fixed_mask`: dropout between two dense layers.
    struct Net06 { dense(4 -> 6, relu), dropout(0.5), dense(1) }
}

/// An RNG that replays a dropout mask: `rng.random::<f64>()` gives 0 (below `p`: dropped)
/// for a 0 in the mask and 1 − 2⁻⁵³ (kept) for a 1, in the order the kernel draws them,
/// sample by sample.
struct MaskReplay {
    mask: Vec<f64>,
    next: usize,
}

impl rand::RngCore for MaskReplay {
    fn next_u64(&mut self) -> u64 {
        let keep = self.mask[self.next % self.mask.len()] != 0.0;
        self.next += 1;
        if keep { u64::MAX } else { 0 }
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn fill_bytes(&mut self, bytes: &mut [u8]) {
        for byte in bytes {
            *byte = self.next_u32() as u8;
        }
    }
}

/// `06` with the file's mask at every training forward: records, loss, gradients, three SGD
/// steps, and the eval-mode forward (dropout off) at the initial parameters.
fn dropout_fixture<T: Real>() -> f64 {
    let file = "06_dropout_fixed_mask.json";
    let fixture = Fixture::load(file);
    let json = &fixture.json;
    let mut check =
        Checker { tolerance: fixture.tolerance::<T>(), worst: 0.0, file, zero_gradients: Vec::new() };
    let mask = flatten(&json["dropout_masks"]["mask"]);
    let replay = || MaskReplay { mask: mask.clone(), next: 0 };
    let mut net = Net06::<T>::from_parameters(cast(&flatten_parameters(&json["init"]["params"]))).unwrap();
    let (inputs, targets) = (fixture.inputs::<T>(), fixture.targets::<T>());
    let expected = &json["expected"];

    let mut workspace = Net06::workspace();
    let eval = &expected["eval_forward_at_init"];
    let output = net.infer(&inputs, &mut workspace).unwrap().to_vec();
    check.close(&output, &flatten(&eval["output"]), "eval-mode output at init");
    check.close(workspace.activation("0"), &flatten(&eval["layers"][0]["a"]), "eval layer 0 a");

    net.clone().forward_train(&inputs, &mut workspace, &mut replay()).unwrap();
    for (index, record) in expected["forward"]["layers"].as_array().unwrap().iter().enumerate() {
        let name = index.to_string();
        check.close(workspace.activation(&name), &flatten(&record["a"]), &format!("layer {name} a"));
    }
    let mut optimizer = sgd::<T>(file);
    optimizer.prepare(Net06::<T>::PARAMETERS);
    // The optimizer writes the next parameters over the gradients, and the previous ones
    // take their place, as in the trainer: a gradient the backward pass left unwritten
    // would be a stale parameter (and NaN in the first step).
    let mut gradients = nn::buffer::filled(T::from_float(f64::NAN), Net06::<T>::PARAMETERS);
    for step in expected["steps"].as_array().unwrap() {
        let k = step["step"].as_u64().unwrap();
        net.forward_train(&inputs, &mut workspace, &mut replay()).unwrap();
        let (output, output_gradient) = workspace.output_and_gradient();
        let value = MeanSquaredError.evaluate(output, &targets, output_gradient, 1).unwrap();
        check.close(&[value], &[step["loss"].as_f64().unwrap()], &format!("step {k} loss"));
        net.backward(&mut workspace, &mut gradients);
        check.close(&gradients, &flatten_parameters(&step["grads"]), &format!("step {k} grads"));
        assert!(optimizer.step(net.parameters(), &mut gradients));
        net.swap_parameters(&mut gradients);
        check.close(net.parameters(), &flatten_parameters(&step["params"]), &format!("step {k} params"));
    }
    net.forward_train(&inputs, &mut workspace, &mut replay()).unwrap();
    let final_loss = MeanSquaredError.value(workspace.output(), &targets, 1).unwrap();
    check.close(&[final_loss], &[expected["final_loss"].as_f64().unwrap()], "final loss");
    check.worst
}

#[test]
fn dropout_with_the_fixtures_mask_matches_pytorch() {
    let worst = dropout_fixture::<f64>();
    println!("06_dropout_fixed_mask.json f64: worst relative error {worst:e}");
    assert!(worst < 1e-9, "{worst:e}");
    let worst = dropout_fixture::<f32>();
    println!(
        "06_dropout_fixed_mask.json f32: worst relative error {worst:e} (each value within the f32 hint)"
    );
}
