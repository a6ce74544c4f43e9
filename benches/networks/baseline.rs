//! Hand-written nalgebra implementations of the benchmark networks: what a careful
//! programmer writes without nn. Static matrices for one sample (LLVM unrolls them), dynamic
//! matrices on nalgebra's GEMM (matrixmultiply) for batches, every buffer allocated once.

use nalgebra::{DMatrix, DVector, SMatrix, SVector};

#[inline(always)]
fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// W1, 2-3-1 sigmoid/sigmoid, mean squared error, SGD; static sizes.
#[derive(Clone)]
pub struct Xor {
    pub w1: SMatrix<f32, 3, 2>,
    pub b1: SVector<f32, 3>,
    pub w2: SMatrix<f32, 1, 3>,
    pub b2: SVector<f32, 1>,
}

impl Xor {
    /// From nn's flat buffer: `0.weight` [3, 2] row-major, `0.bias`, `1.weight` [1, 3], `1.bias`.
    pub fn from_parameters(p: &[f32]) -> Self {
        Self {
            w1: SMatrix::from_row_slice(&p[0..6]),
            b1: SVector::from_column_slice(&p[6..9]),
            w2: SMatrix::from_row_slice(&p[9..12]),
            b2: SVector::from_column_slice(&p[12..13]),
        }
    }

    pub fn forward(&self, x: SVector<f32, 2>) -> SVector<f32, 1> {
        let a1 = (self.w1 * x + self.b1).map(sigmoid);
        (self.w2 * a1 + self.b2).map(sigmoid)
    }

    /// One SGD step on a batch of `B` samples; returns the loss before the step.
    pub fn step<const B: usize>(&mut self, x: &SMatrix<f32, 2, B>, y: &SMatrix<f32, 1, B>, lr: f32) -> f32 {
        let mut z1 = self.w1 * x;
        for mut column in z1.column_iter_mut() {
            column += self.b1;
        }
        let a1 = z1.map(sigmoid);
        let mut z2 = self.w2 * a1;
        for mut column in z2.column_iter_mut() {
            column += self.b2;
        }
        let a2 = z2.map(sigmoid);
        let error = a2 - y;
        let loss = error.norm_squared() / B as f32;
        let d2 = error.zip_map(&a2, |e, a| 2.0 * e / B as f32 * a * (1.0 - a));
        let d1 = (self.w2.transpose() * d2).zip_map(&a1, |d, a| d * a * (1.0 - a));
        self.w2 -= lr * d2 * a1.transpose();
        self.b2 -= lr * d2.column_sum();
        self.w1 -= lr * d1 * x.transpose();
        self.b1 -= lr * d1.column_sum();
        loss
    }
}

/// W2's 64-32-10 relu network, one sample, static sizes (inference only).
pub struct SmallStatic {
    pub w1: SMatrix<f32, 32, 64>,
    pub b1: SVector<f32, 32>,
    pub w2: SMatrix<f32, 10, 32>,
    pub b2: SVector<f32, 10>,
}

impl SmallStatic {
    pub fn from_parameters(p: &[f32]) -> Self {
        let (w1, rest) = p.split_at(32 * 64);
        let (b1, rest) = rest.split_at(32);
        let (w2, b2) = rest.split_at(320);
        Self {
            w1: SMatrix::from_row_slice(w1),
            b1: SVector::from_column_slice(b1),
            w2: SMatrix::from_row_slice(w2),
            b2: SVector::from_column_slice(b2),
        }
    }

    pub fn forward(&self, x: &SVector<f32, 64>) -> SVector<f32, 10> {
        let a1 = (self.w1 * x + self.b1).map(|z| z.max(0.0));
        self.w2 * a1 + self.b2
    }
}

/// RTNeural's benchmark shape 1 → W tanh → W tanh → 1, static sizes, the platform's `tanhf`
/// (as RTNeural's STL backend): one sample through it, or a training step on a minibatch.
pub struct TanhMlp<const W: usize> {
    pub w1: SMatrix<f32, W, 1>,
    pub b1: SVector<f32, W>,
    pub w2: SMatrix<f32, W, W>,
    pub b2: SVector<f32, W>,
    pub w3: SMatrix<f32, 1, W>,
    pub b3: SVector<f32, 1>,
}

impl<const W: usize> TanhMlp<W> {
    /// From nn's flat buffer: `0.weight` [W, 1], `0.bias`, `1.weight` [W, W] row-major,
    /// `1.bias`, `2.weight` [1, W], `2.bias`.
    pub fn from_parameters(p: &[f32]) -> Self {
        let (w1, rest) = p.split_at(W);
        let (b1, rest) = rest.split_at(W);
        let (w2, rest) = rest.split_at(W * W);
        let (b2, rest) = rest.split_at(W);
        let (w3, b3) = rest.split_at(W);
        Self {
            w1: SMatrix::from_row_slice(w1),
            b1: SVector::from_column_slice(b1),
            w2: SMatrix::from_row_slice(w2),
            b2: SVector::from_column_slice(b2),
            w3: SMatrix::from_row_slice(w3),
            b3: SVector::from_column_slice(b3),
        }
    }

    pub fn forward(&self, x: f32) -> f32 {
        let a1 = (self.w1 * x + self.b1).map(f32::tanh);
        let a2 = (self.w2 * a1 + self.b2).map(f32::tanh);
        (self.w3 * a2 + self.b3)[0]
    }

    /// One SGD step on `B` samples, mean squared error; returns the loss before the step.
    pub fn step<const B: usize>(&mut self, x: &SMatrix<f32, 1, B>, y: &SMatrix<f32, 1, B>, lr: f32) -> f32 {
        let layer = |z: SMatrix<f32, W, B>, b: &SVector<f32, W>| {
            SMatrix::<f32, W, B>::from_fn(|o, n| (z[(o, n)] + b[o]).tanh())
        };
        let a1 = layer(self.w1 * x, &self.b1);
        let a2 = layer(self.w2 * a1, &self.b2);
        let z3 = (self.w3 * a2).add_scalar(self.b3[0]);
        let error = z3 - y;
        let loss = error.norm_squared() / B as f32;
        let d3 = error * (2.0 / B as f32);
        let d2 = (self.w3.transpose() * d3).zip_map(&a2, |d, a| d * (1.0 - a * a));
        let d1 = (self.w2.transpose() * d2).zip_map(&a1, |d, a| d * (1.0 - a * a));
        self.w3 -= lr * d3 * a2.transpose();
        self.b3[0] -= lr * d3.sum();
        self.w2 -= lr * d2 * a1.transpose();
        self.b2 -= lr * d2.column_sum();
        self.w1 -= lr * d1 * x.transpose();
        self.b1 -= lr * d1.column_sum();
        loss
    }
}

/// One dense layer and its training buffers, batch size fixed at construction.
struct Layer {
    weight: DMatrix<f32>,
    bias: DVector<f32>,
    z: DMatrix<f32>,
    a: DMatrix<f32>,
    delta: DMatrix<f32>,
    input_transposed: DMatrix<f32>,
    grad_weight: DMatrix<f32>,
    mask: Option<DMatrix<f32>>,
}

/// An MLP with relu hidden layers and softmax cross-entropy on logits, on nalgebra's
/// dynamic GEMM, with optional inverted dropout after the first hidden layer.
pub struct Mlp {
    layers: Vec<Layer>,
    batch: usize,
    dropout: f32,
    rng: u64,
}

impl Mlp {
    /// From nn's flat buffer (row-major `[out, in]` weights, then biases, layer by layer).
    pub fn from_parameters(sizes: &[usize], p: &[f32], batch: usize, dropout: f32) -> Self {
        let mut offset = 0;
        let mut layers = Vec::new();
        for (index, pair) in sizes.windows(2).enumerate() {
            let (inputs, outputs) = (pair[0], pair[1]);
            let weight = DMatrix::from_row_slice(outputs, inputs, &p[offset..offset + inputs * outputs]);
            offset += inputs * outputs;
            let bias = DVector::from_column_slice(&p[offset..offset + outputs]);
            offset += outputs;
            layers.push(Layer {
                weight,
                bias,
                z: DMatrix::zeros(outputs, batch),
                a: DMatrix::zeros(outputs, batch),
                delta: DMatrix::zeros(outputs, batch),
                input_transposed: DMatrix::zeros(batch, inputs),
                grad_weight: DMatrix::zeros(outputs, inputs),
                mask: (index == 0 && dropout > 0.0).then(|| DMatrix::zeros(outputs, batch)),
            });
        }
        Self { layers, batch, dropout, rng: 0x9e37_79b9_7f4a_7c15 }
    }

    /// Forward pass; `train` turns dropout on. The logits end in the last layer's `a`.
    fn forward(&mut self, x: &DMatrix<f32>, train: bool) {
        let count = self.layers.len();
        let scale = 1.0 / (1.0 - self.dropout);
        for index in 0..count {
            let (before, after) = self.layers.split_at_mut(index);
            let layer = &mut after[0];
            let input = if index == 0 { x } else { &before[index - 1].a };
            layer.z.gemm(1.0, &layer.weight, input, 0.0);
            for mut column in layer.z.column_iter_mut() {
                column += &layer.bias;
            }
            if index + 1 < count {
                layer.a.zip_apply(&layer.z, |a, z| *a = z.max(0.0));
            } else {
                layer.a.copy_from(&layer.z);
            }
            if index == 0 && train && layer.mask.is_some() {
                // Inverted dropout after the first hidden layer, as the nn network declares.
                let mut mask = layer.mask.take().expect("checked");
                for m in mask.iter_mut() {
                    *m = if uniform(&mut self.rng) < self.dropout { 0.0 } else { scale };
                }
                layer.a.component_mul_assign(&mask);
                layer.mask = Some(mask);
            }
        }
    }

    /// Batched inference; returns the logits.
    pub fn infer(&mut self, x: &DMatrix<f32>) -> &DMatrix<f32> {
        self.forward(x, false);
        &self.layers.last().expect("a layer").a
    }

    /// One SGD step with softmax cross-entropy; returns the loss before the step.
    pub fn step(&mut self, x: &DMatrix<f32>, classes: &[usize], lr: f32) -> f32 {
        self.forward(x, true);
        let count = self.layers.len();
        let batch = self.batch as f32;
        let mut loss = 0.0;
        {
            let last = &mut self.layers[count - 1];
            for (n, (logits, mut delta)) in last.a.column_iter().zip(last.delta.column_iter_mut()).enumerate()
            {
                let max = logits.max();
                let sum: f32 = logits.iter().map(|&z| (z - max).exp()).sum();
                let lse = max + sum.ln();
                loss += lse - logits[classes[n]];
                for (d, &z) in delta.iter_mut().zip(logits.iter()) {
                    *d = (z - lse).exp() / batch;
                }
                delta[classes[n]] -= 1.0 / batch;
            }
        }
        for index in (0..count).rev() {
            let (before, after) = self.layers.split_at_mut(index);
            let layer = &mut after[0];
            let input = if index == 0 { x } else { &before[index - 1].a };
            input.transpose_to(&mut layer.input_transposed);
            layer.grad_weight.gemm(1.0, &layer.delta, &layer.input_transposed, 0.0);
            if index > 0 {
                let previous = &mut before[index - 1];
                previous.delta.gemm_tr(1.0, &layer.weight, &layer.delta, 0.0);
                if let Some(mask) = &previous.mask {
                    previous.delta.component_mul_assign(mask);
                }
                previous.delta.zip_apply(&previous.z, |d, z| {
                    if z <= 0.0 {
                        *d = 0.0;
                    }
                });
            }
            layer.weight.zip_apply(&layer.grad_weight, |w, g| *w -= lr * g);
            for (b, delta_row) in layer.bias.iter_mut().zip(layer.delta.row_iter()) {
                *b -= lr * delta_row.sum();
            }
        }
        loss / batch
    }
}

/// A xorshift draw in `[0, 1)`: cheap, and enough for dropout masks in a benchmark.
fn uniform(state: &mut u64) -> f32 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 40) as f32 / (1u64 << 24) as f32
}
