//! Every activation, in dense layers and alone, with and without parameters.
#![deny(warnings)]

nn::network! {
    struct Activations {
        input(2),
        dense(4, identity), dense(4, sigmoid), dense(4, tanh), dense(4, relu),
        dense(4, leaky_relu), dense(4, leaky_relu(0.2)), dense(4, elu), dense(4, elu(0.5)),
        dense(4, gelu), dense(4, gelu_tanh), dense(4, softplus), dense(4, softplus(2.0)),
        dense(4, silu), dense(4, swish), dense(4, heaviside), dense(4, step), dense(4, sign),
        dense(4, softmax, init = constant(0.1)),
        identity, sigmoid, tanh, relu, leaky_relu, leaky_relu(0.3), elu, elu(2), gelu, gelu_tanh,
        softplus, softplus(3), silu, swish, heaviside, step, sign, softmax,
    }
}

fn main() {
    let net = Activations::<f64>::seeded(0);
    let y = net.forward(&nn::SVector::<f64, 2>::new(0.5, -0.5));
    assert!((y.sum() - 1.0).abs() < 1e-12, "softmax output sums to 1");
    assert!(net.layer17().weight().iter().all(|&w| w == 0.1));
}
