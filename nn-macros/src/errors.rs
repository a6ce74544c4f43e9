//! Collects every mistake of one declaration so they are reported together.

/// A growing list of spanned errors (serde's `Ctxt`, in small).
#[derive(Default)]
pub struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    /// Records one more error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Records an error at `spanned`'s tokens.
    pub fn at<S: quote::ToTokens, M: std::fmt::Display>(&mut self, spanned: S, message: M) {
        self.push(syn::Error::new_spanned(spanned, message));
    }

    /// Records an error at a span.
    pub fn at_span<M: std::fmt::Display>(&mut self, span: proc_macro2::Span, message: M) {
        self.push(syn::Error::new(span, message));
    }

    /// `Ok` when nothing was recorded.
    pub fn finish(self) -> Result<(), syn::Error> {
        self.combined.map_or(Ok(()), Err)
    }
}
