//! `conv2d(C_IN -> C_OUT, kernel = K, stride = S, padding = P | same, dilation = D,
//! groups = G, bias = true, activation)`, `conv1d(…)` with the same options, and the
//! transposed forms `conv_transpose2d(…)` / `conv_transpose1d(…)` with `output_padding`:
//! PyTorch's `nn.Conv2d`, `nn.Conv1d`, `nn.ConvTranspose2d` and `nn.ConvTranspose1d`, then
//! an optional activation. `C_IN` may be left out (`conv2d(6, kernel = 5)`); sizes take one
//! value or a `(height, width)` pair. Parameters, in PyTorch's layouts: `weight`
//! `[C_OUT, C_IN/G, kh, kw]` (transposed: `[C_IN, C_OUT/G, kh, kw]`) and `bias` `[C_OUT]`.
//! The kernels are `nn::layer::conv`; every shape is computed here and written as literals.

use proc_macro2::TokenStream;
use quote::quote;

use super::activation::{self, Activation, Fused};
use super::spatial::{self, Arguments, Options, Value};
use super::{Built, Kind, Layer, Outcome, PreActivation, Scratch, Site, Tensor, literal, private};
use crate::check::{Context, Source};
use crate::model::Shape;
use crate::parse::Entry;

pub const KIND: Kind =
    Kind { names: || vec!["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"], build, block: false };

/// The sizes of a convolution (the runtime's `Geometry`, but for the layer as declared:
/// for a transposed one, `input` is what it reads).
#[derive(Clone, Copy)]
struct Sizes {
    channels: usize,
    filters: usize,
    groups: usize,
    input: [usize; 2],
    output: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
}

struct Conv {
    kind: String,
    transposed: bool,
    /// Spatial axes: 1 (`[C, L]`) or 2 (`[C, H, W]`).
    axes: usize,
    sizes: Sizes,
    bias: bool,
    activation: Fused,
    /// The options and activation as written, for the description.
    written: Vec<String>,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let kind = entry.kind.to_string();
    let (transposed, axes) = (kind.starts_with("conv_transpose"), if kind.ends_with("1d") { 1 } else { 2 });
    let Some(arguments) = spatial::parse(entry, context) else {
        return Outcome::Failed { output: None };
    };
    let Some(source) = context.source(entry) else {
        return Outcome::Failed { output: None };
    };
    let Some((channels, input)) = spatial::planes(context, entry, &source, axes) else {
        return Outcome::Failed { output: None };
    };
    let Some(filters) = filters(entry, &arguments, context, &source, channels) else {
        return Outcome::Failed { output: None };
    };
    let accepted: &[&str] = if transposed {
        &["kernel", "stride", "padding", "output_padding", "dilation", "groups", "bias"]
    } else {
        &["kernel", "stride", "padding", "dilation", "groups", "bias"]
    };
    let activation = match &arguments.activation {
        Some((name, numbers)) => activation::resolve(context.errors(), name, numbers),
        None => Some(Activation::IDENTITY),
    };
    let options = Options::check(context.errors(), &kind, &arguments.options, accepted);
    let (Some(options), Some(activation)) = (options, activation) else {
        return Outcome::Failed { output: None };
    };
    let Some((sizes, bias)) = resolve(entry, context, &options, (channels, filters, input), transposed)
    else {
        return Outcome::Failed { output: None };
    };
    let mut written: Vec<String> =
        arguments.options.iter().map(|(key, value)| format!("{key} = {}", value.text())).collect();
    written.extend(arguments.activation.as_ref().map(|_| activation.describe()));
    let width = sizes.filters * sizes.output[0] * sizes.output[1];
    let activation = Fused { activation, width };
    let layer = Conv { kind, transposed, axes, sizes, bias, activation, written };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: entry.kind.span() })
}

/// The output channels: `OUT` of `IN -> OUT` (with `IN` checked against the input) or of
/// `OUT`; `None` after reporting.
fn filters(
    entry: &Entry,
    arguments: &Arguments,
    context: &mut Context,
    source: &Source,
    channels: usize,
) -> Option<usize> {
    let kind = &entry.kind;
    let lead = match &arguments.lead {
        Some(Value::Sizes(sizes, _)) if sizes.len() == 1 => &sizes[0],
        _ => {
            let message = format!(
                "`{kind}` needs its channels first: `{kind}({channels} -> 8, kernel = 3)` or `{kind}(8, kernel = 3)`"
            );
            context.errors().at_span(spatial::arguments_span(entry), message);
            return None;
        }
    };
    let Some(outputs) = &arguments.outputs else {
        return context.size(lead, "a convolution's output");
    };
    let declared = context.size(lead, "a convolution's input")?;
    let filters = context.size(outputs, "a convolution's output")?;
    if declared != channels {
        let message = format!(
            "this layer takes {declared} input channel{}, but {}; write `{kind}({channels} -> {filters}, …)` or leave the input channels out: `{kind}({filters}, …)`",
            if declared == 1 { "" } else { "s" },
            source.produces()
        );
        context.errors().at(lead, message);
        return None;
    }
    Some(filters)
}

/// Resolves the options into sizes and computes the output; `None` after reporting.
fn resolve(
    entry: &Entry,
    context: &mut Context,
    options: &Options<'_>,
    (channels, filters, input): (usize, usize, Vec<usize>),
    transposed: bool,
) -> Option<(Sizes, bool)> {
    let axes = input.len();
    let errors = context.errors();
    let kind = entry.kind.to_string();
    let Some((_, kernel_value)) = options.get("kernel") else {
        let example = if axes == 1 { "kernel = 3" } else { "kernel = 3` or `kernel = (3, 5)" };
        errors
            .at_span(spatial::arguments_span(entry), format!("`{kind}` needs its kernel size: `{example}`"));
        return None;
    };
    let sizes = |name: &str, minimum: usize, errors: &mut crate::errors::Errors| match options.get(name) {
        Some((_, value)) => spatial::per_axis(errors, name, value, axes, minimum),
        None => Some(vec![usize::from(minimum != 0); axes]),
    };
    let kernel = spatial::per_axis(errors, "kernel", kernel_value, axes, 1);
    let stride = sizes("stride", 1, errors);
    let dilation = sizes("dilation", 1, errors);
    let output_padding = sizes("output_padding", 0, errors);
    let groups = groups(errors, options, channels, filters);
    let bias = flag(errors, options, "bias");
    let (kernel, stride, dilation, output_padding, groups, bias) =
        (kernel?, stride?, dilation?, output_padding?, groups?, bias?);
    let padding = padding(errors, options, &kernel, &dilation, &stride, transposed)?;
    let per_axis = PerAxis { kernel, stride, dilation, output_padding, padding };
    let output = output_sizes(errors, (&kind, kernel_value), options, &input, &per_axis, transposed)?;
    let plane =
        |values: &[usize], fill: usize| if axes == 1 { [fill, values[0]] } else { [values[0], values[1]] };
    let sizes = Sizes {
        channels,
        filters,
        groups,
        input: plane(&input, 1),
        output: plane(&output, 1),
        kernel: plane(&per_axis.kernel, 1),
        stride: plane(&per_axis.stride, 1),
        padding: plane(&per_axis.padding.before, 0),
        dilation: plane(&per_axis.dilation, 1),
    };
    let total =
        spatial::product(&[filters, output.iter().product(), channels, sizes.kernel[0], sizes.kernel[1]]);
    if total.is_none_or(|total| total > 1 << 34) {
        errors.at_span(kernel_value.span(), "this layer is too large to fit in memory");
        return None;
    }
    Some((sizes, bias))
}

/// The sizes given per spatial axis.
struct PerAxis {
    kernel: Vec<usize>,
    stride: Vec<usize>,
    dilation: Vec<usize>,
    output_padding: Vec<usize>,
    padding: Padding,
}

/// The output's size on every axis; `None` after reporting the axis where the window does
/// not fit (on the kernel) or the padding leaves nothing (on the padding).
fn output_sizes(
    errors: &mut crate::errors::Errors,
    (kind, kernel_value): (&str, &Value),
    options: &Options<'_>,
    input: &[usize],
    sizes: &PerAxis,
    transposed: bool,
) -> Option<Vec<usize>> {
    let mut output = Vec::new();
    for (axis, &size) in input.iter().enumerate() {
        let window = (sizes.kernel[axis], sizes.dilation[axis], sizes.stride[axis]);
        let size = if transposed {
            transposed_size(errors, options, size, &sizes.padding, window, sizes.output_padding[axis], axis)?
        } else {
            let name = spatial::axis_names(input.len())[axis];
            match spatial::slide(name, size, sizes.padding.total[axis], window) {
                Ok(size) => size,
                Err(reason) => {
                    errors.at_span(kernel_value.span(), format!("`{kind}`: {reason}"));
                    return None;
                }
            }
        };
        output.push(size);
    }
    Some(output)
}

/// `groups = G`: must divide both channel counts.
fn groups(
    errors: &mut crate::errors::Errors,
    options: &Options<'_>,
    channels: usize,
    filters: usize,
) -> Option<usize> {
    let Some((_, value)) = options.get("groups") else { return Some(1) };
    let groups = spatial::per_axis(errors, "groups", value, 1, 1)?[0];
    if !channels.is_multiple_of(groups) || !filters.is_multiple_of(groups) {
        let message = format!(
            "`groups = {groups}` must divide both the input channels ({channels}) and the output channels ({filters}); depthwise convolution is `groups = {channels}`"
        );
        errors.at_span(value.span(), message);
        return None;
    }
    Some(groups)
}

/// `name = true | false` (default true).
fn flag(errors: &mut crate::errors::Errors, options: &Options<'_>, name: &str) -> Option<bool> {
    match options.get(name) {
        None => Some(true),
        Some((_, Value::Word(word))) if word == "true" => Some(true),
        Some((_, Value::Word(word))) if word == "false" => Some(false),
        Some((_, value)) => {
            errors.at_span(value.span(), format!("`{name}` is `true` or `false`, found `{}`", value.text()));
            None
        }
    }
}

/// Padding per axis: zeros before (`before`) and in all (`total`).
struct Padding {
    before: Vec<usize>,
    total: Vec<usize>,
}

/// `padding = P`, `(P_h, P_w)` or `same` (stride 1 only, as PyTorch: the output keeps the
/// input's size, with the odd zero after when the kernel's span is even).
fn padding(
    errors: &mut crate::errors::Errors,
    options: &Options<'_>,
    kernel: &[usize],
    dilation: &[usize],
    stride: &[usize],
    transposed: bool,
) -> Option<Padding> {
    let axes = kernel.len();
    match options.get("padding") {
        None => Some(Padding { before: vec![0; axes], total: vec![0; axes] }),
        Some((_, Value::Word(word))) if word == "same" => {
            if transposed || stride.iter().any(|&s| s != 1) {
                let why = if transposed { "a transposed convolution" } else { "a strided convolution" };
                errors.at(word, format!("`padding = same` keeps the size only with stride 1, not in {why}; give the padding as a number"));
                return None;
            }
            let total: Vec<usize> = kernel.iter().zip(dilation).map(|(&k, &d)| d * (k - 1)).collect();
            Some(Padding { before: total.iter().map(|t| t / 2).collect(), total })
        }
        Some((_, value)) => {
            let before = spatial::per_axis(errors, "padding", value, axes, 0)?;
            Some(Padding { total: before.iter().map(|p| 2 * p).collect(), before })
        }
    }
}

/// A transposed convolution's output size on one axis:
/// `(size − 1)·s − 2·pad + d·(k − 1) + output_padding + 1`.
fn transposed_size(
    errors: &mut crate::errors::Errors,
    options: &Options<'_>,
    size: usize,
    padding: &Padding,
    (kernel, dilation, stride): (usize, usize, usize),
    output_padding: usize,
    axis: usize,
) -> Option<usize> {
    if output_padding >= stride.max(dilation) {
        if let Some((_, value)) = options.get("output_padding") {
            let message = format!(
                "`output_padding` must be smaller than the stride ({stride}) or the dilation ({dilation}), found {output_padding}"
            );
            errors.at_span(value.span(), message);
        }
        return None;
    }
    let full = (size - 1) * stride + dilation * (kernel - 1) + output_padding + 1;
    if full <= padding.total[axis] {
        if let Some((_, value)) = options.get("padding") {
            let message = format!(
                "the padding removes the whole output: ({size} − 1)·{stride} + {dilation}·({kernel} − 1) + {output_padding} + 1 = {full}, minus {} of padding, leaves nothing",
                padding.total[axis]
            );
            errors.at_span(value.span(), message);
        }
        return None;
    }
    Some(full - padding.total[axis])
}

impl Conv {
    /// The runtime's `Geometry`: a transposed layer's is that of the convolution whose input
    /// gradient it computes.
    fn geometry(&self) -> TokenStream {
        let private = private();
        let s = self.sizes;
        let (channels, filters, input, output) = if self.transposed {
            (s.filters, s.channels, s.output, s.input)
        } else {
            (s.channels, s.filters, s.input, s.output)
        };
        let pair = |[a, b]: [usize; 2]| {
            let (a, b) = (literal(a), literal(b));
            quote!([#a, #b])
        };
        let (channels, filters, groups) = (literal(channels), literal(filters), literal(s.groups));
        let (input, output, kernel) = (pair(input), pair(output), pair(s.kernel));
        let (stride, padding, dilation) = (pair(s.stride), pair(s.padding), pair(s.dilation));
        quote! {
            #private::conv::Geometry {
                channels: #channels, filters: #filters, groups: #groups, input: #input, output: #output,
                kernel: #kernel, stride: #stride, padding: #padding, dilation: #dilation,
            }
        }
    }

    /// The workspace scratch a batch of `batch` samples (a variable in scope) needs, as the
    /// runtime computes it from the geometry (a `const fn`).
    fn scratch_len(&self, batch: &TokenStream) -> TokenStream {
        let geometry = self.geometry();
        quote!((#geometry).scratch_len(#batch))
    }

    fn columns_field(site: &Site) -> TokenStream {
        let columns = site.scratch("columns");
        quote!(&mut __workspace.#columns)
    }

    /// `(weight, Some(bias))` or `(weight, None)`.
    fn parameters_expression(&self, site: &Site) -> TokenStream {
        let weight = site.parameter("weight");
        if self.bias {
            let bias = site.parameter("bias");
            quote!((#weight, ::core::option::Option::Some(#bias)))
        } else {
            quote!((#weight, ::core::option::Option::None))
        }
    }

    fn forward_function(&self) -> TokenStream {
        if self.transposed { quote!(transposed_forward) } else { quote!(forward) }
    }
}

impl Layer for Conv {
    /// `2·(C_in/groups)·k` per output value, over every output position; a transposed one
    /// `2·(C_out/groups)·k` per input value, over every input position.
    fn flops(&self) -> usize {
        let s = self.sizes;
        let kernel = s.kernel[0].saturating_mul(s.kernel[1]);
        let (positions, per_position) = if self.transposed {
            (s.input[0] * s.input[1] * s.channels, s.filters / s.groups)
        } else {
            (s.output[0] * s.output[1] * s.filters, s.channels / s.groups)
        };
        2usize.saturating_mul(positions).saturating_mul(per_position).saturating_mul(kernel)
    }

    fn describe(&self) -> String {
        let s = self.sizes;
        let (inputs, outputs) = (s.channels, s.filters);
        let parts: Vec<String> =
            std::iter::once(format!("{inputs} -> {outputs}")).chain(self.written.clone()).collect();
        format!("{}({})", self.kind, parts.join(", "))
    }

    fn output(&self) -> Shape {
        let s = self.sizes;
        if self.axes == 1 {
            Shape(vec![s.filters, s.output[1]])
        } else {
            Shape(vec![s.filters, s.output[0], s.output[1]])
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        let s = self.sizes;
        let (first, second) = if self.transposed {
            (s.channels, s.filters / s.groups)
        } else {
            (s.filters, s.channels / s.groups)
        };
        let kernel = if self.axes == 1 { vec![s.kernel[1]] } else { s.kernel.to_vec() };
        let mut tensors = vec![Tensor { name: "weight", shape: [vec![first, second], kernel].concat() }];
        if self.bias {
            tensors.push(Tensor { name: "bias", shape: vec![s.filters] });
        }
        tensors
    }

    fn scratch(&self) -> Vec<Scratch> {
        let mut scratch = vec![Scratch::computed("columns", self.scratch_len(&quote!(batch)))];
        scratch.extend(self.activation.scratch());
        scratch
    }

    fn pre_activation(&self) -> PreActivation {
        self.activation.pre_activation()
    }

    fn initialise(&self, site: &Site) -> TokenStream {
        let private = private();
        let s = self.sizes;
        // PyTorch's default: weight and bias ~ U(−1/√fan_in, 1/√fan_in), fan_in = weight[0].numel().
        let second = if self.transposed { s.filters / s.groups } else { s.channels / s.groups };
        let fan_in = literal(second * s.kernel[0] * s.kernel[1]);
        let weight = site.tensor("weight");
        let bias = if self.bias {
            let bias = site.tensor("bias");
            quote!(#bias)
        } else {
            quote!(&mut [])
        };
        quote!(#private::Init::TorchLinear.fill_dense(#weight, #bias, #fan_in, 0, __rng);)
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let (geometry, parameters, function) =
            (self.geometry(), self.parameters_expression(site), self.forward_function());
        let (size, columns, x) =
            (literal(self.activation.width), self.scratch_len(&quote!(1)), &site.inputs[0]);
        let kind = &self.kind;
        self.activation.one(quote! {{
            #private::requires_std!(#kind);
            let mut __z = #private::SVector::<T, #size>::zeros();
            <T as #private::Real>::with_scratch(#columns, |__columns| {
                #private::conv::#function(&#geometry, #parameters, #x.as_slice(), __z.as_mut_slice(), __columns);
            });
            __z
        }})
    }

    fn infer(&self, site: &Site) -> TokenStream {
        let private = private();
        let (geometry, parameters, function) =
            (self.geometry(), self.parameters_expression(site), self.forward_function());
        let (x, output, columns) = (&site.inputs[0], site.output(), Self::columns_field(site));
        let activate = self.activation.in_place(site);
        quote! {
            #private::conv::#function(&#geometry, #parameters, #x, &mut __workspace.#output, #columns);
            #activate
        }
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        let private = private();
        let (geometry, parameters, function) =
            (self.geometry(), self.parameters_expression(site), self.forward_function());
        let (x, z, columns) = (&site.inputs[0], self.activation.z(site), Self::columns_field(site));
        let activate = self.activation.forward(site);
        quote! {
            #private::conv::#function(&#geometry, #parameters, #x, &mut __workspace.#z, #columns);
            #activate
        }
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let geometry = self.geometry();
        let (weight, x, gradient) = (site.parameter("weight"), &site.inputs[0], site.output_gradient());
        let grad_weight = site.gradient("weight");
        let grad_bias = if self.bias {
            let grad_bias = site.gradient("bias");
            quote!(::core::option::Option::Some(#grad_bias))
        } else {
            quote!(::core::option::Option::None)
        };
        let (grad_input, columns) = (site.input_gradient_option(0), Self::columns_field(site));
        let through_activation = self.activation.backward(site);
        let function = if self.transposed { quote!(transposed_backward) } else { quote!(backward) };
        quote! {
            #through_activation
            #private::conv::#function(
                &#geometry, #weight, #x, &__workspace.#gradient, (#grad_weight, #grad_bias), #grad_input, #columns,
            );
        }
    }
}
