//! Numeric CSV files: one sample per row, the features and one label column.
//!
//! ```no_run
//! use nn_runtime::data::csv::{read_csv, CsvOptions, Label};
//! let digits = read_csv::<f32>("data/digits.csv", &CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() })?;
//! # Ok::<(), nn_runtime::data::DataError>(())
//! ```

use std::path::Path;

use super::{DataError, Dataset, owned};
use crate::Real;

/// Which column holds the label (the target).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Label {
    /// The last column.
    #[default]
    Last,
    /// The column with this header name.
    Name(String),
    /// The column at this 0-based index.
    Index(usize),
}

/// How [`read_csv`] reads a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// The label column.
    pub label: Label,
    /// Whether the first row is a header of column names.
    pub header: bool,
    /// The shape of each row's features, row-major, when they are more than a list:
    /// `Some(vec![1, 8, 8])` reads the digits' 64 pixels as `[C, H, W]` images (see
    /// [`Dataset::with_shape`]).
    pub shape: Option<Vec<usize>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self { label: Label::Last, header: true, shape: None }
    }
}

/// Reads a numeric CSV file: every column but the label is a feature, every cell must be a
/// finite number. The label is kept as a number (a class index, or a regression target).
///
/// # Errors
///
/// A [`DataError`] naming the file, and the line and column where there is one: the file
/// cannot be read, the label column does not exist, a row is ragged, a cell is not a number
/// or not finite, or there are no rows.
pub fn read_csv<T: Real>(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset<T>, DataError> {
    let path = path.as_ref();
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(options.header)
        .flexible(true)
        .from_path(path)
        .map_err(|error| open_error(path, error))?;
    let names: Vec<String> = if options.header {
        let header = reader.headers().map_err(|error| csv_error(path, error))?;
        header.iter().map(str::to_owned).collect()
    } else {
        Vec::new()
    };
    let (mut inputs, mut targets, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    let mut columns = (!names.is_empty()).then_some(names.len());
    let mut label_column = None;
    for record in reader.records() {
        let record = record.map_err(|error| csv_error(path, error))?;
        let line = record.position().map_or(0, ::csv::Position::line);
        let expected = *columns.get_or_insert(record.len());
        if record.len() != expected {
            return Err(DataError::Ragged { path: owned(path), line, expected, found: record.len() });
        }
        let label = match label_column {
            Some(label) => label,
            None => *label_column.insert(resolve_label(path, &options.label, &names, expected)?),
        };
        for (index, cell) in record.iter().enumerate() {
            let name = names.get(index).cloned().unwrap_or_else(|| format!("{}", index + 1));
            let value = parse_cell(path, line, index, &name, cell)?;
            if index == label {
                targets.push(value);
            } else {
                inputs.push(value);
            }
        }
        lines.push(line as usize);
    }
    if targets.is_empty() {
        return Err(DataError::Empty { path: owned(path) });
    }
    let features = inputs.len() / targets.len();
    let dataset = Dataset::new(features, 1, inputs, targets)?.with_source(path, "line", lines);
    match &options.shape {
        Some(shape) => dataset.with_shape(shape),
        None => Ok(dataset),
    }
}

fn resolve_label(path: &Path, label: &Label, names: &[String], columns: usize) -> Result<usize, DataError> {
    let index = match label {
        Label::Last => columns - 1,
        Label::Index(index) => *index,
        Label::Name(name) => names.iter().position(|n| n == name).ok_or_else(|| DataError::NoSuchColumn {
            path: owned(path),
            name: name.clone(),
            columns: names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
        })?,
    };
    if index < columns {
        Ok(index)
    } else {
        Err(DataError::ColumnOutOfRange { path: owned(path), index, columns })
    }
}

fn parse_cell<T: Real>(path: &Path, line: u64, index: usize, name: &str, cell: &str) -> Result<T, DataError> {
    let trimmed = cell.trim();
    let value: f64 = trimmed.parse().map_err(|_| DataError::NotANumber {
        path: owned(path),
        line,
        column: index + 1,
        name: name.to_owned(),
        value: cell.to_owned(),
    })?;
    if value.is_finite() {
        Ok(T::from_float(value))
    } else {
        Err(DataError::NotFinite {
            path: owned(path),
            line,
            column: index + 1,
            name: name.to_owned(),
            value: cell.to_owned(),
        })
    }
}

fn open_error(path: &Path, error: ::csv::Error) -> DataError {
    match error.into_kind() {
        ::csv::ErrorKind::Io(source) => DataError::Read { path: owned(path), source },
        other => DataError::Csv { path: owned(path), line: 0, message: format!("{other:?}") },
    }
}

fn csv_error(path: &Path, error: ::csv::Error) -> DataError {
    let line = error.position().map_or(0, ::csv::Position::line);
    let message = error.to_string();
    match error.into_kind() {
        ::csv::ErrorKind::Io(source) => DataError::Read { path: owned(path), source },
        _ => DataError::Csv { path: owned(path), line, message },
    }
}
