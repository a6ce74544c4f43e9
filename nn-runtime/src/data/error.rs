//! What can be wrong with data: each error names the file and, where there is one, the line
//! and column (or record) of the offending value.

use std::path::PathBuf;

/// Data that cannot be used, and where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file cannot be read (missing, a directory, no permission, …).
    #[error("{}: cannot read the file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The CSV itself is malformed (invalid UTF-8, a broken quote, …).
    #[error("{}, line {line}: malformed CSV: {message}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What the CSV reader said.
        message: String,
    },
    /// The label column named in the options is not in the header.
    #[error("{}: no column named `{name}`; the columns are {columns}", path.display())]
    NoSuchColumn {
        /// The file.
        path: PathBuf,
        /// The missing name.
        name: String,
        /// The header's names.
        columns: String,
    },
    /// The label column index is past the last column.
    #[error("{}: there is no column {index} (1-based); rows have {columns} columns", path.display(), index = index + 1)]
    ColumnOutOfRange {
        /// The file.
        path: PathBuf,
        /// The 0-based index asked for.
        index: usize,
        /// Columns per row.
        columns: usize,
    },
    /// A row with a different number of cells than the header (or first row).
    #[error("{}, line {line}: {found} cells, but the rows before have {expected}", path.display())]
    Ragged {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// Cells expected.
        expected: usize,
        /// Cells found.
        found: usize,
    },
    /// A cell that is not a number.
    #[error("{}, line {line}, column {column} (`{name}`): `{value}` is not a number", path.display())]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// The 1-based column.
        column: usize,
        /// The column's name (or its number, without a header).
        name: String,
        /// The cell as written.
        value: String,
    },
    /// A cell that is NaN or infinite.
    #[error("{}, line {line}, column {column} (`{name}`): `{value}` is not a finite number", path.display())]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// The 1-based column.
        column: usize,
        /// The column's name.
        name: String,
        /// The cell as written.
        value: String,
    },
    /// A file with no samples.
    #[error("{}: no data rows", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// An IDX file whose magic number is not the expected one.
    #[error("{}: magic number {found:#010x}, but an IDX {kind} file starts with {expected:#010x}", path.display())]
    IdxMagic {
        /// The file.
        path: PathBuf,
        /// `images` or `labels`.
        kind: &'static str,
        /// The magic number of that kind.
        expected: u32,
        /// The file's first four bytes.
        found: u32,
    },
    /// An IDX file shorter than its header promises.
    #[error("{}: truncated: the header promises {expected} bytes, but the file has {found}", path.display())]
    IdxTruncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header promises (header included).
        expected: usize,
        /// Bytes in the (decompressed) file.
        found: usize,
    },
    /// An IDX header whose sizes multiply past what memory can address: a corrupt or
    /// hostile file. Nothing was allocated for it.
    #[error("{}: the header's sizes {sizes:?} multiply to more bytes than memory can address", path.display())]
    IdxTooLarge {
        /// The file.
        path: PathBuf,
        /// The sizes the header gives.
        sizes: Vec<usize>,
    },
    /// Image and label files of different lengths.
    #[error("{} holds {images} images, but {} holds {labels} labels", images_path.display(), labels_path.display())]
    IdxCount {
        /// The image file.
        images_path: PathBuf,
        /// Images in it.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Labels in it.
        labels: usize,
    },
    /// Samples not as wide as the network's input.
    #[error("{origin}: samples have {found} features, but the network takes {expected} inputs")]
    FeatureCount {
        /// Where the data came from.
        origin: String,
        /// The network's input size.
        expected: usize,
        /// Features per sample.
        found: usize,
    },
    /// A sample shape that does not hold the samples' features.
    #[error(
        "{origin}: a sample shape of {shape:?} holds {}, but samples have {features} features",
        shape_values(shape)
    )]
    ShapeSize {
        /// Where the data came from.
        origin: String,
        /// The shape given.
        shape: Vec<usize>,
        /// Features per sample.
        features: usize,
    },
    /// Samples of another shape than the network's input.
    #[error("{origin}: samples are {found:?}, but the network's input is {expected:?}")]
    SampleShape {
        /// Where the data came from.
        origin: String,
        /// The network's input shape.
        expected: Vec<usize>,
        /// The samples' shape.
        found: Vec<usize>,
    },
    /// A class label the network cannot output.
    #[error("{location}: label {value} is not one of the network's classes 0 to {}", classes.saturating_sub(1))]
    LabelOutOfRange {
        /// The file and line (or sample) of the label.
        location: String,
        /// The label.
        value: f64,
        /// The network's output size.
        classes: usize,
    },
    /// A feature that cannot be an id for an embedding.
    #[error("{location}: feature {column} is {value}, which is not an id (a whole number from 0)")]
    NotAnId {
        /// The file and line (or sample) of the feature.
        location: String,
        /// Its column among the features (0-based).
        column: usize,
        /// The value.
        value: f64,
    },
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

/// How many values a shape holds, in words: a shape whose sizes multiply past `usize` (a
/// corrupt header, a mistyped size) must not overflow while its error is shown.
fn shape_values(shape: &[usize]) -> String {
    match shape.iter().try_fold(1_usize, |total, &size| total.checked_mul(size)) {
        Some(values) => format!("{values} values"),
        None => "more values than memory can address".to_owned(),
    }
}
