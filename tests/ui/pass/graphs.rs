//! Graph forms: residual blocks (nested, named and not), `<-` sources, `add` and `concat`,
//! under `deny(warnings)`.
#![deny(warnings)]

nn::network! {
    /// Two branches from the input, merged twice.
    pub struct Branches {
        input(5),
        a: dense(4, tanh),
        b: dense(4, sigmoid) <- input,
        sum: add(a, b),
        joined: concat(sum, b, input),
        res: residual { dense(13, relu), residual { dense(13) }, proj: dense(13) },
        residual { relu },
        dense(2),
    }
}

fn main() {
    let net = Branches::<f64>::seeded(0);
    let _ = net.forward(&nn::prelude::SVector::<f64, 5>::zeros());
    let names: Vec<&str> = <Branches<f64> as nn::Network<f64>>::parameter_specs().iter().map(|s| s.name).collect();
    assert!(names.contains(&"res.0.weight") && names.contains(&"res.1.0.bias") && names.contains(&"proj.weight"));
}
