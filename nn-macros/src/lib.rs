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

    /// Valid declarations that together use every layer kind and most options; the
    /// mutation test below breaks them token by token.
    const VALID: &[&str] = &[
        "pub struct Xor { hidden: dense(2 -> 3, sigmoid), dropout(0.5), out: dense(3 -> 1, relu) }",
        "struct Mlp { input(8), dense(16, leaky_relu(0.2), init = he_uniform), batch_norm, tanh, layer_norm(16, gelu), dense(4), softmax }",
        "struct Spectral { dense(4 -> 4, relu, norm = spectral(2)), dense(2, init = constant(0.1)) }",
        "struct Graph { input(8), a: dense(8, relu), b: dense(8, tanh) <- input, sum: add(a, b), residual { layer_norm, dense(8, relu) }, both: concat(sum, a), dense(3) }",
        "struct Words { input(6), embedding(100 -> 8), positional, self_attention(heads = 2, causal), mean_over_steps, dense(2) }",
        "struct Cnn { input(1, 8, 8), conv2d(4, kernel = 3, padding = same, relu), max_pool2d(2), conv2d(4 -> 8, kernel = (3, 1), stride = 1, groups = 4), global_avg_pool, dense(10) }",
        "struct Decoder { input(4, 4, 4), conv_transpose2d(4 -> 2, kernel = 2, stride = 2, output_padding = 0), upsample(2), avg_pool2d(2, stride = 2, padding = 0), flatten, dense(3) }",
        "struct Signal { input(2, 16), conv1d(4, kernel = 3, dilation = 2, bias = false), max_pool1d(2), avg_pool1d(2), conv_transpose1d(2, kernel = 2), flatten, dense(1) }",
        "struct Sequence { input(5, 3), gru(3 -> 6, bidirectional), lstm(4, last), dense(2) }",
        "struct Stream { input(7, 2), rnn(2 -> 4, relu), sinusoidal, last_step, dense(1, sigmoid) }",
        "struct Encoder { input(4, 8), residual { layer_norm, self_attention(8, heads = 4) }, residual { layer_norm, dense(16, gelu), dense(8) }, mean_over_steps, dense(2) }",
    ];

    /// What a token may be replaced by: sizes that are huge, zero, negative or fractional,
    /// kinds and words from elsewhere, and names the generated code uses itself.
    const REPLACEMENTS: &[&str] = &[
        "0",
        "1",
        "-1",
        "2.5",
        "1e400",
        "18446744073709551616",
        "4294967296",
        "340282366920938463463374607431768211455",
        "0.0",
        "-0.5",
        "dense",
        "input",
        "conv2d",
        "gru",
        "residual",
        "relu",
        "heads",
        "kernel",
        "causal",
        "last",
        "self",
        "Self",
        "T",
        "__x0",
        "__workspace",
        "__rng",
        "__state",
        "__derived",
        "input",
        "parameters",
        "Xor",
        "XorView",
        "XorWorkspace",
        "Xor",
        "layer0",
        "_",
        "->",
        "<-",
        ",",
        ":",
        "=",
        "#",
        "::",
        "'a",
        "\"text\"",
    ];

    /// A declaration as its tokens, with every group opened and closed as tokens of its own.
    fn flatten(stream: proc_macro2::TokenStream, into: &mut Vec<String>) {
        for tree in stream {
            match tree {
                proc_macro2::TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                        proc_macro2::Delimiter::Brace => ("{", "}"),
                        proc_macro2::Delimiter::Bracket => ("[", "]"),
                        proc_macro2::Delimiter::None => ("", ""),
                    };
                    into.push(open.to_owned());
                    flatten(group.stream(), into);
                    into.push(close.to_owned());
                }
                other => into.push(other.to_string()),
            }
        }
    }

    /// One edit of a token list. Delimiters are only ever swapped for delimiters of their
    /// kind's partner list, so most mutants still lex.
    #[derive(Clone, Debug)]
    enum Mutation {
        Drop(usize),
        Duplicate(usize),
        Swap(usize, usize),
        Replace(usize, usize),
    }

    fn mutate(tokens: &mut Vec<String>, mutation: &Mutation) {
        let len = tokens.len();
        let delimiter = |token: &str| matches!(token, "(" | ")" | "{" | "}" | "[" | "]");
        match *mutation {
            Mutation::Drop(at) if !delimiter(&tokens[at % len]) => {
                tokens.remove(at % len);
            }
            Mutation::Duplicate(at) if !delimiter(&tokens[at % len]) => {
                let token = tokens[at % len].clone();
                tokens.insert(at % len, token);
            }
            Mutation::Swap(a, b) if !delimiter(&tokens[a % len]) && !delimiter(&tokens[b % len]) => {
                tokens.swap(a % len, b % len);
            }
            Mutation::Replace(at, with) if !delimiter(&tokens[at % len]) => {
                tokens[at % len] = REPLACEMENTS[with % REPLACEMENTS.len()].to_owned();
            }
            _ => {}
        }
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            any::<usize>().prop_map(Mutation::Drop),
            any::<usize>().prop_map(Mutation::Duplicate),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Replace(a, b)),
        ]
    }

    /// Cases of the mutation test: 10 000 in `cargo test`; more with
    /// `NN_MACRO_MUTATIONS=1000000 cargo test --release -p nn-macros mutated`.
    fn mutation_cases() -> u32 {
        std::env::var("NN_MACRO_MUTATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000)
    }

    /// Every `compile_error!` in an expansion sits on tokens of the declaration (a span of
    /// non-zero width), never on the macro call as a whole (the empty call-site span).
    fn errors_are_spanned(output: &proc_macro2::TokenStream) -> bool {
        output.clone().into_iter().all(|tree| match tree {
            proc_macro2::TokenTree::Ident(ident) => {
                ident != "compile_error" || ident.span().start() != ident.span().end()
            }
            proc_macro2::TokenTree::Group(group) => errors_are_spanned(&group.stream()),
            _ => true,
        })
    }

    #[test]
    fn the_span_check_tells_a_call_site_error_from_a_spanned_one() {
        let call_site = syn::Error::new(proc_macro2::Span::call_site(), "everywhere").to_compile_error();
        assert!(!errors_are_spanned(&call_site));
        let declaration: proc_macro2::TokenStream = "struct Xor { dense(2 -> 3, sigmod) }".parse().unwrap();
        assert!(errors_are_spanned(&network_tokens(declaration)));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: mutation_cases(), failure_persistence: None, ..ProptestConfig::default() })]

        /// Valid declarations of every layer kind, mutated: dropped, duplicated, swapped and
        /// replaced tokens. Each is code or spanned errors, never a panic.
        #[test]
        fn mutated_declarations_never_panic_and_every_rejection_is_spanned(
            which in 0..VALID.len(),
            mutations in proptest::collection::vec(mutation(), 1..4),
        ) {
            let mut tokens = Vec::new();
            flatten(VALID[which].parse().unwrap(), &mut tokens);
            for mutation in &mutations {
                mutate(&mut tokens, mutation);
            }
            let Ok(input) = tokens.join(" ").parse::<proc_macro2::TokenStream>() else {
                return Ok(());
            };
            let output = network_tokens(input);
            prop_assert!(!output.is_empty());
            prop_assert!(errors_are_spanned(&output), "an error on the whole call: {}", tokens.join(" "));
        }
    }

    /// Sizes near the limits: each one alone, or two together, overflow products of sizes
    /// that the parser accepts one by one.
    const HUGE_SIZES: &[&str] = &["65536", "3037000500", "4294967296", "268435455", "9223372036854775807"];

    /// Every integer of every valid declaration replaced by every huge size, and every pair
    /// of its integers by one huge size: code or spanned errors, never an overflow panic
    /// (this test runs with overflow checks; the mutation test found one at random).
    #[test]
    fn every_size_made_huge_is_code_or_a_spanned_error() {
        for declaration in VALID {
            let mut tokens = Vec::new();
            flatten(declaration.parse().unwrap(), &mut tokens);
            let integers: Vec<usize> =
                (0..tokens.len()).filter(|&i| tokens[i].bytes().all(|b| b.is_ascii_digit())).collect();
            let mut cases: Vec<Vec<usize>> = integers.iter().map(|&i| vec![i]).collect();
            for (n, &a) in integers.iter().enumerate() {
                cases.extend(integers[n + 1..].iter().map(|&b| vec![a, b]));
            }
            for case in &cases {
                for huge in HUGE_SIZES {
                    let mut mutant = tokens.clone();
                    for &at in case {
                        (*huge).clone_into(&mut mutant[at]);
                    }
                    let output = network_tokens(mutant.join(" ").parse().unwrap());
                    assert!(errors_are_spanned(&output), "an error on the whole call: {}", mutant.join(" "));
                }
            }
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
