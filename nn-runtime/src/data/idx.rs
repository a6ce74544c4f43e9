//! MNIST's IDX files, plain or gzip-compressed (detected by content, not by name).
//!
//! Format: a big-endian `u32` magic number (2051 for images, 2049 for labels), a big-endian
//! `u32` count, for images two more `u32`s (rows, columns), then one `u8` per pixel
//! (row-major) or per label.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::{DataError, Dataset, owned};
use crate::Real;

/// The magic number of an IDX image file (unsigned bytes, three dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX label file (unsigned bytes, one dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The images of an IDX file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub columns: usize,
    /// `count × rows × columns` pixels, row-major, 0 to 255.
    pub pixels: Vec<u8>,
}

impl Images {
    /// Number of images.
    #[must_use]
    pub fn count(&self) -> usize {
        self.pixels.len() / (self.rows * self.columns).max(1)
    }
}

/// The whole file, decompressed if it is gzip.
fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Read { path: owned(path), source })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut bytes = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut bytes)
            .map_err(|source| DataError::Read { path: owned(path), source })?;
        Ok(bytes)
    } else {
        Ok(raw)
    }
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    bytes.get(offset..offset + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks the magic number and length; returns the header's dimensions.
fn header(
    path: &Path,
    bytes: &[u8],
    kind: &'static str,
    magic: u32,
    dimensions: usize,
) -> Result<Vec<usize>, DataError> {
    let header_len = 4 + 4 * dimensions;
    let found = u32_at(bytes, 0).unwrap_or(0);
    if found != magic {
        return Err(DataError::IdxMagic { path: owned(path), kind, expected: magic, found });
    }
    if bytes.len() < header_len {
        return Err(DataError::IdxTruncated { path: owned(path), expected: header_len, found: bytes.len() });
    }
    let sizes: Vec<usize> =
        (0..dimensions).filter_map(|d| u32_at(bytes, 4 + 4 * d)).map(|s| s as usize).collect();
    // A lying header can multiply past `usize`: checked, never trusted for an allocation.
    let body = sizes.iter().try_fold(1_usize, |product, &size| product.checked_mul(size));
    let Some(expected) = body.and_then(|body| body.checked_add(header_len)) else {
        return Err(DataError::IdxTooLarge { path: owned(path), sizes });
    };
    if bytes.len() < expected {
        return Err(DataError::IdxTruncated { path: owned(path), expected, found: bytes.len() });
    }
    Ok(sizes)
}

/// Reads an IDX image file.
///
/// # Errors
///
/// The file cannot be read or decompressed, its magic number is not 2051, or it is shorter
/// than its header promises.
pub fn read_images(path: impl AsRef<Path>) -> Result<Images, DataError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let sizes = header(path, &bytes, "images", IMAGES_MAGIC, 3)?;
    let (count, rows, columns) = (sizes[0], sizes[1], sizes[2]);
    let pixels = bytes[16..16 + count * rows * columns].to_vec();
    Ok(Images { rows, columns, pixels })
}

/// Reads an IDX label file.
///
/// # Errors
///
/// The file cannot be read or decompressed, its magic number is not 2049, or it is shorter
/// than its header promises.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let sizes = header(path, &bytes, "labels", LABELS_MAGIC, 1)?;
    Ok(bytes[8..8 + sizes[0]].to_vec())
}

/// An MNIST-style dataset: pixels scaled to `[0, 1]` as features, images of shape
/// `[1, rows, columns]` (PyTorch's `[C, H, W]`), the label as a class index. Locations are
/// 1-based image numbers.
///
/// # Errors
///
/// As [`read_images`] and [`read_labels`], or the two files hold different counts.
pub fn read_mnist<T: Real>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
) -> Result<Dataset<T>, DataError> {
    let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path)?;
    if images.count() != labels.len() {
        return Err(DataError::IdxCount {
            images_path: owned(images_path),
            images: images.count(),
            labels_path: owned(labels_path),
            labels: labels.len(),
        });
    }
    let scale = 1.0 / 255.0;
    let inputs = images.pixels.iter().map(|&p| T::from_float(f64::from(p) * scale)).collect();
    let targets = labels.iter().map(|&l| T::from_float(f64::from(l))).collect();
    let locations = (1..=labels.len()).collect();
    let dataset = Dataset::new(images.rows * images.columns, 1, inputs, targets)?;
    Ok(dataset.with_shape(&[1, images.rows, images.columns])?.with_source(images_path, "image", locations))
}
