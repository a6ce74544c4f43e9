//! The declaration from the README, verbatim, under `deny(warnings)`.
#![deny(warnings)]

nn::network! { pub struct Probe { dense(2 -> 3, sigmoid), dropout(0.5), dense(3 -> 1, relu) } }

fn main() {
    let net = Probe::<f32>::seeded(0);
    let _ = net.forward(&nn::SVector::<f32, 2>::new(1.0, 0.0));
}
