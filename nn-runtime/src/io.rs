//! Saving and loading a network's parameters as safetensors, with PyTorch's names and
//! layouts: `hidden.weight` is `[out, in]`, row-major, so files move between nn and
//! PyTorch's `state_dict` unchanged.
//!
//! Writes are atomic: the file is written beside its destination under a temporary name,
//! flushed to disk, then renamed over the destination, so a crash mid-write never destroys
//! the previous checkpoint. Loading is strict: every tensor must be present with the
//! network's shape, and the file may hold no others, so a file made for another
//! architecture is an error naming the tensor and both shapes, never a silent
//! initialisation.
//!
//! With `nn`: `nn::io::save(&net, "model.safetensors")?` and
//! `let net: Xor = nn::io::load("model.safetensors")?`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::Real;
use crate::network::{Network, ParameterSpec};

/// A file that cannot be saved or loaded, and why.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file cannot be written (the previous file, if any, is untouched).
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not valid safetensors.
    #[error("{}: not a safetensors file: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A tensor the network needs is not in the file.
    #[error("{}: no tensor `{tensor}` (the file has {present})", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        tensor: String,
        /// The names the file has.
        present: String,
    },
    /// A tensor of another shape than the network's.
    #[error("{}: tensor `{tensor}` has shape {found:?}, but the network's is {expected:?}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        tensor: String,
        /// The network's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor of a type that cannot be loaded: not `F32` or `F64` (nor `I64` for a count).
    #[error("{}: tensor `{tensor}` is {dtype}, but only F32 and F64 (and I64 for a count) can be loaded", path.display())]
    Dtype {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        tensor: String,
        /// Its type.
        dtype: String,
    },
    /// Tensors in the file that the network has no place for.
    #[error("{}: tensors {tensors} are not parameters of this network", path.display())]
    Unexpected {
        /// The file.
        path: PathBuf,
        /// Their names.
        tensors: String,
    },
}

/// Saves every parameter and every state tensor (running statistics) under its
/// PyTorch-style name, in the network's scalar type; counts (`num_batches_tracked`) as
/// `int64`, as PyTorch saves them.
///
/// # Errors
///
/// When the file cannot be written; an existing file at `path` is then left as it was.
pub fn save<T: Real, N: Network<T>>(network: &N, path: impl AsRef<Path>) -> Result<(), IoError> {
    let path = path.as_ref();
    let parameters = N::parameter_specs().iter().map(|spec| (spec, network.parameters()));
    let buffers = N::buffer_specs().iter().map(|spec| (spec, network.buffers()));
    let bytes: Vec<(String, Dtype, Vec<u8>, Vec<usize>)> = parameters
        .chain(buffers)
        .map(|(spec, values)| {
            let (dtype, data) = to_le_bytes(spec.slice(values), spec.integer);
            (spec.name.to_owned(), dtype, data, spec.shape.to_vec())
        })
        .collect();
    let views = bytes.iter().map(|(name, dtype, data, shape)| {
        let view = TensorView::new(*dtype, shape.clone(), data).map_err(|e| format_error(path, &e))?;
        Ok((name.as_str(), view))
    });
    let views = views.collect::<Result<Vec<_>, IoError>>()?;
    // One entry: safetensors writes the metadata in a hash map's order, so with two the
    // same network could be saved as different bytes; one keeps saves reproducible.
    let metadata = HashMap::from([("format".to_owned(), "pt".to_owned())]);
    let file = safetensors::serialize(views, Some(metadata)).map_err(|e| format_error(path, &e))?;
    write_atomically(path, &file)
}

/// Loads a network saved with [`save`] or by PyTorch's `safetensors.torch.save_file`.
///
/// # Errors
///
/// When the file cannot be read or parsed, or its tensors are not exactly the network's
/// (a tensor missing, another shape, an unsupported type, or a tensor too many).
pub fn load<T: Real, N: Network<T>>(path: impl AsRef<Path>) -> Result<N, IoError> {
    load_renamed(path, str::to_owned)
}

/// Loads a network from a file whose tensor names differ from nn's: `rename` maps each of
/// the network's names (`hidden.weight`) to the file's (`0.weight`).
///
/// A PyTorch `nn.Sequential(Linear(13, 16), ReLU(), Linear(16, 3))` names its tensors by
/// module index: `0.weight`, `0.bias`, `2.weight`, `2.bias`. Declaring the same layers
/// unnamed and one per module (`dense(13 -> 16), relu, dense(16 -> 3)`) gives nn exactly
/// these names, so [`load`] needs no renaming; with named or fused layers, map them here.
///
/// # Errors
///
/// As [`load`].
pub fn load_renamed<T: Real, N: Network<T>>(
    path: impl AsRef<Path>,
    rename: impl Fn(&str) -> String,
) -> Result<N, IoError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| IoError::Read { path: path.to_path_buf(), source })?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| format_error(path, &e))?;
    let mut parameters = vec![T::zero(); N::PARAMETERS];
    let mut buffers = vec![T::zero(); N::BUFFERS];
    let mut used = Vec::with_capacity(N::parameter_specs().len() + N::buffer_specs().len());
    for spec in N::parameter_specs() {
        used.push(read_tensor(&file, path, spec, rename(spec.name), &mut parameters)?);
    }
    for spec in N::buffer_specs() {
        used.push(read_tensor(&file, path, spec, rename(spec.name), &mut buffers)?);
    }
    let mut unexpected: Vec<&str> =
        file.names().into_iter().filter(|n| !used.iter().any(|u| u == n)).collect();
    if !unexpected.is_empty() {
        unexpected.sort_unstable();
        let tensors = unexpected.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        return Err(IoError::Unexpected { path: path.to_path_buf(), tensors });
    }
    N::from_state(parameters, buffers)
        .map_err(|e| IoError::Format { path: path.to_path_buf(), message: e.to_string() })
}

/// Reads the tensor `name` of `spec`'s shape into its place in `target`; returns the name.
fn read_tensor<T: Real>(
    file: &SafeTensors<'_>,
    path: &Path,
    spec: &ParameterSpec,
    name: String,
    target: &mut [T],
) -> Result<String, IoError> {
    let tensor = file.tensor(&name).map_err(|_| {
        let mut present = file.names();
        present.sort_unstable();
        let present = present.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        IoError::Missing { path: path.to_path_buf(), tensor: name.clone(), present }
    })?;
    if tensor.shape() != spec.shape {
        return Err(IoError::Shape {
            path: path.to_path_buf(),
            tensor: name,
            expected: spec.shape.to_vec(),
            found: tensor.shape().to_vec(),
        });
    }
    let target = spec.slice_mut(target);
    let data = tensor.data();
    match tensor.dtype() {
        Dtype::F32 => {
            for (value, chunk) in target.iter_mut().zip(data.as_chunks::<4>().0) {
                *value = T::from_float(f64::from(f32::from_le_bytes(*chunk)));
            }
        }
        Dtype::F64 => {
            for (value, chunk) in target.iter_mut().zip(data.as_chunks::<8>().0) {
                *value = T::from_float(f64::from_le_bytes(*chunk));
            }
        }
        Dtype::I64 if spec.integer => {
            for (value, chunk) in target.iter_mut().zip(data.as_chunks::<8>().0) {
                *value = T::from_float(i64::from_le_bytes(*chunk) as f64);
            }
        }
        other => {
            return Err(IoError::Dtype {
                path: path.to_path_buf(),
                tensor: name,
                dtype: format!("{other:?}"),
            });
        }
    }
    Ok(name)
}

/// Little-endian bytes in the network's scalar type, or as `int64` for a count.
fn to_le_bytes<T: Real>(values: &[T], integer: bool) -> (Dtype, Vec<u8>) {
    if integer {
        (Dtype::I64, values.iter().flat_map(|v| (v.to_f64().round() as i64).to_le_bytes()).collect())
    } else if size_of::<T>() == 8 {
        (Dtype::F64, values.iter().flat_map(|v| v.to_f64().to_le_bytes()).collect())
    } else {
        (Dtype::F32, values.iter().flat_map(|v| (v.to_f64() as f32).to_le_bytes()).collect())
    }
}
fn format_error(path: &Path, error: &safetensors::SafeTensorError) -> IoError {
    IoError::Format { path: path.to_path_buf(), message: error.to_string() }
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it over
/// `path`: readers see the old file or the new one, never a partial one.
///
/// # Errors
///
/// When any of the steps fails; the temporary file is removed and `path` is untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_atomically_via(path, bytes, |temporary| std::fs::File::create(temporary), |file| file.sync_all())
}

/// [`write_atomically`] with the temporary file opened by `open` and made durable by
/// `finish`, so that a test can make a save fail at any byte (a full disk) or after the write
/// (a crash before the rename) and see that nothing already saved is lost.
///
/// # Errors
///
/// As [`write_atomically`].
pub fn write_atomically_via<W: Write>(
    path: &Path,
    bytes: &[u8],
    open: impl FnOnce(&Path) -> std::io::Result<W>,
    finish: impl FnOnce(W) -> std::io::Result<()>,
) -> Result<(), IoError> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = open(&temporary)?;
        file.write_all(bytes)?;
        finish(file)?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        IoError::Write { path: path.to_path_buf(), source }
    })
}
