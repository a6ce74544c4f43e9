//! `#[weights = "model.safetensors"]`: a network's weights read at compile time and baked
//! into the binary as `static` data.
//!
//! Parse takes the attribute off the declaration; check reads the file (relative to the
//! crate's manifest, as `include_bytes!` would be to the source) and matches every tensor's
//! name, shape and dtype against the network's, an error on the attribute's path otherwise;
//! `expand::bake` writes the statics. The file is read again by `include_bytes!` in the
//! generated code, which makes Cargo rebuild the crate when the file changes.

use std::path::PathBuf;

use proc_macro2::Span;
use safetensors::{Dtype, SafeTensors};
use syn::{Attribute, Expr, ExprLit, Lit, LitStr};

use crate::model::Network;

/// The attribute's name.
const ATTRIBUTE: &str = "weights";

/// A checked weights file: where each of its tensors goes.
pub struct Weights {
    /// The file, absolute.
    pub path: PathBuf,
    /// The attribute's path literal, for spans.
    pub span: Span,
    /// The float type of its real tensors, which the baked network computes in.
    pub float: Float,
    /// Every tensor, parameters then state.
    pub tensors: Vec<Placed>,
}

/// A float type a file can hold its weights in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Float {
    F32,
    F64,
}

/// One tensor of the file and its place in the network's buffers.
pub struct Placed {
    /// The first byte of its values in the file.
    pub start: usize,
    /// Values.
    pub len: usize,
    /// Its first value's index in the parameter (or state) buffer.
    pub offset: usize,
    /// How its values are stored.
    pub dtype: Dtype,
    /// Whether it belongs to the state buffer rather than the parameters.
    pub state: bool,
}

/// Takes `#[weights = "…"]` out of `attrs`, returning its path.
///
/// # Errors
///
/// When the attribute is there twice, or is not `#[weights = "path"]`.
pub fn take_attribute(attrs: &mut Vec<Attribute>) -> syn::Result<Option<LitStr>> {
    let mut found: Option<LitStr> = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident(ATTRIBUTE) {
            kept.push(attr);
            continue;
        }
        let usage = "write the weights file as a string: `#[weights = \"model.safetensors\"]`, relative to the crate's Cargo.toml";
        let value = match &attr.meta {
            syn::Meta::NameValue(pair) => &pair.value,
            _ => return Err(syn::Error::new_spanned(&attr, usage)),
        };
        let Expr::Lit(ExprLit { lit: Lit::Str(path), .. }) = value else {
            return Err(syn::Error::new_spanned(value, usage));
        };
        if found.is_some() {
            return Err(syn::Error::new_spanned(
                &attr,
                "a network has one weights file: remove this second `#[weights]`",
            ));
        }
        found = Some(path.clone());
    }
    *attrs = kept;
    Ok(found)
}

/// One tensor the network has: name, shape, offset, and whether it is state.
struct Expected {
    name: String,
    shape: Vec<usize>,
    offset: usize,
    state: bool,
}

fn expected_tensors(network: &Network) -> Vec<Expected> {
    let mut tensors = Vec::new();
    for node in &network.nodes {
        for (tensor, &offset) in node.layer.parameters().iter().zip(&node.offsets) {
            let name = format!("{}.{}", node.name, tensor.name);
            tensors.push(Expected { name, shape: tensor.shape.clone(), offset, state: false });
        }
    }
    for node in &network.nodes {
        for (buffer, &offset) in node.layer.buffers().iter().zip(&node.buffer_offsets) {
            let name = format!("{}.{}", node.name, buffer.name);
            tensors.push(Expected { name, shape: buffer.shape.clone(), offset, state: true });
        }
    }
    tensors
}

/// Reads the file `path` names and matches it against the network.
///
/// # Errors
///
/// On the path literal: the file cannot be read or is not safetensors; a tensor is missing,
/// extra, of another shape, or of a dtype that cannot be baked; real tensors of both float
/// types.
pub fn read(path: &LitStr, network: &Network) -> syn::Result<Weights> {
    let error = |message: String| syn::Error::new(path.span(), message);
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(PathBuf::new, PathBuf::from);
    let file = manifest.join(path.value());
    // Messages name the file as written: the absolute path is the build machine's.
    let shown = format!("`{}`", path.value());
    let bytes = std::fs::read(&file).map_err(|e| {
        error(format!(
            "cannot read the weights file {shown} (a path relative to the crate's Cargo.toml): {e}"
        ))
    })?;
    let (header, metadata) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| error(format!("{shown} is not a safetensors file: {e}")))?;
    let data_start = 8 + header;
    let mut present = metadata.tensors();
    let mut tensors = Vec::new();
    let mut missing = Vec::new();
    let mut float = None;
    for expected in expected_tensors(network) {
        let Some(info) = present.remove(&expected.name) else {
            missing.push(format!("`{}` {:?}", expected.name, expected.shape));
            continue;
        };
        if info.shape != expected.shape {
            return Err(error(format!(
                "tensor `{}` in {shown} has shape {:?}, but the network's is {:?}: declare the layer with the file's sizes, or bake a file saved from this network",
                expected.name, info.shape, expected.shape
            )));
        }
        let this = match info.dtype {
            Dtype::F32 => Some(Float::F32),
            Dtype::F64 => Some(Float::F64),
            Dtype::I64 if expected.state => None,
            other => {
                return Err(error(format!(
                    "tensor `{}` in {shown} is {other:?}: a network is baked from F32 or F64 tensors (and I64 for a count)",
                    expected.name
                )));
            }
        };
        if let Some(this) = this {
            if float.is_some_and(|f| f != this) {
                return Err(error(format!(
                    "{shown} mixes F32 and F64 tensors (`{}` is {:?}): save every tensor in the float type the baked network computes in",
                    expected.name, info.dtype
                )));
            }
            float = Some(this);
        }
        tensors.push(Placed {
            start: data_start + info.data_offsets.0,
            len: expected.shape.iter().product(),
            offset: expected.offset,
            dtype: info.dtype,
            state: expected.state,
        });
    }
    if !missing.is_empty() {
        return Err(error(format!(
            "{shown} has no tensor {}, which the declaration needs: is it the file of another architecture?",
            missing.join(", ")
        )));
    }
    if !present.is_empty() {
        let mut extra: Vec<String> = present.keys().map(|name| format!("`{name}`")).collect();
        extra.sort_unstable();
        return Err(error(format!(
            "{shown} has tensors this network does not: {}. Is it the file of another architecture?",
            extra.join(", ")
        )));
    }
    Ok(Weights { path: file, span: path.span(), float: float.unwrap_or(Float::F32), tensors })
}
