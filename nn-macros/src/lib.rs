//! The `network!` procedural macro of [nn](https://docs.rs/nn). Use it through the `nn`
//! crate, which re-exports it with the runtime the generated code needs.
//!
//! The pipeline is three stages, each its own module:
//!
//! 1. `parse`: tokens → a syntax tree that keeps the user's tokens (for error spans);
//! 2. `check`: syntax tree → a typed, shape-resolved `model` of the network, or every
//!    mistake in the declaration at once;
//! 3. `expand`: model → Rust code.
//!
//! On any mistake the macro emits the errors plus a `fallback` stub of the struct, so one
//! mistake yields its own error and not a cascade of "cannot find type".

#![forbid(unsafe_code)]

mod bake;
mod catalog;
mod check;
mod errors;
mod expand;
mod fallback;
mod layers;
mod model;
mod parse;
mod suggest;

use proc_macro::TokenStream;

/// Declares a neural network and generates its statically typed, specialised code.
///
/// See the `nn` crate's documentation for the declaration syntax and what is generated.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    network_tokens(input.into()).into()
}

/// The whole pipeline on `proc_macro2` tokens, so it can be tested outside a compiler.
fn network_tokens(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let declaration = match syn::parse2::<parse::Declaration>(input) {
        Ok(declaration) => declaration,
        Err(error) => return error.to_compile_error(),
    };
    match check::check(&declaration) {
        Ok(network) => expand::expand(&network),
        Err(errors) => fallback::stub(&declaration, &errors),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::network_tokens;

    /// Fragments a declaration is made of, right and wrong (delimiters are added by the
    /// strategy, balanced, so every case lexes).
    const FRAGMENTS: &[&str] = &[
        "dense",
        "dropout",
        "input",
        "residual",
        "add",
        "concat",
        "<-",
        "relu",
        "sigmoid",
        "tanh",
        "identity",
        "sigmod",
        "hidden",
        "out",
        "layer0",
        "forward",
        "init",
        "he_uniform",
        "xavier",
        "2",
        "3",
        "0",
        "-1",
        "1.5",
        "0.5",
        "->",
        "-",
        ">",
        ",",
        ":",
        "::",
        "=",
        "pub",
        "struct",
        "Net",
        "<",
        "T",
        "#",
        "18446744073709551616",
        "4294967296",
        "1e400",
        "_",
    ];

    /// One layer-ish entry: a run of fragments, maybe followed by a parenthesised run and a
    /// braced run.
    fn entry() -> impl Strategy<Value = String> {
        let run =
            || proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..5).prop_map(|f| f.join(" "));
        (run(), proptest::option::of(run()), proptest::option::of(run())).prop_map(
            |(head, arguments, block)| {
                let arguments = arguments.map_or_else(String::new, |a| format!("({a})"));
                let block = block.map_or_else(String::new, |b| format!("{{ {b} }}"));
                format!("{head}{arguments}{block}")
            },
        )
    }

    fn layer_list() -> impl Strategy<Value = String> {
        proptest::collection::vec(entry(), 0..6).prop_map(|entries| entries.join(", "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Any layer list: an error or code, never a panic.
        #[test]
        fn never_panics_on_any_layer_list(body in layer_list()) {
            let input: proc_macro2::TokenStream = format!("pub struct Net {{ {body} }}").parse().unwrap();
            let output = network_tokens(input);
            prop_assert!(!output.is_empty());
        }

        /// Any header and body: an error or code, never a panic.
        #[test]
        fn never_panics_on_any_input(head in entry(), body in layer_list()) {
            let input: proc_macro2::TokenStream = format!("{head} {{ {body} }}").parse().unwrap();
            let output = network_tokens(input);
            prop_assert!(!output.is_empty());
        }
    }

    /// What `network!` writes for the README's network, pretty-printed, is committed in
    /// `nn-macros/expanded/xor.rs` for readers; this test keeps it current. After a deliberate
    /// change to the generated code, run with `UPDATE_EXPANDED=1` and review the diff.
    #[test]
    fn expansion_of_the_readme_network_matches_the_committed_one() {
        let declaration = "/// Learns XOR.\npub struct Xor { hidden: dense(2 -> 3, sigmoid), dropout(0.5), out: dense(3 -> 1, relu) }";
        let expanded = network_tokens(declaration.parse().unwrap());
        let file: syn::File = syn::parse2(expanded).expect("the expansion is valid Rust");
        let header = "// What `nn::network! { /// Learns XOR.\n// pub struct Xor { hidden: dense(2 -> 3, sigmoid), dropout(0.5), out: dense(3 -> 1, relu) } }`\n// expands to, pretty-printed. Generated by a test in `nn-macros/src/lib.rs`; not compiled.\n\n";
        let text = format!("{header}{}", prettyplease::unparse(&file));
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("expanded/xor.rs");
        if std::env::var_os("UPDATE_EXPANDED").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == text, "the expansion changed: rerun with UPDATE_EXPANDED=1 and review the diff");
    }

    #[test]
    fn a_valid_declaration_expands_and_an_invalid_one_reports() {
        let ok = network_tokens(
            "struct Xor { dense(2 -> 3, sigmoid), dropout(0.5), dense(3 -> 1, relu) }".parse().unwrap(),
        );
        assert!(ok.to_string().contains("impl < T : :: nn :: __private :: Real >"));
        let error = network_tokens("struct Xor { dense(2 -> 3, sigmod) }".parse().unwrap());
        assert!(error.to_string().contains("compile_error"));
        let huge = "struct Huge { dense(4294967296 -> 4294967296), dense(4294967296) }";
        assert!(network_tokens(huge.parse().unwrap()).to_string().contains("larger than"));
    }
}
