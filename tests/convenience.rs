//! The ways a sample or a batch can be handed to a network: a stack vector, a slice, any
//! nalgebra column (a `DVector`, a matrix's column), a matrix of samples allocated per call
//! or run in a reusable workspace; each wrong length is a typed error.

use nn::network::BatchError;
use nn::prelude::*;

nn::network! { struct Mlp { input(3), dense(5, tanh), batch_norm(5), dense(2) } }
nn::network! { struct Ids { input(4), embedding(10 -> 3), flatten, dense(2) } }

#[test]
fn a_sample_from_a_slice_or_any_nalgebra_column_gives_the_same_output() {
    let net = Mlp::<f64>::seeded(1);
    let x = [0.2, -0.4, 0.9];
    let expected = net.forward(&SVector::from(x));
    assert_eq!(net.forward_slice(&x), Ok(expected));
    assert_eq!(net.forward_vector(&nn::DMatrix::from_column_slice(3, 1, &x).column(0)), Ok(expected));
    assert_eq!(net.forward_vector(&nalgebra::DVector::from_column_slice(&x)), Ok(expected));
    let wide = nn::DMatrix::from_row_slice(3, 2, &[9.0, 0.2, 9.0, -0.4, 9.0, 0.9]);
    assert_eq!(net.forward_vector(&wide.column(1)), Ok(expected), "a view into a larger matrix");
    let error = BatchError::SampleLength { expected: 3, found: 2 };
    assert_eq!(net.forward_slice(&x[..2]), Err(error));
    assert_eq!(net.forward_vector(&nalgebra::DVector::from_column_slice(&x[..2])), Err(error));
    assert_eq!(error.to_string(), "a sample has 3 values, but 2 were given");
}

#[test]
fn a_batch_in_a_reusable_workspace_matches_forward_batch() {
    let net = Mlp::<f32>::seeded(2);
    let batch = nn::OMatrix::<f32, nn::Const<3>, nn::Dyn>::from_fn(7, |r, c| (r as f32 - c as f32) / 5.0);
    let allocated = net.forward_batch(&batch);
    let mut workspace = Mlp::workspace();
    let view = net.forward_batch_with(&batch, &mut workspace);
    assert_eq!(view, allocated);
}

#[test]
fn id_networks_take_slices_and_matrices_of_ids() {
    let net = Ids::<f64>::seeded(3);
    let ids = [1, 9, 0, 4];
    let expected = net.forward(&ids).unwrap();
    assert_eq!(net.forward_slice(&ids), Ok(expected));
    assert_eq!(net.forward_slice(&ids[..3]), Err(BatchError::SampleLength { expected: 4, found: 3 }));
    assert!(matches!(net.forward_slice(&[1, 2, 3, 10]), Err(BatchError::IdOutOfRange { id: 10, .. })));
    let batch = nn::OMatrix::<u32, nn::Const<4>, nn::Dyn>::from_column_slice(&[1, 9, 0, 4, 2, 2, 2, 2]);
    let mut workspace = Ids::workspace();
    let view = net.forward_batch_with(&batch, &mut workspace).unwrap();
    assert_eq!(view.column(0), expected);
}

#[test]
fn networks_state_their_sample_shapes() {
    nn::network! { struct Sequence { input(5), embedding(12 -> 3) } }
    assert_eq!((Mlp::<f32>::INPUT_SHAPE, Mlp::<f32>::OUTPUT_SHAPE), (&[3][..], &[2][..]));
    assert_eq!((Ids::<f32>::INPUT_SHAPE, Sequence::<f32>::OUTPUT_SHAPE), (&[4][..], &[5, 3][..]));
    assert_eq!(<Sequence<f32> as Network<f32>>::OUTPUTS, 15);
}
