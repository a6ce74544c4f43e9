//! The `network!` procedural macro of [nn](https://docs.rs/nn). Use it through the `nn`
//! crate, which re-exports it with the runtime the generated code needs.
//!
//! The pipeline is three stages, each its own module:
//!
//! 1. [`parse`]: tokens → a syntax tree that keeps the user's tokens (for error spans);
//! 2. [`check`]: syntax tree → a typed, shape-resolved [`model`] of the network, or every
//!    mistake in the declaration at once;
//! 3. [`expand`]: model → Rust code.
//!
//! On any mistake the macro emits the errors plus a [`fallback`] stub of the struct, so one
//! mistake yields its own error and not a cascade of "cannot find type".

#![forbid(unsafe_code)]

mod catalog;
mod check;
mod errors;
mod expand;
mod fallback;
mod model;
mod parse;
mod suggest;

use proc_macro::TokenStream;

/// Declares a neural network and generates its statically typed, specialised code.
///
/// See the `nn` crate's documentation for the declaration syntax and what is generated.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let declaration = syn::parse_macro_input!(input as parse::Declaration);
    match check::check(&declaration) {
        Ok(network) => expand::expand(&network),
        Err(errors) => fallback::stub(&declaration, &errors),
    }
    .into()
}
