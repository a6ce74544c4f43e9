//! In-memory datasets: inputs and targets, column-major, one sample per column.

/// A dataset that does not hold together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// Inputs and targets do not describe the same number of samples.
    #[error(
        "{inputs} input values make {input_samples} samples of {features}, but {targets} target values make {target_samples} samples of {target_width}"
    )]
    Mismatch {
        /// Input values.
        inputs: usize,
        /// Values per input sample.
        features: usize,
        /// Input values divided by `features`.
        input_samples: usize,
        /// Target values.
        targets: usize,
        /// Values per target.
        target_width: usize,
        /// Target values divided by `target_width`.
        target_samples: usize,
    },
    /// A sample has zero width.
    #[error("samples need at least one feature and one target value")]
    ZeroWidth,
}

/// Samples as column-major buffers: sample `n`'s inputs at `n·features ..`, its target at
/// `n·target_width ..`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    inputs: Vec<T>,
    targets: Vec<T>,
    features: usize,
    target_width: usize,
}

impl<T> Dataset<T> {
    /// A dataset from flat buffers.
    ///
    /// # Errors
    ///
    /// When a width is zero or the buffers are not whole and equal numbers of samples.
    pub fn new(
        features: usize,
        target_width: usize,
        inputs: Vec<T>,
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
        Ok(Self { inputs, targets, features, target_width })
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
    pub fn inputs(&self) -> &[T] {
        &self.inputs
    }

    /// All targets, column-major.
    #[must_use]
    pub fn targets(&self) -> &[T] {
        &self.targets
    }

    /// Sample `n`'s inputs.
    #[must_use]
    pub fn input(&self, n: usize) -> &[T] {
        &self.inputs[n * self.features..(n + 1) * self.features]
    }

    /// Sample `n`'s target.
    #[must_use]
    pub fn target(&self, n: usize) -> &[T] {
        &self.targets[n * self.target_width..(n + 1) * self.target_width]
    }
}
