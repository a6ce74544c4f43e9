//! The convolution kernels against an independent reference: plain nested loops written
//! from the definitions (PyTorch's documentation and the fixtures' README), on random
//! shapes and options — channels, groups, kernel, stride, padding, dilation, output padding,
//! batch — for `conv2d`, `conv1d` (height 1) and `conv_transpose2d`: the forward values and the
//! three gradients, in f64, to 1e-12.

use nn::layer::conv::{self, Geometry};
use proptest::prelude::*;

/// One random convolution: its geometry (that of a convolution, also for a transposed one)
/// and the batch size.
#[derive(Clone, Debug)]
struct Case {
    geometry: Geometry,
    batch: usize,
    seed: u64,
}

/// Random sizes whose output is at least one pixel: a conv2d, or a conv1d when `height` is 1.
fn cases(one_dimensional: bool) -> impl Strategy<Value = Case> {
    let axis = || (1_usize..9, 1_usize..4, 1_usize..4, 0_usize..3, 1_usize..3);
    let height = if one_dimensional { Just((1, 1, 1, 0, 1)).boxed() } else { axis().boxed() };
    (height, axis(), 1_usize..4, 1_usize..4, 1_usize..4, 1_usize..4, any::<u64>()).prop_filter_map(
        "the kernel must fit the padded input",
        |(h, w, per_group, filters, groups, batch, seed)| {
            let (input, kernel, stride, padding, dilation) =
                ([h.0, w.0], [h.1, w.1], [h.2, w.2], [h.3, w.3], [h.4, w.4]);
            let mut output = [0; 2];
            for axis in 0..2 {
                let span = dilation[axis] * (kernel[axis] - 1) + 1;
                let padded = input[axis] + 2 * padding[axis];
                if span > padded {
                    return None;
                }
                output[axis] = (padded - span) / stride[axis] + 1;
            }
            let (channels, filters) = (per_group * groups, filters * groups);
            let geometry =
                Geometry { channels, filters, groups, input, output, kernel, stride, padding, dilation };
            Some(Case { geometry, batch, seed })
        },
    )
}

/// Deterministic values in (−1, 1).
fn values(count: usize, seed: u64) -> Vec<f64> {
    let mut state = seed | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// Every `(n, o, i, j, c, p, q)` at which output `(n, o, i, j)` reads input `(n, c, h, w)`
/// through weight `(o, c′, p, q)`, with `h`, `w` inside the input: the definition of
/// cross-correlation, written once for every reference below.
fn taps(g: &Geometry, batch: usize, mut visit: impl FnMut([usize; 4], [usize; 4], [usize; 4])) {
    let (per_group, filters_per_group) = (g.channels / g.groups, g.filters / g.groups);
    for [n, o, i, j] in grid([batch, g.filters, g.output[0], g.output[1]]) {
        let group = o / filters_per_group;
        for [c, p, q] in grid([per_group, g.kernel[0], g.kernel[1]]) {
            let h = inside(i * g.stride[0] + p * g.dilation[0], g.padding[0], g.input[0]);
            let w = inside(j * g.stride[1] + q * g.dilation[1], g.padding[1], g.input[1]);
            if let (Some(h), Some(w)) = (h, w) {
                visit([n, o, i, j], [n, group * per_group + c, h, w], [o, c, p, q]);
            }
        }
    }
}

/// Every index of a `sizes`-shaped array, row-major.
fn grid<const D: usize>(sizes: [usize; D]) -> impl Iterator<Item = [usize; D]> {
    let count: usize = sizes.iter().product();
    (0..count).map(move |mut flat| {
        let mut index = [0; D];
        for axis in (0..D).rev() {
            index[axis] = flat % sizes[axis];
            flat /= sizes[axis];
        }
        index
    })
}

/// `position − padding` when it lies in `0..size`.
fn inside(position: usize, padding: usize, size: usize) -> Option<usize> {
    position.checked_sub(padding).filter(|&index| index < size)
}

/// Flat indices of a `[N][C][H][W]` input, `[N][O][H′][W′]` output and `[O][C/G][kh][kw]` weight.
fn indexer(g: &Geometry) -> impl Fn(&str, [usize; 4]) -> usize + '_ {
    move |tensor, [a, b, c, d]| match tensor {
        "x" => ((a * g.channels + b) * g.input[0] + c) * g.input[1] + d,
        "y" => ((a * g.filters + b) * g.output[0] + c) * g.output[1] + d,
        _ => ((a * (g.channels / g.groups) + b) * g.kernel[0] + c) * g.kernel[1] + d,
    }
}

fn assert_close(got: &[f64], expected: &[f64], what: &str, case: &Case) {
    assert_eq!(got.len(), expected.len(), "{what}");
    for (index, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!((g - e).abs() <= 1e-12 * (1.0 + e.abs()), "{what}[{index}]: got {g}, expected {e}; {case:?}");
    }
}

/// conv (or conv1d) forward and all three gradients against the loops.
fn check_convolution(case: &Case) {
    let (g, batch) = (&case.geometry, case.batch);
    let index = indexer(g);
    let x = values(batch * g.input_len(), case.seed);
    let weight = values(g.weight_len(), case.seed ^ 1);
    let bias = values(g.filters, case.seed ^ 2);
    let delta = values(batch * g.output_len(), case.seed ^ 3);

    let mut y: Vec<f64> = (0..batch * g.output_len()).map(|k| bias[k / g.positions() % g.filters]).collect();
    let (mut grad_x, mut grad_w, mut grad_b) =
        (vec![0.0; x.len()], vec![0.0; weight.len()], vec![0.0; g.filters]);
    taps(g, batch, |out, input, w| {
        y[index("y", out)] += weight[index("w", w)] * x[index("x", input)];
        grad_x[index("x", input)] += delta[index("y", out)] * weight[index("w", w)];
        grad_w[index("w", w)] += delta[index("y", out)] * x[index("x", input)];
    });
    for (k, &d) in delta.iter().enumerate() {
        grad_b[k / g.positions() % g.filters] += d;
    }

    let mut columns = vec![0.0; g.scratch_len(batch)];
    let mut got = vec![0.0; y.len()];
    conv::forward(g, (&weight, Some(&bias)), &x, &mut got, &mut columns);
    assert_close(&got, &y, "forward", case);
    let (mut got_w, mut got_b, mut got_x) =
        (vec![0.0; weight.len()], vec![0.0; g.filters], vec![7.0; x.len()]);
    conv::backward(g, &weight, &x, &delta, (&mut got_w, Some(&mut got_b)), Some(&mut got_x), &mut columns);
    assert_close(&got_w, &grad_w, "weight gradient", case);
    assert_close(&got_b, &grad_b, "bias gradient", case);
    assert_close(&got_x, &grad_x, "input gradient", case);
}

/// `conv_transpose2d`, written from its own definition (every input pixel scatters a copy of
/// the kernel, weight `[C_in][C_out/G][kh][kw]`), against the kernels. The case's geometry
/// is the convolution's: the transposed layer reads `[filters][output]` and writes
/// `[channels][input]`, with output padding filling the rows and columns a convolution's
/// floor left out.
fn check_transposed(case: &Case) {
    let (g, batch) = (&case.geometry, case.batch);
    let (c_in, c_out, groups) = (g.filters, g.channels, g.groups);
    let ([h_in, w_in], [h_out, w_out]) = (g.output, g.input);
    let x = values(batch * c_in * h_in * w_in, case.seed);
    let weight = values(g.weight_len(), case.seed ^ 1);
    let bias = values(c_out, case.seed ^ 2);
    let delta = values(batch * c_out * h_out * w_out, case.seed ^ 3);
    let (in_per_group, out_per_group) = (c_in / groups, c_out / groups);
    let at_x = |n: usize, c: usize, p: usize, q: usize| ((n * c_in + c) * h_in + p) * w_in + q;
    let at_y = |n: usize, o: usize, i: usize, j: usize| ((n * c_out + o) * h_out + i) * w_out + j;
    let at_w = |c: usize, o: usize, p: usize, q: usize| {
        ((c * out_per_group + o) * g.kernel[0] + p) * g.kernel[1] + q
    };

    let mut y = vec![0.0; batch * c_out * h_out * w_out];
    for (k, value) in y.iter_mut().enumerate() {
        *value = bias[k / (h_out * w_out) % c_out];
    }
    let (mut grad_x, mut grad_w, mut grad_b) =
        (vec![0.0; x.len()], vec![0.0; weight.len()], vec![0.0; c_out]);
    for [n, c, p, q, ki, kj, o] in grid([batch, c_in, h_in, w_in, g.kernel[0], g.kernel[1], out_per_group]) {
        let i = inside(p * g.stride[0] + ki * g.dilation[0], g.padding[0], h_out);
        let j = inside(q * g.stride[1] + kj * g.dilation[1], g.padding[1], w_out);
        let (Some(i), Some(j)) = (i, j) else { continue };
        let (input, w) = (at_x(n, c, p, q), at_w(c, o, ki, kj));
        let out = at_y(n, c / in_per_group * out_per_group + o, i, j);
        y[out] += x[input] * weight[w];
        grad_x[input] += delta[out] * weight[w];
        grad_w[w] += delta[out] * x[input];
    }
    for (k, &d) in delta.iter().enumerate() {
        grad_b[k / (h_out * w_out) % c_out] += d;
    }

    let mut columns = vec![0.0; g.scratch_len(batch)];
    let mut got = vec![0.0; y.len()];
    conv::transposed_forward(g, (&weight, Some(&bias)), &x, &mut got, &mut columns);
    assert_close(&got, &y, "transposed forward", case);
    let (mut got_w, mut got_b, mut got_x) = (vec![0.0; weight.len()], vec![0.0; c_out], vec![7.0; x.len()]);
    conv::transposed_backward(
        g,
        &weight,
        &x,
        &delta,
        (&mut got_w, Some(&mut got_b)),
        Some(&mut got_x),
        &mut columns,
    );
    assert_close(&got_w, &grad_w, "transposed weight gradient", case);
    assert_close(&got_b, &grad_b, "transposed bias gradient", case);
    assert_close(&got_x, &grad_x, "transposed input gradient", case);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn conv2d_matches_the_nested_loops(case in cases(false)) {
        check_convolution(&case);
    }

    #[test]
    fn conv1d_matches_the_nested_loops(case in cases(true)) {
        check_convolution(&case);
    }

    #[test]
    fn conv_transpose2d_matches_the_nested_loops(case in cases(false)) {
        check_transposed(&case);
    }
}

/// A wrong reference would make every check above pass vacuously only if the kernels were
/// wrong the same way; this pins one value computed by hand.
#[test]
fn a_hand_computed_convolution() {
    // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], a 2×2 kernel of ones, stride 1, no padding:
    // each output is the sum of a 2×2 block.
    let g = Geometry {
        channels: 1,
        filters: 1,
        groups: 1,
        input: [3, 3],
        output: [2, 2],
        kernel: [2, 2],
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
    };
    let x: Vec<f64> = (1..=9).map(f64::from).collect();
    let mut y = vec![0.0; 4];
    conv::forward(&g, (&[1.0; 4], Some(&[0.5])), &x, &mut y, &mut vec![0.0; g.scratch_len(1)]);
    assert_eq!(y, [12.5, 16.5, 24.5, 28.5]);
}
