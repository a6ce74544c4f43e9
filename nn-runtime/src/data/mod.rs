//! Datasets: inputs and targets in memory, column-major (one sample per column), with
//! where each sample came from, so that any later check can name the file and line.
//!
//! - [`csv`]: numeric CSV files with a label column;
//! - [`idx`]: MNIST's IDX files, plain or gzip-compressed;
//! - [`scale`]: standardisation and min-max scaling, fitted on training data only.

pub mod csv;
mod error;
pub mod idx;
pub mod scale;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::seq::SliceRandom;

pub use error::DataError;

use crate::Real;

/// Where a dataset's samples came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file.
    pub path: Arc<Path>,
    /// What a location counts: `line` (CSV) or `image` (IDX).
    pub unit: &'static str,
    /// Each sample's line or record number (1-based), in the dataset's order.
    pub locations: Vec<usize>,
}

/// Samples as column-major buffers: sample `n`'s inputs at `n·features ..`, its target at
/// `n·target_width ..`. Inputs are real features (`I = T`) or integer ids (`I = u32`, for a
/// network that begins with an embedding; see [`Dataset::to_ids`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T, I = T> {
    inputs: Vec<I>,
    targets: Vec<T>,
    features: usize,
    /// The shape of one sample, row-major, when it is more than a list of features:
    /// `[1, 28, 28]` for an MNIST image (PyTorch's `[C, H, W]`).
    shape: Option<Vec<usize>>,
    target_width: usize,
    source: Option<Source>,
}

impl<T, I> Dataset<T, I> {
    /// A dataset from flat buffers.
    ///
    /// # Errors
    ///
    /// When a width is zero or the buffers are not whole and equal numbers of samples.
    pub fn new(
        features: usize,
        target_width: usize,
        inputs: Vec<I>,
        targets: Vec<T>,
    ) -> Result<Self, DataError> {
        if features == 0 || target_width == 0 {
            return Err(DataError::ZeroWidth);
        }
        let (input_samples, target_samples) = (inputs.len() / features, targets.len() / target_width);
        if !inputs.len().is_multiple_of(features)
            || !targets.len().is_multiple_of(target_width)
            || input_samples != target_samples
        {
            return Err(DataError::Mismatch {
                inputs: inputs.len(),
                features,
                input_samples,
                targets: targets.len(),
                target_width,
                target_samples,
            });
        }
        Ok(Self { inputs, targets, features, shape: None, target_width, source: None })
    }

    /// A classification dataset from integer class labels, one per sample (held as `T`
    /// targets of width 1, as the classification losses read them).
    ///
    /// # Errors
    ///
    /// As [`Dataset::new`].
    pub fn classification(features: usize, inputs: Vec<I>, classes: &[u32]) -> Result<Self, DataError>
    where
        T: Real,
    {
        let targets = classes.iter().map(|&class| T::from_float(f64::from(class))).collect();
        Self::new(features, 1, inputs, targets)
    }

    /// The same samples, each an array of `shape` (row-major, PyTorch's `[C, H, W]` for
    /// images or `[C, L]` for signals), so training checks it against the network's
    /// `input(C, H, W)`.
    ///
    /// # Errors
    ///
    /// [`DataError::ShapeSize`] when the shape does not hold exactly the sample's features.
    pub fn with_shape(mut self, shape: &[usize]) -> Result<Self, DataError> {
        if shape.iter().try_fold(1_usize, |total, &size| total.checked_mul(size)) != Some(self.features) {
            return Err(DataError::ShapeSize {
                origin: self.describe(),
                shape: shape.to_vec(),
                features: self.features,
            });
        }
        self.shape = Some(shape.to_vec());
        Ok(self)
    }

    /// The shape of one sample: as given to [`Dataset::with_shape`], else `[features]`.
    #[must_use]
    pub fn shape(&self) -> Vec<usize> {
        self.shape.clone().unwrap_or_else(|| vec![self.features])
    }

    /// Records where the samples came from (one location per sample).
    #[must_use]
    pub fn with_source(mut self, path: &Path, unit: &'static str, locations: Vec<usize>) -> Self {
        self.source = Some(Source { path: Arc::from(path), unit, locations });
        self
    }

    /// Where the samples came from, if known.
    #[must_use]
    pub fn source(&self) -> Option<&Source> {
        self.source.as_ref()
    }

    /// The file the samples came from, or `in-memory data`.
    #[must_use]
    pub fn describe(&self) -> String {
        self.source.as_ref().map_or_else(|| "in-memory data".to_owned(), |s| s.path.display().to_string())
    }

    /// Where sample `n` came from: `digits.csv, line 12`, or `sample 12`.
    #[must_use]
    pub fn location(&self, n: usize) -> String {
        match &self.source {
            Some(source) => match source.locations.get(n) {
                Some(location) => format!("{}, {} {location}", source.path.display(), source.unit),
                None => format!("{}, sample {n}", source.path.display()),
            },
            None => format!("sample {n}"),
        }
    }

    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inputs.len() / self.features
    }

    /// Whether there are no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Values per input sample.
    #[must_use]
    pub fn features(&self) -> usize {
        self.features
    }

    /// Values per target.
    #[must_use]
    pub fn target_width(&self) -> usize {
        self.target_width
    }

    /// All inputs, column-major.
    #[must_use]
    pub fn inputs(&self) -> &[I] {
        &self.inputs
    }

    /// All targets, column-major.
    #[must_use]
    pub fn targets(&self) -> &[T] {
        &self.targets
    }

    /// Sample `n`'s inputs.
    ///
    /// # Panics
    ///
    /// When there is no sample `n` (`n ≥ len()`).
    #[must_use]
    pub fn input(&self, n: usize) -> &[I] {
        self.check_sample(n);
        &self.inputs[n * self.features..(n + 1) * self.features]
    }

    /// Sample `n`'s target.
    ///
    /// # Panics
    ///
    /// When there is no sample `n` (`n ≥ len()`).
    #[must_use]
    pub fn target(&self, n: usize) -> &[T] {
        self.check_sample(n);
        &self.targets[n * self.target_width..(n + 1) * self.target_width]
    }

    /// Panics, naming the values, when there is no sample `n`.
    fn check_sample(&self, n: usize) {
        let len = self.len();
        assert!(
            n < len,
            "sample {n} of {}: it has {len} samples, 0 to {}",
            self.describe(),
            len.saturating_sub(1)
        );
    }
}

impl<T: Real, I: Clone> Dataset<T, I> {
    /// Checks that samples have `inputs` features, as a network needs before training.
    ///
    /// # Errors
    ///
    /// [`DataError::FeatureCount`], naming the file.
    pub fn check_features(&self, inputs: usize) -> Result<(), DataError> {
        if self.features == inputs {
            Ok(())
        } else {
            Err(DataError::FeatureCount { origin: self.describe(), expected: inputs, found: self.features })
        }
    }

    /// Checks that samples fit a network's input `shape`: as many features, and the same
    /// shape when the dataset has one (`[1, 28, 28]` images do not feed an `input(28, 28)`
    /// signal of 28 channels, though the counts agree).
    ///
    /// # Errors
    ///
    /// [`DataError::FeatureCount`] or [`DataError::SampleShape`], naming the file.
    pub fn check_shape(&self, shape: &[usize]) -> Result<(), DataError> {
        self.check_features(shape.iter().product())?;
        match &self.shape {
            Some(own) if own != shape && shape.len() > 1 => Err(DataError::SampleShape {
                origin: self.describe(),
                expected: shape.to_vec(),
                found: own.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Checks that every target is a class index below `classes`.
    ///
    /// # Errors
    ///
    /// [`DataError::LabelOutOfRange`], naming the file and line of the first bad label.
    pub fn check_classes(&self, classes: usize) -> Result<(), DataError> {
        for (n, target) in self.targets.chunks_exact(self.target_width).enumerate() {
            let value = target[0].to_f64();
            if self.target_width != 1 || !(value >= 0.0 && value < classes as f64 && value.fract() == 0.0) {
                return Err(DataError::LabelOutOfRange { location: self.location(n), value, classes });
            }
        }
        Ok(())
    }

    /// A seeded random split: `(train, test)` with `test_fraction` of the samples (rounded)
    /// in the test part. Sources and locations follow their samples.
    #[must_use]
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Self, Self) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut crate::init::seeded_rng(seed));
        let test_len = ((self.len() as f64) * test_fraction).round() as usize;
        let (test, train) = order.split_at(test_len.min(self.len()));
        (self.subset(train), self.subset(test))
    }

    /// The samples at `indices`, in that order.
    ///
    /// # Panics
    ///
    /// When an index is not a sample (`≥ len()`), naming it.
    #[must_use]
    pub fn subset(&self, indices: &[usize]) -> Self {
        let mut inputs = Vec::with_capacity(indices.len() * self.features);
        let mut targets = Vec::with_capacity(indices.len() * self.target_width);
        for &n in indices {
            inputs.extend_from_slice(self.input(n));
            targets.extend_from_slice(self.target(n));
        }
        // Locations that do not cover every sample (from `with_source`) are dropped: the
        // subset's samples are then located by their number.
        let source = self.source.as_ref().map(|source| Source {
            path: Arc::clone(&source.path),
            unit: source.unit,
            locations: indices.iter().map_while(|&n| source.locations.get(n).copied()).collect(),
        });
        Self {
            inputs,
            targets,
            features: self.features,
            shape: self.shape.clone(),
            target_width: self.target_width,
            source,
        }
    }

    /// Class-index targets as one-hot vectors of `classes` values.
    ///
    /// # Errors
    ///
    /// [`DataError::LabelOutOfRange`] for a target that is not a class index below `classes`.
    pub fn one_hot(&self, classes: usize) -> Result<Self, DataError> {
        self.check_classes(classes)?;
        let mut targets = vec![T::zero(); self.len() * classes];
        for (n, target) in self.targets.iter().enumerate() {
            targets[n * classes + target.to_f64() as usize] = T::one();
        }
        Ok(Self { targets, target_width: classes, ..self.clone() })
    }

    /// The inputs, mutably (for scaling in place).
    pub fn inputs_mut(&mut self) -> &mut [I] {
        &mut self.inputs
    }
}

impl<T: Real> Dataset<T> {
    /// The same samples with their features as integer ids, for a network that begins with
    /// an embedding (the digits' pixel values 0–16 are a vocabulary of 17).
    ///
    /// # Errors
    ///
    /// [`DataError::NotAnId`], naming the file, line and column of the first feature that is
    /// not a whole number from 0 to `u32::MAX`.
    pub fn to_ids(&self) -> Result<Dataset<T, u32>, DataError> {
        let mut ids = Vec::with_capacity(self.inputs.len());
        for (n, sample) in self.inputs.chunks_exact(self.features.max(1)).enumerate() {
            for (column, value) in sample.iter().enumerate() {
                let value = value.to_f64();
                if !(value >= 0.0 && value <= f64::from(u32::MAX) && value.fract() == 0.0) {
                    return Err(DataError::NotAnId { location: self.location(n), column, value });
                }
                ids.push(value as u32);
            }
        }
        Ok(Dataset {
            inputs: ids,
            targets: self.targets.clone(),
            features: self.features,
            shape: self.shape.clone(),
            target_width: self.target_width,
            source: self.source.clone(),
        })
    }
}

/// A path as an owned `PathBuf`, for errors.
pub(crate) fn owned(path: &Path) -> PathBuf {
    path.to_path_buf()
}
