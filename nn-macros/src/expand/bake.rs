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
    let (float, decode) = match weights.float {
        Float::F32 => (quote!(f32), quote!(decode_f32)),
        Float::F64 => (quote!(f64), quote!(decode_f64)),
    };
    let path = weights.path.to_string_lossy().into_owned();
    let (parameters, buffers) = (literal(network.parameters), literal(network.buffers));
    let parameter_tensors = tensors(weights, false);
    let buffer_tensors = tensors(weights, true);
    let doc = format!(
        "The network with the weights of `{}`, baked in at compile time: `static` arrays in the binary's read-only data, so it runs with no heap, no file system and no initialisation. `{ident}::from_view({ident}::BAKED)` makes an owned copy to train on.",
        weights.path.file_name().map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned())
    );
    quote_spanned! {weights.span=>
        impl #ident<#float> {
            #[doc = #doc]
            pub const BAKED: #view<'static, #float> = {
                const FILE: &[u8] = ::core::include_bytes!(#path);
                static PARAMETERS: [#float; #parameters] =
                    #private::#decode::<#parameters>(FILE, &[#(#parameter_tensors),*]);
                static BUFFERS: [#float; #buffers] =
                    #private::#decode::<#buffers>(FILE, &[#(#buffer_tensors),*]);
                #view { parameters: &PARAMETERS, buffers: &BUFFERS, revision: #private::Revision::BAKED }
            };
        }
    }
}

/// The `nn::bake::Tensor` literals of the parameters (or of the state).
fn tensors(weights: &Weights, state: bool) -> Vec<TokenStream> {
    let private = private();
    let placed = weights.tensors.iter().filter(|t| t.state == state);
    placed
        .map(|&Placed { start, len, offset, dtype, .. }| {
            let stored = match dtype {
                safetensors::Dtype::F64 => quote!(F64),
                safetensors::Dtype::I64 => quote!(I64),
                _ => quote!(F32),
            };
            let (start, len, offset) = (literal(start), literal(len), literal(offset));
            quote!(#private::Tensor { start: #start, len: #len, offset: #offset, stored: #private::Stored::#stored })
        })
        .collect()
}
