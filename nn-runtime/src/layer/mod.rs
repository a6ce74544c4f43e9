//! Layer kernels: the forward and backward pass of each layer kind, side by side.
//!
//! The code `network!` writes calls these with the layer's sizes as const generics, so each
//! call is monomorphised for its exact shape: small layers become unrolled, vectorised
//! loops, large ones go to a real GEMM. Batches are column-major, one sample per column.

pub mod dense;
pub mod dropout;
