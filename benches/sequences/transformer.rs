//! A hand-written transformer encoder in nalgebra, for the benchmark: pre-norm blocks of
//! self-attention and a relu feed-forward layer, a final layer norm, the mean over the
//! steps and a linear classifier, trained by SGD on the softmax cross-entropy. Every
//! product is one nalgebra GEMM over the batch's `N·T` rows (attention: per sample and
//! head). Parameters in nn's order and PyTorch's layouts.

use nalgebra::{DMatrix, DVector, RowDVector};

/// `x·Wᵀ + b` on rows.
fn linear(x: &DMatrix<f32>, w: &DMatrix<f32>, b: &RowDVector<f32>) -> DMatrix<f32> {
    let mut y = x * w.transpose();
    for mut row in y.row_iter_mut() {
        row += b;
    }
    y
}

/// `(∂W, ∂b, ∂x)` of `linear` from `∂y`.
fn linear_back(
    x: &DMatrix<f32>,
    w: &DMatrix<f32>,
    dy: &DMatrix<f32>,
) -> (DMatrix<f32>, RowDVector<f32>, DMatrix<f32>) {
    (dy.transpose() * x, dy.row_sum(), dy * w)
}

struct Norm {
    gamma: RowDVector<f32>,
    beta: RowDVector<f32>,
}

/// What a layer norm keeps: `x̂` and `1/σ` per row.
struct NormTape {
    xhat: DMatrix<f32>,
    inverse: DVector<f32>,
}

impl Norm {
    fn forward(&self, x: &DMatrix<f32>) -> (DMatrix<f32>, NormTape) {
        let features = x.ncols() as f32;
        let mut xhat = x.clone();
        let mut inverse = DVector::zeros(x.nrows());
        for (r, mut row) in xhat.row_iter_mut().enumerate() {
            let mean = row.sum() / features;
            row.add_scalar_mut(-mean);
            let variance = row.norm_squared() / features;
            inverse[r] = 1.0 / (variance + 1e-5).sqrt();
            row *= inverse[r];
        }
        let mut y = xhat.clone();
        for mut row in y.row_iter_mut() {
            row.component_mul_assign(&self.gamma);
            row += &self.beta;
        }
        (y, NormTape { xhat, inverse })
    }

    /// `(∂γ, ∂β, ∂x)`.
    fn backward(
        &self,
        tape: &NormTape,
        dy: &DMatrix<f32>,
    ) -> (RowDVector<f32>, RowDVector<f32>, DMatrix<f32>) {
        let features = dy.ncols() as f32;
        let dgamma = dy.component_mul(&tape.xhat).row_sum();
        let mut dx = dy.clone();
        for (r, mut row) in dx.row_iter_mut().enumerate() {
            row.component_mul_assign(&self.gamma);
            let xhat = tape.xhat.row(r);
            let (mean, dot) = (row.sum() / features, row.dot(&xhat) / features);
            for (d, &x) in row.iter_mut().zip(xhat.iter()) {
                *d = tape.inverse[r] * (*d - mean - x * dot);
            }
        }
        (dgamma, dy.row_sum(), dx)
    }
}

struct Attention {
    w_in: DMatrix<f32>,
    b_in: RowDVector<f32>,
    w_out: DMatrix<f32>,
    b_out: RowDVector<f32>,
}

struct AttentionTape {
    qkv: DMatrix<f32>,
    weights: Vec<DMatrix<f32>>,
    context: DMatrix<f32>,
}

const HEADS: usize = 4;

impl Attention {
    fn forward(&self, x: &DMatrix<f32>, steps: usize) -> (DMatrix<f32>, AttentionTape) {
        let embed = x.ncols();
        let head = embed / HEADS;
        let qkv = linear(x, &self.w_in, &self.b_in);
        let mut context = DMatrix::zeros(x.nrows(), embed);
        let mut weights = Vec::new();
        let scale = 1.0 / (head as f32).sqrt();
        for n in 0..x.nrows() / steps {
            for j in 0..HEADS {
                let q = qkv.view((n * steps, j * head), (steps, head));
                let k = qkv.view((n * steps, embed + j * head), (steps, head));
                let v = qkv.view((n * steps, 2 * embed + j * head), (steps, head));
                let mut a = q * k.transpose() * scale;
                for mut row in a.row_iter_mut() {
                    let max = row.max();
                    row.apply(|s| *s = (*s - max).exp());
                    let sum = row.sum();
                    row /= sum;
                }
                context.view_mut((n * steps, j * head), (steps, head)).copy_from(&(&a * v));
                weights.push(a);
            }
        }
        let y = linear(&context, &self.w_out, &self.b_out);
        (y, AttentionTape { qkv, weights, context })
    }

    /// `([∂W_in, ∂W_out], [∂b_in, ∂b_out], ∂x)`.
    fn backward(
        &self,
        x: &DMatrix<f32>,
        tape: &AttentionTape,
        dy: &DMatrix<f32>,
        steps: usize,
    ) -> ([DMatrix<f32>; 2], [RowDVector<f32>; 2], DMatrix<f32>) {
        let embed = x.ncols();
        let head = embed / HEADS;
        let scale = 1.0 / (head as f32).sqrt();
        let (dw_out, db_out, dcontext) = linear_back(&tape.context, &self.w_out, dy);
        let mut dqkv = DMatrix::zeros(x.nrows(), 3 * embed);
        for n in 0..x.nrows() / steps {
            for j in 0..HEADS {
                let a = &tape.weights[n * HEADS + j];
                let at = |block: usize| tape.qkv.view((n * steps, block * embed + j * head), (steps, head));
                let dc = dcontext.view((n * steps, j * head), (steps, head));
                let mut da = dc * at(2).transpose();
                let dv = a.transpose() * dc;
                for (r, mut row) in da.row_iter_mut().enumerate() {
                    let dot = row.dot(&a.row(r));
                    for (d, &w) in row.iter_mut().zip(a.row(r).iter()) {
                        *d = w * (*d - dot) * scale;
                    }
                }
                dqkv.view_mut((n * steps, j * head), (steps, head)).copy_from(&(&da * at(1)));
                dqkv.view_mut((n * steps, embed + j * head), (steps, head))
                    .copy_from(&(da.transpose() * at(0)));
                dqkv.view_mut((n * steps, 2 * embed + j * head), (steps, head)).copy_from(&dv);
            }
        }
        let (dw_in, db_in, dx) = linear_back(x, &self.w_in, &dqkv);
        ([dw_in, dw_out], [db_in, db_out], dx)
    }
}

struct Block {
    norm: Norm,
    attention: Attention,
    norm2: Norm,
    w1: DMatrix<f32>,
    b1: RowDVector<f32>,
    w2: DMatrix<f32>,
    b2: RowDVector<f32>,
}

/// The encoder and its classifier.
pub struct Transformer {
    blocks: Vec<Block>,
    norm: Norm,
    w: DMatrix<f32>,
    b: RowDVector<f32>,
    steps: usize,
}

/// Reads tensors in order from nn's flat parameters.
struct Reader<'a>(&'a [f32]);

impl Reader<'_> {
    fn matrix(&mut self, rows: usize, cols: usize) -> DMatrix<f32> {
        let m = DMatrix::from_row_slice(rows, cols, &self.0[..rows * cols]);
        self.0 = &self.0[rows * cols..];
        m
    }

    fn row(&mut self, len: usize) -> RowDVector<f32> {
        let r = RowDVector::from_row_slice(&self.0[..len]);
        self.0 = &self.0[len..];
        r
    }

    fn norm(&mut self, features: usize) -> Norm {
        Norm { gamma: self.row(features), beta: self.row(features) }
    }
}

impl Transformer {
    pub fn new(
        parameters: &[f32],
        (steps, embed, hidden, classes, depth): (usize, usize, usize, usize, usize),
    ) -> Self {
        let mut read = Reader(parameters);
        let blocks = (0..depth)
            .map(|_| {
                let norm = read.norm(embed);
                let attention = Attention {
                    w_in: read.matrix(3 * embed, embed),
                    b_in: read.row(3 * embed),
                    w_out: read.matrix(embed, embed),
                    b_out: read.row(embed),
                };
                let norm2 = read.norm(embed);
                let (w1, b1) = (read.matrix(hidden, embed), read.row(hidden));
                let (w2, b2) = (read.matrix(embed, hidden), read.row(embed));
                Block { norm, attention, norm2, w1, b1, w2, b2 }
            })
            .collect();
        let norm = read.norm(embed);
        let (w, b) = (read.matrix(classes, embed), read.row(classes));
        Self { blocks, norm, w, b, steps }
    }

    fn rows(&self, inputs: &[f32]) -> DMatrix<f32> {
        let embed = self.w.ncols();
        DMatrix::from_row_slice(inputs.len() / embed, embed, inputs)
    }

    /// The logits of a batch `[N][T][E]`, `N × classes`.
    pub fn infer(&self, inputs: &[f32]) -> DMatrix<f32> {
        let mut x = self.rows(inputs);
        for block in &self.blocks {
            x += block.attention.forward(&block.norm.forward(&x).0, self.steps).0;
            let y = block.norm2.forward(&x).0;
            x += linear(&linear(&y, &block.w1, &block.b1).map(|v| v.max(0.0)), &block.w2, &block.b2);
        }
        linear(&self.pool(&self.norm.forward(&x).0), &self.w, &self.b)
    }

    /// The mean over each sample's steps.
    fn pool(&self, x: &DMatrix<f32>) -> DMatrix<f32> {
        DMatrix::from_fn(x.nrows() / self.steps, x.ncols(), |n, f| {
            (0..self.steps).map(|t| x[(n * self.steps + t, f)]).sum::<f32>() / self.steps as f32
        })
    }

    /// One SGD step on the softmax cross-entropy; returns the loss before it.
    pub fn step(&mut self, inputs: &[f32], classes: &[usize], learning_rate: f32) -> f32 {
        struct Tape {
            norm: NormTape,
            y: DMatrix<f32>,
            attention: AttentionTape,
            norm2: NormTape,
            y2: DMatrix<f32>,
            hidden: DMatrix<f32>,
        }
        let steps = self.steps;
        let mut x = self.rows(inputs);
        let mut tapes = Vec::new();
        for block in &self.blocks {
            let (y, norm) = block.norm.forward(&x);
            let (a, attention) = block.attention.forward(&y, steps);
            let x1 = &x + a;
            let (y2, norm2) = block.norm2.forward(&x1);
            let hidden = linear(&y2, &block.w1, &block.b1).map(|v| v.max(0.0));
            let next = &x1 + linear(&hidden, &block.w2, &block.b2);
            tapes.push(Tape { norm, y, attention, norm2, y2, hidden });
            x = next;
        }
        let (normed, final_norm) = self.norm.forward(&x);
        let pooled = self.pool(&normed);
        let logits = linear(&pooled, &self.w, &self.b);
        let batch = logits.nrows();
        let (mut loss, mut dlogits) = (0.0, logits.clone());
        for (n, mut row) in dlogits.row_iter_mut().enumerate() {
            let max = row.max();
            row.apply(|z| *z = (*z - max).exp());
            let sum = row.sum();
            row /= sum;
            loss -= row[classes[n]].ln();
            row[classes[n]] -= 1.0;
            row /= batch as f32;
        }
        let (dw, db, dpooled) = linear_back(&pooled, &self.w, &dlogits);
        self.w -= dw * learning_rate;
        self.b -= db * learning_rate;
        let dnormed = DMatrix::from_fn(x.nrows(), x.ncols(), |r, f| dpooled[(r / steps, f)] / steps as f32);
        let (dg, dbeta, mut dx) = self.norm.backward(&final_norm, &dnormed);
        self.norm.gamma -= dg * learning_rate;
        self.norm.beta -= dbeta * learning_rate;
        for (block, tape) in self.blocks.iter_mut().zip(&tapes).rev() {
            let (dw2, db2, dhidden) = linear_back(&tape.hidden, &block.w2, &dx);
            let dhidden = dhidden.zip_map(&tape.hidden, |d, h| if h > 0.0 { d } else { 0.0 });
            let (dw1, db1, dy2) = linear_back(&tape.y2, &block.w1, &dhidden);
            let (dg2, db2n, dx1) = block.norm2.backward(&tape.norm2, &dy2);
            let dx1 = dx1 + &dx;
            let (dws, dbs, dy) = block.attention.backward(&tape.y, &tape.attention, &dx1, steps);
            let (dg1, db1n, dx0) = block.norm.backward(&tape.norm, &dy);
            dx = dx0 + dx1;
            block.w2 -= dw2 * learning_rate;
            block.b2 -= db2 * learning_rate;
            block.w1 -= dw1 * learning_rate;
            block.b1 -= db1 * learning_rate;
            block.norm2.gamma -= dg2 * learning_rate;
            block.norm2.beta -= db2n * learning_rate;
            let [dw_in, dw_out] = dws;
            let [db_in, db_out] = dbs;
            block.attention.w_in -= dw_in * learning_rate;
            block.attention.b_in -= db_in * learning_rate;
            block.attention.w_out -= dw_out * learning_rate;
            block.attention.b_out -= db_out * learning_rate;
            block.norm.gamma -= dg1 * learning_rate;
            block.norm.beta -= db1n * learning_rate;
        }
        loss / batch as f32
    }
}
