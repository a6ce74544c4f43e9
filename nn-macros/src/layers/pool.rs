//! `max_pool2d(K)`, `avg_pool2d(K, stride = S, padding = P)`, their 1-D forms
//! `max_pool1d` / `avg_pool1d`, and `global_avg_pool`: PyTorch's `nn.MaxPool2d`,
//! `nn.AvgPool2d` (padding counted as zeros), `nn.MaxPool1d`, `nn.AvgPool1d` and
//! `nn.AdaptiveAvgPool2d(1)` followed by a flatten (`[C, H, W]` or `[C, L]` to `[C]`). The
//! kernel is the first argument or `kernel = K`, one size or a `(height, width)` pair; the
//! stride defaults to the kernel, as in PyTorch. No parameters; the kernels are
//! `nn::layer::pool`.

use proc_macro2::TokenStream;
use quote::quote;

use super::spatial::{self, Options, Value};
use super::{Built, Kind, Layer, Outcome, Scratch, Site, literal, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind = Kind {
    names: || vec!["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "global_avg_pool"],
    build,
    block: false,
};

/// How a window is reduced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduce {
    Max,
    Average,
}

/// A windowed pooling layer.
struct Pool {
    kind: String,
    reduce: Reduce,
    channels: usize,
    axes: usize,
    input: [usize; 2],
    output: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    /// The arguments as written, for the description.
    written: Vec<String>,
}

/// `global_avg_pool`: each channel to its mean.
struct GlobalAverage {
    channels: usize,
    plane: usize,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let kind = entry.kind.to_string();
    if kind == "global_avg_pool" {
        return global(entry, context);
    }
    let reduce = if kind.starts_with("max") { Reduce::Max } else { Reduce::Average };
    let axes = if kind.ends_with("1d") { 1 } else { 2 };
    let Some(arguments) = spatial::parse(entry, context) else {
        return Outcome::Failed { output: None };
    };
    if !no_extras(context, &kind, &arguments) {
        return Outcome::Failed { output: None };
    }
    let Some(source) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let Some((channels, input)) = spatial::planes(context, entry, &source, axes) else {
        return Outcome::Failed { output: None };
    };
    let accepted = &["kernel", "stride", "padding"];
    let Some(options) = Options::check(context.errors(), &kind, &arguments.options, accepted) else {
        return Outcome::Failed { output: None };
    };
    let Some(kernel_value) = kernel_argument(context, entry, &arguments, &options) else {
        return Outcome::Failed { output: None };
    };
    let written: Vec<String> = arguments
        .lead
        .iter()
        .map(Value::text)
        .chain(arguments.options.iter().map(|(key, value)| format!("{key} = {}", value.text())))
        .collect();
    let described = (kind.clone(), reduce, written);
    match window(context, described, (kernel_value, &options), (channels, input)) {
        Some(pool) => Outcome::Layer(Built {
            layer: Box::new(pool),
            inputs: vec![source.value],
            span: entry.kind.span(),
        }),
        None => Outcome::Failed { output: None },
    }
}

/// Reports an activation or an `-> OUT` given to a pooling layer; whether there was none.
fn no_extras(context: &mut Context, kind: &str, arguments: &spatial::Arguments) -> bool {
    if let Some((name, _)) = &arguments.activation {
        let message = format!("`{kind}` takes no activation; put `{name}` before it as its own layer");
        context.errors().at(name, message);
        return false;
    }
    if let Some(outputs) = &arguments.outputs {
        let message = format!("`{kind}` keeps the channels; write `{kind}(2)` for a 2-wide window");
        context.errors().at(outputs, message);
        return false;
    }
    true
}

/// The window size, as the first argument or `kernel = K` (not both); `None` after
/// reporting.
fn kernel_argument<'a>(
    context: &mut Context,
    entry: &Entry,
    arguments: &'a spatial::Arguments,
    options: &Options<'a>,
) -> Option<&'a Value> {
    let kind = &entry.kind;
    match (&arguments.lead, options.get("kernel")) {
        (Some(lead), None) => Some(lead),
        (None, Some((_, value))) => Some(value),
        (Some(lead), Some(_)) => {
            let message = "the kernel is given twice: as the first argument and as `kernel`";
            context.errors().at_span(lead.span(), message);
            None
        }
        (None, None) => {
            let message = format!("`{kind}` needs its window size: `{kind}(2)`");
            context.errors().at_span(spatial::arguments_span(entry), message);
            None
        }
    }
}

/// Resolves the window's sizes and slides it over the input; `None` after reporting.
fn window(
    context: &mut Context,
    (kind, reduce, written): (String, Reduce, Vec<String>),
    (kernel_value, options): (&Value, &Options<'_>),
    (channels, input): (usize, Vec<usize>),
) -> Option<Pool> {
    let axes = input.len();
    let errors = context.errors();
    let kernel = spatial::per_axis(errors, "kernel", kernel_value, axes, 1)?;
    let stride = match options.get("stride") {
        Some((_, value)) => spatial::per_axis(errors, "stride", value, axes, 1)?,
        None => kernel.clone(),
    };
    let padding = match options.get("padding") {
        Some((_, value)) => spatial::per_axis(errors, "padding", value, axes, 0)?,
        None => vec![0; axes],
    };
    if let Some(axis) = (0..axes).find(|&axis| 2 * padding[axis] > kernel[axis]) {
        let (p, k) = (padding[axis], kernel[axis]);
        let message = format!(
            "`padding` may be at most half the kernel ({k}), found {p}: a window would hold only padding"
        );
        errors
            .at_span(options.get("padding").map_or_else(|| kernel_value.span(), |(_, v)| v.span()), message);
        return None;
    }
    let mut output = Vec::new();
    for axis in 0..axes {
        let window = (kernel[axis], 1, stride[axis]);
        match spatial::slide(spatial::axis_names(axes)[axis], input[axis], 2 * padding[axis], window) {
            Ok(size) => output.push(size),
            Err(reason) => {
                errors.at_span(kernel_value.span(), format!("`{kind}`: {reason}"));
                return None;
            }
        }
    }
    let plane =
        |values: &[usize], fill: usize| if axes == 1 { [fill, values[0]] } else { [values[0], values[1]] };
    Some(Pool {
        kind,
        reduce,
        channels,
        axes,
        input: plane(&input, 1),
        output: plane(&output, 1),
        kernel: plane(&kernel, 1),
        stride: plane(&stride, 1),
        padding: plane(&padding, 0),
        written,
    })
}

fn global(entry: &Entry, context: &mut Context) -> Outcome {
    if let Some(arguments) = &entry.arguments {
        context.errors().at_span(arguments.span(), "`global_avg_pool` takes no arguments");
    }
    let Some(source) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let [channels, rest @ ..] = source.shape.0.as_slice() else {
        return Outcome::Failed { output: None };
    };
    if rest.is_empty() {
        let message = format!(
            "`global_avg_pool` averages each channel of an image [C, H, W] or a signal [C, L], but {}",
            source.produces()
        );
        context.errors().at(&entry.kind, message);
        return Outcome::Failed { output: None };
    }
    let layer = GlobalAverage { channels: *channels, plane: rest.iter().product() };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: entry.kind.span() })
}

impl Pool {
    fn window(&self) -> TokenStream {
        let private = private();
        let pair = |[a, b]: [usize; 2]| {
            let (a, b) = (literal(a), literal(b));
            quote!([#a, #b])
        };
        let (input, output, kernel) = (pair(self.input), pair(self.output), pair(self.kernel));
        let (stride, padding) = (pair(self.stride), pair(self.padding));
        quote! {
            &#private::pool::Window { input: #input, output: #output, kernel: #kernel, stride: #stride, padding: #padding }
        }
    }

    /// The inference kernel, with the window's sizes as const generics for max pooling.
    fn forward_function(&self) -> TokenStream {
        match self.reduce {
            Reduce::Max => {
                let generics = self.generics();
                quote!(max_forward::<T, #generics>)
            }
            Reduce::Average => quote!(average_forward),
        }
    }

    /// `KH, KW, SH, SW`.
    fn generics(&self) -> TokenStream {
        let ([kh, kw], [sh, sw]) = (self.kernel.map(literal), self.stride.map(literal));
        quote!(#kh, #kw, #sh, #sw)
    }
}

impl Layer for Pool {
    fn describe(&self) -> String {
        format!("{}({})", self.kind, self.written.join(", "))
    }

    fn output(&self) -> Shape {
        let [height, width] = self.output;
        Shape(if self.axes == 1 { vec![self.channels, width] } else { vec![self.channels, height, width] })
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (window, function, x) = (self.window(), self.forward_function(), &site.inputs[0]);
        let size = literal(self.output().len());
        quote! {{
            let mut __a = #private::SVector::<T, #size>::zeros();
            #private::pool::#function(#window, #x.as_slice(), __a.as_mut_slice());
            __a
        }}
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let (window, function, x, output) =
            (self.window(), self.forward_function(), &site.inputs[0], site.output());
        quote!(#private::pool::#function(#window, #x, &mut __workspace.#output);)
    }

    /// Max pooling records each window's argmax for backward.
    fn scratch(&self) -> Vec<Scratch> {
        match self.reduce {
            Reduce::Max => vec![Scratch::per_sample("argmax", self.output().len())],
            Reduce::Average => Vec::new(),
        }
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        if self.reduce == Reduce::Average {
            return self.infer(site);
        }
        let private = private();
        let (window, x, output, argmax) =
            (self.window(), &site.inputs[0], site.output(), site.scratch("argmax"));
        let generics = self.generics();
        quote! {
            #private::pool::max_forward_train::<T, #generics>(
                #window, #x, &mut __workspace.#output, &mut __workspace.#argmax,
            );
        }
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let Some(grad_input) = &site.input_gradients[0] else {
            return TokenStream::new();
        };
        let private = private();
        let (window, gradient) = (self.window(), site.output_gradient());
        match self.reduce {
            Reduce::Max => {
                let argmax = site.scratch("argmax");
                quote! {
                    #private::pool::max_backward(
                        #window, &__workspace.#argmax, &__workspace.#gradient, &mut __workspace.#grad_input,
                    );
                }
            }
            Reduce::Average => quote! {
                #private::pool::average_backward(#window, &__workspace.#gradient, &mut __workspace.#grad_input);
            },
        }
    }
}

impl Layer for GlobalAverage {
    fn describe(&self) -> String {
        "global_avg_pool".to_owned()
    }

    fn output(&self) -> Shape {
        Shape::vector(self.channels)
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (plane, size, x) = (literal(self.plane), literal(self.channels), &site.inputs[0]);
        quote! {{
            let mut __a = #private::SVector::<T, #size>::zeros();
            #private::pool::global_average_forward(#plane, #x.as_slice(), __a.as_mut_slice());
            __a
        }}
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let (plane, x, output) = (literal(self.plane), &site.inputs[0], site.output());
        quote!(#private::pool::global_average_forward(#plane, #x, &mut __workspace.#output);)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        self.infer(site)
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let Some(grad_input) = &site.input_gradients[0] else {
            return TokenStream::new();
        };
        let private = private();
        let (plane, gradient) = (literal(self.plane), site.output_gradient());
        quote!(#private::pool::global_average_backward(#plane, &__workspace.#gradient, &mut __workspace.#grad_input);)
    }
}
