//! Hand-written nalgebra versions of the benchmarked sequence networks, built from the same
//! flat parameters as nn's (PyTorch's layout and order): what a careful user writes by hand
//! with nalgebra's fixed-size matrices for streaming, and with its GEMM (time-major, one
//! product per step and gate stack) for training.

use nalgebra::{DMatrix, DVector, SMatrix, SVector};

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// `weight [R, C]` row-major at `*at` as a fixed-size matrix; advances `*at`.
fn take<const R: usize, const C: usize>(parameters: &[f32], at: &mut usize) -> SMatrix<f32, R, C> {
    let matrix = SMatrix::from_row_slice(&parameters[*at..*at + R * C]);
    *at += R * C;
    matrix
}

/// A streaming GRU of `H` units on one input, then a dense `H → 1`, one step per call.
pub struct GruStream<const H: usize, const G: usize> {
    w_ih: SVector<f32, G>,
    w_hh: SMatrix<f32, G, H>,
    b_ih: SVector<f32, G>,
    b_hh: SVector<f32, G>,
    head: SVector<f32, H>,
    head_bias: f32,
    h: SVector<f32, H>,
}

impl<const H: usize, const G: usize> GruStream<H, G> {
    pub fn new(parameters: &[f32]) -> Self {
        let at = &mut 0;
        let w_ih = take::<G, 1>(parameters, at);
        let w_hh = take::<G, H>(parameters, at);
        let (b_ih, b_hh) = (take::<G, 1>(parameters, at), take::<G, 1>(parameters, at));
        let head = take::<H, 1>(parameters, at);
        Self { w_ih, w_hh, b_ih, b_hh, head, head_bias: parameters[*at], h: SVector::zeros() }
    }

    pub fn step(&mut self, x: f32) -> f32 {
        let gi = self.w_ih * x + self.b_ih;
        let gh = self.w_hh * self.h + self.b_hh;
        for j in 0..H {
            let r = sigmoid(gi[j] + gh[j]);
            let z = sigmoid(gi[H + j] + gh[H + j]);
            let n = (gi[2 * H + j] + r * gh[2 * H + j]).tanh();
            self.h[j] = (1.0 - z) * n + z * self.h[j];
        }
        self.head.dot(&self.h) + self.head_bias
    }
}

/// A streaming LSTM of `H` units on one input, then a dense `H → 1`, one step per call.
pub struct LstmStream<const H: usize, const G: usize> {
    w_ih: SVector<f32, G>,
    w_hh: SMatrix<f32, G, H>,
    bias: SVector<f32, G>,
    head: SVector<f32, H>,
    head_bias: f32,
    h: SVector<f32, H>,
    c: SVector<f32, H>,
}

impl<const H: usize, const G: usize> LstmStream<H, G> {
    pub fn new(parameters: &[f32]) -> Self {
        let at = &mut 0;
        let w_ih = take::<G, 1>(parameters, at);
        let w_hh = take::<G, H>(parameters, at);
        let bias = take::<G, 1>(parameters, at) + take::<G, 1>(parameters, at);
        let head = take::<H, 1>(parameters, at);
        Self { w_ih, w_hh, bias, head, head_bias: parameters[*at], h: SVector::zeros(), c: SVector::zeros() }
    }

    pub fn step(&mut self, x: f32) -> f32 {
        let gates = self.w_ih * x + self.w_hh * self.h + self.bias;
        for j in 0..H {
            let i = sigmoid(gates[j]);
            let f = sigmoid(gates[H + j]);
            let g = gates[2 * H + j].tanh();
            let o = sigmoid(gates[3 * H + j]);
            self.c[j] = f * self.c[j] + i * g;
            self.h[j] = o * self.c[j].tanh();
        }
        self.head.dot(&self.h) + self.head_bias
    }
}

/// Which cell a [`Sequence`] trains.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Gru,
    Lstm,
}

/// What the forward pass keeps for one step: the input, the previous state and the gates.
struct Step {
    x: DMatrix<f32>,
    h_prev: DMatrix<f32>,
    c_prev: DMatrix<f32>,
    /// GRU: r, z, n and `gh_n`; LSTM: i, f, g, o and `c`.
    gates: Vec<DMatrix<f32>>,
    h: DMatrix<f32>,
}

/// A recurrent layer over every step and a dense `H → 1` read-out at each, trained with
/// backpropagation through time by SGD on the mean squared error over all steps: the
/// time-major way a careful user writes it with nalgebra's GEMM.
pub struct Sequence {
    cell: Cell,
    hidden: usize,
    w_ih: DMatrix<f32>,
    w_hh: DMatrix<f32>,
    b_ih: DVector<f32>,
    b_hh: DVector<f32>,
    head: DMatrix<f32>,
    head_bias: f32,
}

fn sigmoid_matrix(m: &DMatrix<f32>) -> DMatrix<f32> {
    m.map(sigmoid)
}

impl Sequence {
    /// From nn's flat parameters (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`, then the
    /// read-out's weight and bias), `features` inputs per step.
    pub fn new(cell: Cell, features: usize, hidden: usize, parameters: &[f32]) -> Self {
        let gates = if cell == Cell::Gru { 3 } else { 4 } * hidden;
        let mut at = 0;
        let mut next = |rows: usize, cols: usize| {
            let m = DMatrix::from_row_slice(rows, cols, &parameters[at..at + rows * cols]);
            at += rows * cols;
            m
        };
        let (w_ih, w_hh) = (next(gates, features), next(gates, hidden));
        let (b_ih, b_hh) = (next(gates, 1).column(0).into_owned(), next(gates, 1).column(0).into_owned());
        let head = next(1, hidden);
        let head_bias = next(1, 1)[0];
        Self { cell, hidden, w_ih, w_hh, b_ih, b_hh, head, head_bias }
    }

    /// One step of the cell on a batch (columns are samples).
    fn forward_step(&self, x: &DMatrix<f32>, h_prev: &DMatrix<f32>, c_prev: &DMatrix<f32>) -> Step {
        let hidden = self.hidden;
        let mut gi = &self.w_ih * x;
        let mut gh = &self.w_hh * h_prev;
        for mut column in gi.column_iter_mut() {
            column += &self.b_ih;
        }
        for mut column in gh.column_iter_mut() {
            column += &self.b_hh;
        }
        let rows = |m: &DMatrix<f32>, block: usize| m.rows(block * hidden, hidden).into_owned();
        match self.cell {
            Cell::Gru => {
                let r = sigmoid_matrix(&(rows(&gi, 0) + rows(&gh, 0)));
                let z = sigmoid_matrix(&(rows(&gi, 1) + rows(&gh, 1)));
                let gh_n = rows(&gh, 2);
                let n = (rows(&gi, 2) + r.component_mul(&gh_n)).map(f32::tanh);
                let h = z.map(|z| 1.0 - z).component_mul(&n) + z.component_mul(h_prev);
                Step {
                    x: x.clone(),
                    h_prev: h_prev.clone(),
                    c_prev: c_prev.clone(),
                    gates: vec![r, z, n, gh_n],
                    h,
                }
            }
            Cell::Lstm => {
                let pre = gi + gh;
                let (i, f) = (sigmoid_matrix(&rows(&pre, 0)), sigmoid_matrix(&rows(&pre, 1)));
                let (g, o) = (rows(&pre, 2).map(f32::tanh), sigmoid_matrix(&rows(&pre, 3)));
                let c = f.component_mul(c_prev) + i.component_mul(&g);
                let h = o.component_mul(&c.map(f32::tanh));
                Step {
                    x: x.clone(),
                    h_prev: h_prev.clone(),
                    c_prev: c_prev.clone(),
                    gates: vec![i, f, g, o, c],
                    h,
                }
            }
        }
    }

    /// The steps' inputs, time-major, from nn's `[N][T][F]` batch.
    fn steps(inputs: &[f32], steps: usize, features: usize) -> Vec<DMatrix<f32>> {
        let batch = inputs.len() / (steps * features);
        (0..steps)
            .map(|t| DMatrix::from_fn(features, batch, |f, n| inputs[(n * steps + t) * features + f]))
            .collect()
    }

    /// One SGD step on a batch `[N][T][F]` with targets `[N][T]`; returns the loss before it.
    pub fn step(&mut self, inputs: &[f32], targets: &[f32], steps: usize, learning_rate: f32) -> f32 {
        let features = self.w_ih.ncols();
        let batch = inputs.len() / (steps * features);
        let (hidden, scale) = (self.hidden, 2.0 / (batch * steps) as f32);
        let mut tape = Vec::with_capacity(steps);
        let (mut h, mut c) = (DMatrix::zeros(hidden, batch), DMatrix::zeros(hidden, batch));
        let mut loss = 0.0;
        let mut dy = Vec::with_capacity(steps);
        for (t, x) in Self::steps(inputs, steps, features).iter().enumerate() {
            let step = self.forward_step(x, &h, &c);
            let y = (&self.head * &step.h).add_scalar(self.head_bias);
            let delta = DMatrix::from_fn(1, batch, |_, n| y[n] - targets[n * steps + t]);
            loss += delta.norm_squared();
            dy.push(delta * scale);
            h = step.h.clone();
            if self.cell == Cell::Lstm {
                c = step.gates[4].clone();
            }
            tape.push(step);
        }
        let gates = self.w_ih.nrows();
        let (mut d_ih, mut d_hh) = (DMatrix::zeros(gates, features), DMatrix::zeros(gates, hidden));
        let (mut db_ih, mut db_hh) = (DVector::zeros(gates), DVector::zeros(gates));
        let (mut d_head, mut d_head_bias) = (DMatrix::zeros(1, hidden), 0.0);
        let (mut carry, mut carry_cell) = (DMatrix::zeros(hidden, batch), DMatrix::zeros(hidden, batch));
        for (step, dy) in tape.iter().zip(&dy).rev() {
            d_head += dy * step.h.transpose();
            d_head_bias += dy.sum();
            let dh = self.head.transpose() * dy + &carry;
            let (dgi, dgh, direct) = self.backward_step(step, &dh, &mut carry_cell);
            d_ih += &dgi * step.x.transpose();
            d_hh += &dgh * step.h_prev.transpose();
            db_ih += dgi.column_sum();
            db_hh += dgh.column_sum();
            carry = direct + self.w_hh.transpose() * &dgh;
        }
        self.w_ih -= d_ih * learning_rate;
        self.w_hh -= d_hh * learning_rate;
        self.b_ih -= db_ih * learning_rate;
        self.b_hh -= db_hh * learning_rate;
        self.head -= d_head * learning_rate;
        self.head_bias -= d_head_bias * learning_rate;
        loss / (batch * steps) as f32
    }

    /// `(∂L/∂gi, ∂L/∂gh, the part of ∂L/∂h_prev not through W_hh)`; updates the cell carry.
    fn backward_step(
        &self,
        step: &Step,
        dh: &DMatrix<f32>,
        carry_cell: &mut DMatrix<f32>,
    ) -> (DMatrix<f32>, DMatrix<f32>, DMatrix<f32>) {
        let (hidden, batch) = (self.hidden, dh.ncols());
        let g = &step.gates;
        match self.cell {
            Cell::Gru => {
                let (r, z, n, gh_n) = (&g[0], &g[1], &g[2], &g[3]);
                let dn = dh.component_mul(&z.map(|z| 1.0 - z)).component_mul(&n.map(|n| 1.0 - n * n));
                let dz = dh.component_mul(&(&step.h_prev - n)).component_mul(&z.map(|z| z * (1.0 - z)));
                let dr = dn.component_mul(gh_n).component_mul(&r.map(|r| r * (1.0 - r)));
                let mut dgi = DMatrix::zeros(3 * hidden, batch);
                let mut dgh = DMatrix::zeros(3 * hidden, batch);
                dgi.rows_mut(0, hidden).copy_from(&dr);
                dgi.rows_mut(hidden, hidden).copy_from(&dz);
                dgi.rows_mut(2 * hidden, hidden).copy_from(&dn);
                dgh.rows_mut(0, hidden).copy_from(&dr);
                dgh.rows_mut(hidden, hidden).copy_from(&dz);
                dgh.rows_mut(2 * hidden, hidden).copy_from(&dn.component_mul(r));
                (dgi, dgh, dh.component_mul(z))
            }
            Cell::Lstm => {
                let (i, f, gg, o, c) = (&g[0], &g[1], &g[2], &g[3], &g[4]);
                let tanh_c = c.map(f32::tanh);
                let d_cell = &*carry_cell + dh.component_mul(o).component_mul(&tanh_c.map(|t| 1.0 - t * t));
                let mut dpre = DMatrix::zeros(4 * hidden, batch);
                dpre.rows_mut(0, hidden)
                    .copy_from(&d_cell.component_mul(gg).component_mul(&i.map(|i| i * (1.0 - i))));
                dpre.rows_mut(hidden, hidden)
                    .copy_from(&d_cell.component_mul(&step.c_prev).component_mul(&f.map(|f| f * (1.0 - f))));
                dpre.rows_mut(2 * hidden, hidden)
                    .copy_from(&d_cell.component_mul(i).component_mul(&gg.map(|g| 1.0 - g * g)));
                dpre.rows_mut(3 * hidden, hidden)
                    .copy_from(&dh.component_mul(&tanh_c).component_mul(&o.map(|o| o * (1.0 - o))));
                *carry_cell = d_cell.component_mul(f);
                (dpre.clone(), dpre, DMatrix::zeros(hidden, batch))
            }
        }
    }
}
