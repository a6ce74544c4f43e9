//! What a failed expansion emits besides its errors: a stub of the declared struct, so that
//! code using the network reports the declaration's mistakes, not "cannot find type".

use proc_macro2::TokenStream;
use quote::quote;

use crate::parse::Declaration;

/// The errors plus `struct Name<T = f32>(PhantomData<T>);`.
pub fn stub(declaration: &Declaration, errors: &syn::Error) -> TokenStream {
    let Declaration { vis, ident, .. } = declaration;
    let errors = errors.to_compile_error();
    quote! {
        #errors
        #[allow(dead_code)]
        #vis struct #ident<T = f32>(::core::marker::PhantomData<T>);
    }
}
