//! Classification metrics beyond the trainer's accuracy.

use core::fmt;

use crate::Real;
use crate::loss::argmax;

/// Counts of (true class, predicted class) pairs.
///
/// ```
/// use nn_runtime::metrics::ConfusionMatrix;
/// // Two samples of three classes: logits per column, then the true classes.
/// let matrix = ConfusionMatrix::from_outputs(&[0.9, 0.1, 0.0, 0.2, 0.1, 0.7], &[0.0, 1.0], 3);
/// assert_eq!(matrix.count(0, 0), 1);
/// assert_eq!(matrix.count(1, 2), 1);
/// assert_eq!(matrix.accuracy(), 0.5);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// From network outputs (`classes` values per sample, column-major; the largest is the
    /// prediction) and class-index targets. Targets that are not classes are skipped.
    #[must_use]
    pub fn from_outputs<T: Real>(outputs: &[T], targets: &[T], classes: usize) -> Self {
        let mut counts = vec![0; classes * classes];
        if classes == 0 {
            return Self { classes, counts };
        }
        for (output, target) in outputs.chunks_exact(classes).zip(targets) {
            let actual = target.to_f64();
            if actual >= 0.0 && (actual as usize) < classes {
                counts[actual as usize * classes + argmax(output)] += 1;
            }
        }
        Self { classes, counts }
    }

    /// Samples of class `actual` predicted as `predicted`.
    ///
    /// # Panics
    ///
    /// When either is not a class (`classes` or more).
    #[must_use]
    pub fn count(&self, actual: usize, predicted: usize) -> usize {
        let classes = self.classes;
        assert!(
            actual < classes && predicted < classes,
            "class {actual} predicted as {predicted}: a confusion matrix of {classes} classes has classes 0 to {}",
            classes.saturating_sub(1)
        );
        self.counts[actual * classes + predicted]
    }

    /// The fraction on the diagonal.
    #[must_use]
    pub fn accuracy(&self) -> f64 {
        let correct: usize = (0..self.classes).map(|c| self.count(c, c)).sum();
        correct as f64 / self.counts.iter().sum::<usize>().max(1) as f64
    }
}

/// A table: one row per true class, one column per predicted class.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width =
            self.counts.iter().max().map_or(1, |m| m.to_string().len()).max(self.classes.to_string().len())
                + 1;
        write!(f, "{:>8} ", "true\\pred")?;
        for predicted in 0..self.classes {
            write!(f, "{predicted:>width$}")?;
        }
        writeln!(f)?;
        for actual in 0..self.classes {
            write!(f, "{actual:>9} ")?;
            for predicted in 0..self.classes {
                write!(f, "{:>width$}", self.count(actual, predicted))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
