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

nn::network! { struct Wide { hidden: dense(40 -> 48, relu), dense(36, tanh), dense(10) } }

/// Batched inference keeps wide layers' weights packed in the workspace between calls and
/// packs them again whenever the parameters may have changed: through `parameters_mut`, a
/// layer's typed view, a trainer's step, or another network (a clone changed since) run in
/// the same workspace. Each time, the kept workspace gives what a fresh one gives.
#[test]
fn a_workspace_packs_the_weights_again_when_the_parameters_change() {
    let inputs: Vec<f32> = (0..40 * 64).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect();
    let fresh = |net: &Wide<f32>| net.infer(&inputs, &mut Wide::workspace()).unwrap().to_vec();
    let mut kept = Wide::workspace();
    let mut check = |net: &Wide<f32>, what: &str| {
        let output = net.infer(&inputs, &mut kept).unwrap().to_vec();
        assert_eq!(output, fresh(net), "{what}");
        output
    };
    let mut net = Wide::<f32>::seeded(4);
    let first = check(&net, "the first call");
    net.parameters_mut()[7] += 0.5;
    let changed = check(&net, "after parameters_mut");
    assert_ne!(changed, first, "the change must reach the output");
    net.hidden_mut().weight()[(3, 5)] -= 0.75;
    assert_ne!(check(&net, "after hidden_mut"), changed);
    let mut clone = net.clone();
    clone.parameters_mut()[40 * 48 + 100] *= -2.0;
    assert_ne!(check(&clone, "a changed clone"), check(&net, "the original after its clone"));
    let targets: Vec<f32> = (0..10 * 64).map(|i| (i % 3) as f32).collect();
    let mut trainer = Trainer::new(net, MeanSquaredError, Sgd::with_learning_rate(0.1));
    for step in 0..3 {
        trainer.step(&inputs, &targets).unwrap();
        check(trainer.network(), &format!("after the trainer's step {step}"));
    }
}
