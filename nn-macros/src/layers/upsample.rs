//! `upsample(S)`: nearest-neighbour upsampling by an integer factor, one for every axis or
//! a `(height, width)` pair, PyTorch's `nn.Upsample(scale_factor = S, mode = "nearest")` on
//! an image `[C, H, W]` or a signal `[C, L]`. No parameters; the kernels are
//! `nn::layer::upsample`.

use proc_macro2::TokenStream;
use quote::quote;

use super::spatial::{self, Value};
use super::{Built, Kind, Layer, Outcome, Site, literal, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind { names: || vec!["upsample"], build, block: false };

struct Upsample {
    channels: usize,
    /// `[H, W]` (`[1, L]` for a signal).
    input: [usize; 2],
    scale: [usize; 2],
    axes: usize,
    written: String,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let Some(arguments) = spatial::parse(entry, context) else {
        return Outcome::Failed { output: None };
    };
    let Some(scale) = &arguments.lead else {
        let message = "`upsample` needs its factor: `upsample(2)` doubles the height and the width";
        context.errors().at_span(spatial::arguments_span(entry), message);
        return Outcome::Failed { output: None };
    };
    if let Some((key, _)) = arguments.options.first() {
        let message = format!("`upsample` takes only its factor (nearest-neighbour), not `{key}`");
        context.errors().at(key, message);
        return Outcome::Failed { output: None };
    }
    if let Some((name, _)) = &arguments.activation {
        context.errors().at(name, "`upsample` takes no activation; put it before or after as its own layer");
        return Outcome::Failed { output: None };
    }
    let Some(source) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let axes = source.shape.0.len().saturating_sub(1).clamp(1, 2);
    let Some((channels, input)) = spatial::planes(context, entry, &source, axes) else {
        return Outcome::Failed { output: None };
    };
    let Some(factors) = spatial::per_axis(context.errors(), "upsample", scale, axes, 1) else {
        return Outcome::Failed { output: None };
    };
    let pair = |values: &[usize]| if axes == 1 { [1, values[0]] } else { [values[0], values[1]] };
    let layer =
        Upsample { channels, input: pair(&input), scale: pair(&factors), axes, written: Value::text(scale) };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: entry.kind.span() })
}

impl Upsample {
    fn sizes(&self) -> TokenStream {
        let ([h, w], [sh, sw]) = (self.input.map(literal), self.scale.map(literal));
        quote!([#h, #w], [#sh, #sw])
    }
}

impl Layer for Upsample {
    fn describe(&self) -> String {
        format!("upsample({})", self.written)
    }

    fn output(&self) -> Shape {
        let [height, width] = [self.input[0] * self.scale[0], self.input[1] * self.scale[1]];
        Shape(if self.axes == 1 { vec![self.channels, width] } else { vec![self.channels, height, width] })
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (sizes, x, size) = (self.sizes(), &site.inputs[0], literal(self.output().len()));
        quote! {{
            let mut __a = #private::SVector::<T, #size>::zeros();
            #private::upsample::forward(#sizes, #x.as_slice(), __a.as_mut_slice());
            __a
        }}
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let (sizes, x, output) = (self.sizes(), &site.inputs[0], site.output());
        quote!(#private::upsample::forward(#sizes, #x, &mut __workspace.#output);)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        self.infer(site)
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let Some(grad_input) = &site.input_gradients[0] else {
            return TokenStream::new();
        };
        let private = private();
        let (sizes, gradient) = (self.sizes(), site.output_gradient());
        quote!(#private::upsample::backward(#sizes, &__workspace.#gradient, &mut __workspace.#grad_input);)
    }
}
