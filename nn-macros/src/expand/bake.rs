//! A baked network (`#[weights = "…"]`): its weights as `static` arrays decoded from the
//! file at compile time (`nn::bake`), and the constant view `Net::<f32>::BAKED` over them.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::inference::view_ident;
use super::{literal, private};
use crate::bake::{Float, Placed, Weights};
use crate::model::Network;

/// `impl Net<f32> { pub const BAKED: NetView<'static, f32> = … }`, or nothing.
pub(super) fn bake(network: &Network) -> TokenStream {
    let Some(weights) = &network.weights else {
        return TokenStream::new();
    };
    let private = private();
    let (ident, view) = (&network.ident, view_ident(network));
    let float = match weights.float {
        Float::F32 => quote!(f32),
        Float::F64 => quote!(f64),
    };
    let path = weights.path.to_string_lossy().into_owned();
    let (parameters, buffers) = (literal(network.parameters), literal(network.buffers));
    let parameter_fills = filled(weights, false, &parameters);
    let buffer_fills = filled(weights, true, &buffers);
    let doc = format!(
        "The network with the weights of `{}`, baked in at compile time: `static` arrays in the binary's read-only data, so it runs with no heap, no file system and no initialisation. `{ident}::from_view({ident}::BAKED)` makes an owned copy to train on.",
        weights.path.file_name().map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned())
    );
    quote_spanned! {weights.span=>
        impl #ident<#float> {
            #[doc = #doc]
            pub const BAKED: #view<'static, #float> = {
                const FILE: &[u8] = ::core::include_bytes!(#path);
                static PARAMETERS: [#float; #parameters] = #parameter_fills;
                static BUFFERS: [#float; #buffers] = #buffer_fills;
                #view { parameters: &PARAMETERS, buffers: &BUFFERS, revision: #private::Revision::BAKED }
            };
        }
    }
}

/// The initialiser of the parameters' (or the state's) static array: zeros written over
/// by every tensor.
fn filled(weights: &Weights, state: bool, len: &proc_macro2::Literal) -> TokenStream {
    let fills = fills(weights, state);
    if fills.is_empty() {
        return quote!([0.0; #len]);
    }
    quote! {{
        let mut buffer = [0.0; #len];
        #(#fills)*
        buffer
    }}
}

/// The statements writing the parameters' (or the state's) tensors into `buffer`: a tensor
/// stored in the network's float type whole (`place_f32`), any other converted value by
/// value (`convert_f32`), as `nn::io::load` converts it.
fn fills(weights: &Weights, state: bool) -> Vec<TokenStream> {
    let private = private();
    let (place, convert, native) = match weights.float {
        Float::F32 => (quote!(place_f32), quote!(convert_f32), safetensors::Dtype::F32),
        Float::F64 => (quote!(place_f64), quote!(convert_f64), safetensors::Dtype::F64),
    };
    let placed = weights.tensors.iter().filter(|t| t.state == state);
    placed
        .map(|&Placed { start, len, offset, dtype, .. }| {
            let bytes = literal(len * dtype.bitsize() / 8);
            let (start, len, offset) = (literal(start), literal(len), literal(offset));
            if dtype == native {
                return quote!(#private::#place::<#len, #bytes>(&mut buffer, #offset, FILE, #start););
            }
            let stored = match dtype {
                safetensors::Dtype::F64 => quote!(F64),
                safetensors::Dtype::I64 => quote!(I64),
                _ => quote!(F32),
            };
            quote! {
                #private::#convert(
                    &mut buffer,
                    FILE,
                    &#private::Tensor { start: #start, len: #len, offset: #offset, stored: #private::Stored::#stored },
                );
            }
        })
        .collect()
}
