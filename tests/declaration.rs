//! The declaration forms `network!` accepts, and what each generates.

use nn::prelude::*;

nn::network! { pub struct Probe { dense(2 -> 3, sigmoid), dropout(0.5), dense(3 -> 1, relu) } }

nn::network! {
    /// Every accepted form at once.
    #[allow(dead_code)]
    pub(crate) struct Forms {
        input(4),
        hidden: dense(5, tanh),
        relu,
        dense(5 -> 3),
        dropout(0.25),
        sigmoid,
        out: dense(2, identity, init = xavier_uniform),
    }
}

#[test]
fn probe_has_its_shapes_as_consts() {
    assert_eq!(Probe::<f32>::INPUTS, 2);
    assert_eq!(Probe::<f32>::OUTPUTS, 1);
    assert_eq!(Probe::<f32>::PARAMETERS, 2 * 3 + 3 + 3 + 1);
    assert_eq!(<Probe<f64> as Network<f64>>::PARAMETERS, 13);
}

#[test]
fn forms_infer_and_name_their_layers() {
    let specs: Vec<(&str, &[usize])> =
        <Forms<f64> as Network<f64>>::parameter_specs().iter().map(|s| (s.name, s.shape)).collect();
    assert_eq!(
        specs,
        [
            ("hidden.weight", &[5, 4][..]),
            ("hidden.bias", &[5][..]),
            ("2.weight", &[3, 5][..]),
            ("2.bias", &[3][..]),
            ("out.weight", &[2, 3][..]),
            ("out.bias", &[2][..]),
        ]
    );
    let net = Forms::<f64>::seeded(1);
    assert_eq!(net.layer2().weight().shape(), (3, 5));
    assert_eq!(net.out().bias().len(), 2);
    assert!(net.out().bias().iter().all(|&b| b == 0.0), "xavier_uniform leaves the bias at 0");
    assert_eq!(net.parameter("out.bias"), Some(&[0.0, 0.0][..]));
}

#[test]
fn one_sample_and_batch_inference_agree() {
    let net = Forms::<f64>::seeded(3);
    let x = SVector::<f64, 4>::new(0.5, -1.0, 2.0, 0.25);
    let one = net.forward(&x);
    let batch = net.forward_batch(&OMatrix::<f64, Const<4>, Dyn>::from_columns(&[x, x * 2.0]));
    assert_eq!(batch.ncols(), 2);
    approx::assert_relative_eq!(one, batch.column(0).into_owned(), epsilon = 1e-15);
    approx::assert_relative_eq!(net.forward(&(x * 2.0)), batch.column(1).into_owned(), epsilon = 1e-15);
}
