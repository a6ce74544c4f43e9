//! Every accepted form, with docs, attributes and visibility, under `deny(warnings)`.
#![deny(warnings)]
#![deny(missing_docs)]

mod nets {
    nn::network! {
        /// A network with every form of layer.
        #[allow(dead_code)]
        pub struct Forms {
            input(4),
            hidden: dense(5, tanh),
            relu,
            dense(5 -> 3, init = he_normal),
            dropout(0),
            sigmoid,
            identity,
            out: dense(2, identity, init = xavier_uniform,),
        }
    }

    nn::network! { pub(crate) struct OnlyDropout { input(3), dropout(0.5) } }
}

fn main() {
    let _ = nets::Forms::<f64>::seeded(1).out();
    let _ = nets::OnlyDropout::<f32>::PARAMETERS;
}
