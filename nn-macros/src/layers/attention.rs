//! `self_attention(heads = h)`, `self_attention(E, heads = h, causal)`: PyTorch's
//! `nn.MultiheadAttention(E, h, batch_first=True)` called as `mha(x, x, x)` on a sequence
//! `[T, E]`, giving `[T, E]`; `causal` masks every key after its query. `E` may be left out
//! and is checked against the input when written; `h` must divide it. Parameters, PyTorch's
//! names and layouts: `in_proj_weight` `[3E, E]` (Xavier-uniform), `in_proj_bias` `[3E]`
//! (0), `out_proj.weight` `[E, E]` (`U(−1/√E, 1/√E)`), `out_proj.bias` `[E]` (0).

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use syn::parse::ParseStream;
use syn::{Ident, LitInt, Token};

use super::{Built, Kind, Layer, Outcome, Scratch, Site, Tensor, literal, private};
use crate::check::Context;
use crate::model::Shape;
use crate::parse::Entry;
use crate::suggest;

pub const KIND: Kind = Kind { names: || vec!["self_attention"], build, block: false };

/// What `self_attention(…)` says, as written.
struct Arguments {
    embed: Option<LitInt>,
    heads: Option<(Ident, LitInt)>,
    words: Vec<Ident>,
}

struct SelfAttention {
    steps: usize,
    embed: usize,
    heads: usize,
    causal: bool,
}

fn build(entry: &Entry, context: &mut Context) -> Outcome {
    let failed = Outcome::Failed { output: None };
    let arguments = match entry.parse_arguments(parse) {
        Some(Ok(arguments)) => arguments,
        Some(Err(error)) => {
            context.errors().push(error);
            return failed;
        }
        None => {
            context.errors().at(&entry.kind, "`self_attention` needs its heads: `self_attention(heads = 4)`");
            return failed;
        }
    };
    let causal = causal(context, &arguments.words);
    let Some(source) = context.source(entry) else {
        return failed;
    };
    let &[steps, embed] = source.shape.0.as_slice() else {
        let message = format!(
            "`self_attention` reads a sequence `[T, E]`, but {}; begin the network with `input(T, E)`",
            source.produces()
        );
        context.errors().at(&entry.kind, message);
        return failed;
    };
    if let Some(written) = &arguments.embed
        && context.size(written, "self_attention").is_some_and(|size| size != embed)
    {
        let message = format!(
            "this layer attends over {} features, but {}; write `self_attention({embed}, …)` or leave the size out",
            written.base10_digits(),
            source.produces()
        );
        context.errors().at(written, message);
        return failed;
    }
    let Some(heads) = heads(context, entry, arguments.heads.as_ref(), embed) else {
        return failed;
    };
    let Some(causal) = causal else {
        return failed;
    };
    let layer = SelfAttention { steps, embed, heads, causal };
    Outcome::Layer(Built { layer: Box::new(layer), inputs: vec![source.value], span: entry.kind.span() })
}

fn parse(content: ParseStream) -> syn::Result<Arguments> {
    let mut arguments = Arguments { embed: None, heads: None, words: Vec::new() };
    if content.peek(LitInt) {
        arguments.embed = Some(content.parse()?);
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    while !content.is_empty() {
        let name: Ident =
            content.parse().map_err(|e| syn::Error::new(e.span(), "expected `heads = h` or `causal`"))?;
        if content.peek(Token![=]) {
            content.parse::<Token![=]>()?;
            let value: LitInt = content
                .parse()
                .map_err(|e| syn::Error::new(e.span(), format!("expected a whole number: `{name} = 4`")))?;
            if name != "heads" {
                let hint = suggest::hint(&name.to_string(), ["heads"]);
                return Err(syn::Error::new(
                    name.span(),
                    format!("unknown option `{name}` for `self_attention`; {hint}"),
                ));
            }
            if arguments.heads.is_some() {
                return Err(syn::Error::new(name.span(), "`heads` is given twice"));
            }
            arguments.heads = Some((name, value));
        } else {
            arguments.words.push(name);
        }
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok(arguments)
}

/// Whether the words ask for the causal mask; `None` after reporting another word.
fn causal(context: &mut Context, words: &[Ident]) -> Option<bool> {
    let mut valid = true;
    for (index, word) in words.iter().enumerate() {
        if word != "causal" {
            let hint = suggest::hint(&word.to_string(), ["causal", "heads"]);
            context.errors().at(word, format!("unknown option `{word}` for `self_attention`; {hint}"));
            valid = false;
        } else if index > 0 && words[..index].iter().any(|w| w == "causal") {
            context.errors().at(word, "`causal` is given twice");
            valid = false;
        }
    }
    valid.then_some(!words.is_empty())
}

/// The number of heads, which must divide `E`; `None` after reporting it.
fn heads(
    context: &mut Context,
    entry: &Entry,
    heads: Option<&(Ident, LitInt)>,
    embed: usize,
) -> Option<usize> {
    let Some((_, written)) = heads else {
        let message = format!(
            "`self_attention` needs its number of heads, a divisor of its {embed} features: `self_attention(heads = 4)`"
        );
        context.errors().at(&entry.kind, message);
        return None;
    };
    let heads = context.size(written, "self_attention's heads")?;
    if heads == 0 || !embed.is_multiple_of(heads) {
        let divisors: Vec<String> =
            (1..=embed).filter(|h| embed.is_multiple_of(*h)).map(|h| h.to_string()).collect();
        let message = format!(
            "{heads} heads cannot split {embed} features evenly; the heads must divide {embed}: {}",
            divisors.join(", ")
        );
        context.errors().at(written, message);
        return None;
    }
    Some(heads)
}

impl SelfAttention {
    /// `Attention { … }` as a literal.
    fn shape(&self) -> TokenStream {
        let private = private();
        let (steps, embed, heads, causal) =
            (literal(self.steps), literal(self.embed), literal(self.heads), self.causal);
        quote!(#private::attention::Attention { steps: #steps, embed: #embed, heads: #heads, causal: #causal })
    }

    fn weights(site: &Site) -> TokenStream {
        let private = private();
        let (input, input_bias) = (site.parameter("in_proj_weight"), site.parameter("in_proj_bias"));
        let (output, output_bias) = (site.parameter("out_proj.weight"), site.parameter("out_proj.bias"));
        quote! {
            #private::attention::Weights { input: #input, input_bias: #input_bias, output: #output, output_bias: #output_bias }
        }
    }
}

impl SelfAttention {
    /// Multiply-adds of one sample: the projections (`3·T·E²` in, `T·E²` out) and the
    /// products between steps (`T²·E` for the scores, as many for the context).
    fn products(&self) -> (usize, usize, usize) {
        let (t, e) = (self.steps, self.embed);
        let square = t.saturating_mul(e).saturating_mul(e);
        (square.saturating_mul(3), square, t.saturating_mul(t).saturating_mul(e).saturating_mul(2))
    }
}

impl Layer for SelfAttention {
    /// `2·(4·T·E² + 2·T²·E)`: masked scores are computed all the same.
    fn flops(&self) -> usize {
        let (projection, out, between) = self.products();
        2usize.saturating_mul(projection.saturating_add(out).saturating_add(between))
    }

    /// The products between steps twice (both operands need gradients), the output
    /// projection twice, the input projection once more for the input's gradient when it
    /// needs one.
    fn backward_flops(&self, input_gradient: bool) -> usize {
        let (projection, out, between) = self.products();
        let twice = out.saturating_add(between).saturating_mul(2);
        2usize
            .saturating_mul(projection.saturating_mul(1 + usize::from(input_gradient)).saturating_add(twice))
    }

    fn describe(&self) -> String {
        let causal = if self.causal { ", causal" } else { "" };
        format!("self_attention({}, heads = {}{causal})", self.embed, self.heads)
    }

    fn output(&self) -> Shape {
        Shape(vec![self.steps, self.embed])
    }

    fn parameters(&self) -> Vec<Tensor> {
        let embed = self.embed;
        // Saturating: a mutated declaration can ask for sizes whose products overflow; the
        // size checks downstream reject them with an error on the user's tokens.
        let three = embed.saturating_mul(3);
        vec![
            Tensor { name: "in_proj_weight", shape: vec![three, embed] },
            Tensor { name: "in_proj_bias", shape: vec![three] },
            Tensor { name: "out_proj.weight", shape: vec![embed, embed] },
            Tensor { name: "out_proj.bias", shape: vec![embed] },
        ]
    }

    fn scratch(&self) -> Vec<Scratch> {
        // Saturating, as in `parameters`.
        let (steps, embed) = (self.steps, self.embed);
        let sequence = steps.saturating_mul(embed);
        let squares = steps.saturating_mul(steps);
        vec![
            Scratch::per_sample("qkv", sequence.saturating_mul(3)),
            Scratch::per_sample("weights", squares.saturating_mul(self.heads)),
            Scratch::per_sample("context", sequence),
            Scratch::per_sample("dqkv", sequence.saturating_mul(3)),
            Scratch::per_sample("dcontext", sequence),
            Scratch::fixed("dscores", squares),
        ]
    }

    fn initialise(&self, site: &Site) -> TokenStream {
        let private = private();
        let (input, input_bias) = (site.tensor("in_proj_weight"), site.tensor("in_proj_bias"));
        let (output, output_bias) = (site.tensor("out_proj.weight"), site.tensor("out_proj.bias"));
        // Xavier-uniform over [3E, E]; the output projection as a `Linear(E, E)`'s weight.
        let xavier = Literal::f64_suffixed((6.0 / (4 * self.embed) as f64).sqrt());
        let linear = Literal::f64_suffixed(1.0 / (self.embed as f64).sqrt());
        quote! {
            #private::fill_uniform(#input, #xavier, __rng);
            #input_bias.fill(T::zero());
            #private::fill_uniform(#output, #linear, __rng);
            #output_bias.fill(T::zero());
        }
    }

    fn forward_one(&self, site: &Site) -> TokenStream {
        let private = private();
        let size = literal(self.steps * self.embed);
        let (qkv, attention) =
            (literal(3 * self.steps * self.embed), literal(self.heads * self.steps * self.steps));
        let (shape, weights, x) = (self.shape(), Self::weights(site), &site.inputs[0]);
        quote! {{
            #private::requires_std!("self_attention");
            #private::attention::forward_one::<T, #size, #qkv, #attention>(#shape, #weights, #x)
        }}
    }

    fn infer(&self, site: &Site) -> TokenStream {
        self.forward_train(site)
    }

    fn forward_train(&self, site: &Site) -> TokenStream {
        let private = private();
        let (shape, weights, x, output) = (self.shape(), Self::weights(site), &site.inputs[0], site.output());
        let (qkv, attention, context) =
            (site.scratch("qkv"), site.scratch("weights"), site.scratch("context"));
        quote! {
            #private::attention::forward(
                #shape, #weights, #x,
                #private::attention::Kept { qkv: &mut __workspace.#qkv, weights: &mut __workspace.#attention, context: &mut __workspace.#context },
                &mut __workspace.#output,
            );
        }
    }

    fn backward(&self, site: &Site) -> TokenStream {
        let private = private();
        let (shape, weights, x, gradient) =
            (self.shape(), Self::weights(site), &site.inputs[0], site.output_gradient());
        let (qkv, attention, context) =
            (site.scratch("qkv"), site.scratch("weights"), site.scratch("context"));
        let (dqkv, dcontext, dscores) =
            (site.scratch("dqkv"), site.scratch("dcontext"), site.scratch("dscores"));
        let (input, input_bias) = (site.gradient("in_proj_weight"), site.gradient("in_proj_bias"));
        let (output, output_bias) = (site.gradient("out_proj.weight"), site.gradient("out_proj.bias"));
        let grad_input = match &site.input_gradients[0] {
            Some(field) => quote!(::core::option::Option::Some(&mut __workspace.#field[..])),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            #private::attention::backward(
                #shape, #weights, #x,
                &#private::attention::Kept { qkv: &__workspace.#qkv, weights: &__workspace.#attention, context: &__workspace.#context },
                &__workspace.#gradient,
                #private::attention::Work { qkv: &mut __workspace.#dqkv, context: &mut __workspace.#dcontext, scores: &mut __workspace.#dscores },
                #private::attention::Gradients { input: #input, input_bias: #input_bias, output: #output, output_bias: #output_bias },
                #grad_input,
            );
        }
    }
}
