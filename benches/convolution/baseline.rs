//! What a careful programmer writes for a CNN without nn: im2col and nalgebra's GEMM
//! (matrixmultiply) for every convolution and its two backward products, argmax-keeping
//! max pooling, dense layers on the GEMM, relu as its own pass, every buffer allocated once
//! for a given batch size. Layers are an enum walked in order.
//!
//! Layouts are PyTorch's, as nn's: a batch is sample-major (`[N][C][H][W]`), conv weights
//! `[O][C/G][kh][kw]`, dense weights `[O][I]`, so both implementations start from nn's
//! flat parameter buffer. Convolutions have stride 1 (as in every benchmark network).

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};

/// A stride-1 convolution: per sample and group, columns `X̃ᵀ` (`P × K`, one column per
/// kernel tap) times `W_gᵀ` (`K × O/G`) gives the output channels `[O/G][P]`.
pub struct Conv {
    channels: usize,
    filters: usize,
    groups: usize,
    input: [usize; 2],
    kernel: [usize; 2],
    padding: [usize; 2],
    output: [usize; 2],
    /// Per group, `W_gᵀ` (`K × O/G`, column-major: PyTorch's rows) and `W_g` (`O/G × K`).
    transposed: Vec<DMatrix<f32>>,
    weight: Vec<DMatrix<f32>>,
    bias: Vec<f32>,
    columns: DMatrix<f32>,
    column_gradient: DMatrix<f32>,
    grad_transposed: Vec<DMatrix<f32>>,
    grad_bias: Vec<f32>,
}

impl Conv {
    /// `[channels, H, W] → [filters, H′, W′]` with the given kernel, padding and groups.
    pub fn new(
        (channels, filters, groups): (usize, usize, usize),
        input: [usize; 2],
        kernel: [usize; 2],
        padding: [usize; 2],
    ) -> Self {
        let output = [0, 1].map(|axis| input[axis] + 2 * padding[axis] - kernel[axis] + 1);
        let depth = channels / groups * kernel[0] * kernel[1];
        let per_group = filters / groups;
        let positions = output[0] * output[1];
        Self {
            channels,
            filters,
            groups,
            input,
            kernel,
            padding,
            output,
            transposed: vec![DMatrix::zeros(depth, per_group); groups],
            weight: vec![DMatrix::zeros(per_group, depth); groups],
            bias: vec![0.0; filters],
            columns: DMatrix::zeros(positions, depth),
            column_gradient: DMatrix::zeros(positions, depth),
            grad_transposed: vec![DMatrix::zeros(depth, per_group); groups],
            grad_bias: vec![0.0; filters],
        }
    }

    fn depth(&self) -> usize {
        self.channels / self.groups * self.kernel[0] * self.kernel[1]
    }

    fn positions(&self) -> usize {
        self.output[0] * self.output[1]
    }

    pub fn output_len(&self) -> usize {
        self.filters * self.positions()
    }

    /// Takes its parameters from the front of `p`; returns the rest.
    pub fn load<'p>(&mut self, p: &'p [f32]) -> &'p [f32] {
        let depth = self.depth();
        let (weights, rest) = p.split_at(self.filters * depth);
        let (bias, rest) = rest.split_at(self.filters);
        for (group, block) in weights.chunks_exact(self.filters / self.groups * depth).enumerate() {
            self.transposed[group] = DMatrix::from_column_slice(depth, self.filters / self.groups, block);
            self.weight[group] = self.transposed[group].transpose();
        }
        self.bias.copy_from_slice(bias);
        rest
    }

    /// Fills the columns of sample `x`'s group `group`: column `(c′, p, q)` holds the input
    /// pixel each output position reads through that tap (0 in the padding).
    fn unfold(&mut self, x: &[f32], group: usize) {
        let ([h, w], [kh, kw], [ph, pw], [oh, ow]) = (self.input, self.kernel, self.padding, self.output);
        let per_group = self.channels / self.groups;
        let columns = self.columns.as_mut_slice();
        for c in 0..per_group {
            let plane = &x[(group * per_group + c) * h * w..][..h * w];
            for p in 0..kh {
                for q in 0..kw {
                    let column = &mut columns[((c * kh + p) * kw + q) * oh * ow..][..oh * ow];
                    for i in 0..oh {
                        for j in 0..ow {
                            let (y, x) = ((i + p).wrapping_sub(ph), (j + q).wrapping_sub(pw));
                            column[i * ow + j] = if y < h && x < w { plane[y * w + x] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }

    /// Adds the column gradient back onto the pixels it came from.
    fn fold(&self, group: usize, grad_x: &mut [f32]) {
        let ([h, w], [kh, kw], [ph, pw], [oh, ow]) = (self.input, self.kernel, self.padding, self.output);
        let per_group = self.channels / self.groups;
        let columns = self.column_gradient.as_slice();
        for c in 0..per_group {
            let plane = &mut grad_x[(group * per_group + c) * h * w..][..h * w];
            for p in 0..kh {
                for q in 0..kw {
                    let column = &columns[((c * kh + p) * kw + q) * oh * ow..][..oh * ow];
                    for i in 0..oh {
                        for j in 0..ow {
                            let (y, x) = ((i + p).wrapping_sub(ph), (j + q).wrapping_sub(pw));
                            if y < h && x < w {
                                plane[y * w + x] += column[i * ow + j];
                            }
                        }
                    }
                }
            }
        }
    }

    pub fn forward(&mut self, x: &[f32], y: &mut [f32]) {
        let (positions, per_group) = (self.positions(), self.filters / self.groups);
        let samples = x.chunks_exact(self.channels * self.input[0] * self.input[1]);
        for (sample, out) in samples.zip(y.chunks_exact_mut(self.output_len())) {
            for group in 0..self.groups {
                self.unfold(sample, group);
                let block = &mut out[group * per_group * positions..][..per_group * positions];
                let mut view = DMatrixViewMut::from_slice(block, positions, per_group);
                view.gemm(1.0, &self.columns, &self.transposed[group], 0.0);
            }
            for (channel, &b) in out.chunks_exact_mut(positions).zip(&self.bias) {
                for v in channel.iter_mut() {
                    *v += b;
                }
            }
        }
    }

    /// Gradients of the weights and bias from `delta`, and of the input when asked.
    pub fn backward(&mut self, x: &[f32], delta: &[f32], mut grad_x: Option<&mut [f32]>) {
        let (positions, per_group) = (self.positions(), self.filters / self.groups);
        let inputs = self.channels * self.input[0] * self.input[1];
        self.grad_transposed.iter_mut().for_each(|g| g.fill(0.0));
        self.grad_bias.fill(0.0);
        if let Some(grad_x) = grad_x.as_deref_mut() {
            grad_x.fill(0.0);
        }
        for (n, (sample, d)) in x.chunks_exact(inputs).zip(delta.chunks_exact(self.output_len())).enumerate()
        {
            for group in 0..self.groups {
                self.unfold(sample, group);
                let block = &d[group * per_group * positions..][..per_group * positions];
                let view = DMatrixView::from_slice(block, positions, per_group);
                self.grad_transposed[group].gemm_tr(1.0, &self.columns, &view, 1.0);
                if let Some(grad_x) = grad_x.as_deref_mut() {
                    self.column_gradient.gemm(1.0, &view, &self.weight[group], 0.0);
                    self.fold(group, &mut grad_x[n * inputs..][..inputs]);
                }
            }
            for (g, channel) in self.grad_bias.iter_mut().zip(d.chunks_exact(positions)) {
                *g += channel.iter().sum::<f32>();
            }
        }
    }

    pub fn update(&mut self, lr: f32) {
        for group in 0..self.groups {
            self.transposed[group].zip_apply(&self.grad_transposed[group], |w, g| *w -= lr * g);
            self.transposed[group].transpose_to(&mut self.weight[group]);
        }
        self.bias.iter_mut().zip(&self.grad_bias).for_each(|(b, g)| *b -= lr * g);
    }
}

/// A dense layer on a batch column-major `I × N` (sample-major `[N][I]`).
pub struct Dense {
    inputs: usize,
    outputs: usize,
    /// `Wᵀ`, `I × O` column-major: PyTorch's `[O][I]` rows.
    transposed: DMatrix<f32>,
    bias: Vec<f32>,
    delta_transposed: DMatrix<f32>,
    grad_transposed: DMatrix<f32>,
    grad_bias: Vec<f32>,
}

impl Dense {
    pub fn new(inputs: usize, outputs: usize) -> Self {
        Self {
            inputs,
            outputs,
            transposed: DMatrix::zeros(inputs, outputs),
            bias: vec![0.0; outputs],
            delta_transposed: DMatrix::zeros(0, outputs),
            grad_transposed: DMatrix::zeros(inputs, outputs),
            grad_bias: vec![0.0; outputs],
        }
    }

    pub fn load<'p>(&mut self, p: &'p [f32]) -> &'p [f32] {
        let (weights, rest) = p.split_at(self.inputs * self.outputs);
        let (bias, rest) = rest.split_at(self.outputs);
        self.transposed = DMatrix::from_column_slice(self.inputs, self.outputs, weights);
        self.bias.copy_from_slice(bias);
        rest
    }

    pub fn forward(&mut self, x: &[f32], y: &mut [f32]) {
        let batch = x.len() / self.inputs;
        let x = DMatrixView::from_slice(x, self.inputs, batch);
        let mut view = DMatrixViewMut::from_slice(y, self.outputs, batch);
        view.gemm_tr(1.0, &self.transposed, &x, 0.0);
        for mut column in view.column_iter_mut() {
            column.iter_mut().zip(&self.bias).for_each(|(z, b)| *z += b);
        }
    }

    pub fn backward(&mut self, x: &[f32], delta: &[f32], grad_x: Option<&mut [f32]>) {
        let batch = x.len() / self.inputs;
        let (x, d) = (
            DMatrixView::from_slice(x, self.inputs, batch),
            DMatrixView::from_slice(delta, self.outputs, batch),
        );
        if self.delta_transposed.nrows() != batch {
            self.delta_transposed = DMatrix::zeros(batch, self.outputs);
        }
        d.transpose_to(&mut self.delta_transposed);
        self.grad_transposed.gemm(1.0, &x, &self.delta_transposed, 0.0);
        for (g, row) in self.grad_bias.iter_mut().zip(d.row_iter()) {
            *g = row.sum();
        }
        if let Some(grad_x) = grad_x {
            let mut view = DMatrixViewMut::from_slice(grad_x, self.inputs, batch);
            view.gemm(1.0, &self.transposed, &d, 0.0);
        }
    }

    pub fn update(&mut self, lr: f32) {
        self.transposed.zip_apply(&self.grad_transposed, |w, g| *w -= lr * g);
        self.bias.iter_mut().zip(&self.grad_bias).for_each(|(b, g)| *b -= lr * g);
    }
}

/// One layer of the baseline.
pub enum Layer {
    Conv(Conv),
    Dense(Dense),
    Relu,
    /// Max pooling with a square window of `size`, stride `size`, over `[channels][H][W]`
    /// (`H = 1` in 1-D); keeps each window's argmax for backward.
    MaxPool {
        input: [usize; 2],
        size: [usize; 2],
        argmax: Vec<usize>,
    },
    /// Each `plane`-long channel to its mean.
    GlobalAverage {
        plane: usize,
    },
}

/// A chain of layers with its buffers; softmax cross-entropy on the last layer's output.
pub struct Model {
    layers: Vec<Layer>,
    /// Per-sample sizes: `sizes[0]` the input, `sizes[i + 1]` layer `i`'s output.
    sizes: Vec<usize>,
    outputs: Vec<Vec<f32>>,
    deltas: Vec<Vec<f32>>,
}

impl Model {
    /// From the layers, the input size, and nn's flat parameter buffer.
    pub fn new(mut layers: Vec<Layer>, input: usize, parameters: &[f32]) -> Self {
        let mut sizes = vec![input];
        let mut rest = parameters;
        for layer in &mut layers {
            let previous = *sizes.last().expect("the input");
            let size = match layer {
                Layer::Conv(conv) => {
                    rest = conv.load(rest);
                    conv.output_len()
                }
                Layer::Dense(dense) => {
                    rest = dense.load(rest);
                    dense.outputs
                }
                Layer::Relu => previous,
                Layer::MaxPool { input, size, .. } => {
                    previous / (input[0] * input[1]) * (input[0] / size[0]) * (input[1] / size[1])
                }
                Layer::GlobalAverage { plane } => previous / *plane,
            };
            sizes.push(size);
        }
        assert!(rest.is_empty(), "every parameter is used");
        let outputs = sizes[1..].iter().map(|_| Vec::new()).collect();
        let deltas = sizes[1..].iter().map(|_| Vec::new()).collect();
        Self { layers, sizes, outputs, deltas }
    }

    /// The forward pass over a batch; returns the logits.
    pub fn forward(&mut self, x: &[f32]) -> &[f32] {
        let batch = x.len() / self.sizes[0];
        for (index, layer) in self.layers.iter_mut().enumerate() {
            let (done, rest) = self.outputs.split_at_mut(index);
            let input = if index == 0 { x } else { &done[index - 1] };
            let output = &mut rest[0];
            output.resize(batch * self.sizes[index + 1], 0.0);
            match layer {
                Layer::Conv(conv) => conv.forward(input, output),
                Layer::Dense(dense) => dense.forward(input, output),
                Layer::Relu => output.iter_mut().zip(input).for_each(|(a, &z)| *a = z.max(0.0)),
                Layer::MaxPool { input: shape, size, argmax } => {
                    max_pool(input, output, argmax, *shape, *size)
                }
                Layer::GlobalAverage { plane } => {
                    for (a, channel) in output.iter_mut().zip(input.chunks_exact(*plane)) {
                        *a = channel.iter().sum::<f32>() / *plane as f32;
                    }
                }
            }
        }
        self.outputs.last().expect("a layer")
    }

    /// One SGD step with softmax cross-entropy; returns the loss before the step.
    pub fn step(&mut self, x: &[f32], classes: &[usize], lr: f32) -> f32 {
        self.forward(x);
        let batch = classes.len();
        let count = self.layers.len();
        let classes_count = self.sizes[count];
        let loss = softmax_cross_entropy(
            &self.outputs[count - 1],
            classes,
            classes_count,
            &mut self.deltas[count - 1],
        );
        for index in (0..count).rev() {
            let (before, after) = self.deltas.split_at_mut(index);
            let delta = &after[0];
            let input = if index == 0 { x } else { &self.outputs[index - 1] };
            let grad_x = if index == 0 {
                None
            } else {
                let target = &mut before[index - 1];
                target.resize(batch * self.sizes[index], 0.0);
                Some(target.as_mut_slice())
            };
            match &mut self.layers[index] {
                Layer::Conv(conv) => conv.backward(input, delta, grad_x),
                Layer::Dense(dense) => dense.backward(input, delta, grad_x),
                Layer::Relu => {
                    if let Some(grad_x) = grad_x {
                        for ((g, &d), &a) in grad_x.iter_mut().zip(delta).zip(&self.outputs[index]) {
                            *g = if a > 0.0 { d } else { 0.0 };
                        }
                    }
                }
                Layer::MaxPool { argmax, .. } => {
                    if let Some(grad_x) = grad_x {
                        grad_x.fill(0.0);
                        for (&d, &at) in delta.iter().zip(argmax.iter()) {
                            grad_x[at] += d;
                        }
                    }
                }
                Layer::GlobalAverage { plane } => {
                    if let Some(grad_x) = grad_x {
                        for (channel, &d) in grad_x.chunks_exact_mut(*plane).zip(delta) {
                            channel.fill(d / *plane as f32);
                        }
                    }
                }
            }
        }
        for layer in &mut self.layers {
            match layer {
                Layer::Conv(conv) => conv.update(lr),
                Layer::Dense(dense) => dense.update(lr),
                _ => {}
            }
        }
        loss
    }
}

/// Max pooling with stride = window, keeping each window's argmax.
fn max_pool(
    input: &[f32],
    output: &mut [f32],
    argmax: &mut Vec<usize>,
    [h, w]: [usize; 2],
    [sh, sw]: [usize; 2],
) {
    let (oh, ow) = (h / sh, w / sw);
    argmax.resize(output.len(), 0);
    for (k, (a, index)) in output.iter_mut().zip(argmax.iter_mut()).enumerate() {
        let (plane, i, j) = (k / (oh * ow), k / ow % oh, k % ow);
        let mut best = plane * h * w + i * sh * w + j * sw;
        for p in 0..sh {
            for q in 0..sw {
                let at = plane * h * w + (i * sh + p) * w + j * sw + q;
                if input[at] > input[best] {
                    best = at;
                }
            }
        }
        (*a, *index) = (input[best], best);
    }
}

/// Mean softmax cross-entropy of `logits` (`[N][K]`) and its gradient into `delta`.
fn softmax_cross_entropy(logits: &[f32], classes: &[usize], k: usize, delta: &mut Vec<f32>) -> f32 {
    delta.resize(logits.len(), 0.0);
    let batch = classes.len() as f32;
    let mut loss = 0.0;
    for ((z, d), &class) in logits.chunks_exact(k).zip(delta.chunks_exact_mut(k)).zip(classes) {
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        loss += lse - z[class];
        for (d, &v) in d.iter_mut().zip(z) {
            *d = (v - lse).exp() / batch;
        }
        d[class] -= 1.0 / batch;
    }
    loss / batch
}
