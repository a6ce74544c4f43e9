//! Hand-written nalgebra versions of the benchmarked sequence networks, built from the same
//! flat parameters as nn's (PyTorch's layout and order): what a careful user writes by hand
//! with nalgebra's fixed-size matrices for streaming, and with its GEMM for training.

use nalgebra::{SMatrix, SVector};

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
