//! Compile-error (UI) tests: every mistake `network!` reports has one minimal file under
//! `tests/ui/<topic>/`, with the exact compiler output in its `.stderr`. Pass cases live in
//! `tests/ui/pass/`. Regenerate outputs with `TRYBUILD=overwrite cargo test --test compiletest`
//! and read every changed `.stderr` before committing it.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    for topic in ["shapes", "names", "values", "syntax", "graphs", "ids", "convolution", "sequences", "bake"]
    {
        cases.compile_fail(format!("tests/ui/{topic}/*.rs"));
    }
}
