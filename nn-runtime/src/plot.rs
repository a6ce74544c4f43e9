//! Pictures as PNG files: training curves (the loss and, for classification, the accuracy
//! per epoch, on the training data and on the validation data), and grids of grayscale
//! images (an autoencoder's inputs beside its reconstructions).

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;

use crate::Real;
use crate::train::History;

/// A plot that could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot draw the plot: {message}", path.display())]
pub struct PlotError {
    /// The image file.
    pub path: PathBuf,
    /// What the plotting library said.
    pub message: String,
}

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`), bundled so
/// text renders without system fonts.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER_FONT: Once = Once::new();

/// Draws `history` into a PNG at `path`: a loss panel and, when there is an accuracy, an
/// accuracy panel, each with training and (if measured) validation curves.
///
/// # Errors
///
/// When the image cannot be drawn or written.
pub fn plot_history(history: &History, title: &str, path: impl AsRef<Path>) -> Result<(), PlotError> {
    let path = path.as_ref();
    let error = |message: String| PlotError { path: path.to_path_buf(), message };
    REGISTER_FONT.call_once(|| {
        // The bytes are a valid font, compiled in; a failure would leave text unrendered.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let has_accuracy = history.epochs.iter().any(|e| e.accuracy.is_some());
    let root = BitMapBackend::new(path, (if has_accuracy { 1200 } else { 640 }, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| error(e.to_string()))?;
    let root = root.titled(title, ("sans-serif", 24)).map_err(|e| error(e.to_string()))?;
    let panels = if has_accuracy { root.split_evenly((1, 2)) } else { vec![root.clone()] };
    let epochs: Vec<f64> = history.epochs.iter().map(|e| e.epoch as f64).collect();
    let loss = Curves {
        name: "loss",
        train: history.epochs.iter().map(|e| Some(e.loss)).collect(),
        validation: history.epochs.iter().map(|e| e.validation.map(|v| v.loss)).collect(),
    };
    draw_panel(&panels[0], &epochs, &loss).map_err(error)?;
    if has_accuracy {
        let accuracy = Curves {
            name: "accuracy",
            train: history.epochs.iter().map(|e| e.accuracy).collect(),
            validation: history.epochs.iter().map(|e| e.validation.and_then(|v| v.accuracy)).collect(),
        };
        draw_panel(&panels[1], &epochs, &accuracy).map_err(error)?;
    }
    root.present().map_err(|e| error(e.to_string()))
}

/// One metric's training and validation values per epoch.
struct Curves {
    name: &'static str,
    train: Vec<Option<f64>>,
    validation: Vec<Option<f64>>,
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    epochs: &[f64],
    curves: &Curves,
) -> Result<(), String> {
    let values = curves.train.iter().chain(&curves.validation).flatten().copied();
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    let margin = ((high - low) * 0.05).max(1e-9);
    let last = epochs.last().copied().unwrap_or(1.0).max(2.0);
    let mut chart = ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1.0..last, (low - margin)..(high + margin))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(curves.name)
        .x_label_formatter(&|epoch| format!("{epoch:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    for (label, values, color) in [("training", &curves.train, BLUE), ("validation", &curves.validation, RED)]
    {
        let points: Vec<(f64, f64)> =
            epochs.iter().zip(values).filter_map(|(&x, y)| y.map(|y| (x, y))).collect();
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// Draws grayscale images as a PNG grid at `path`: `rows` of images, each row's images side
/// by side, every image `[height, width]` row-major with values in `[0, 1]` (clamped; 0 is
/// black), every pixel drawn as a `scale × scale` square, with a 2-pixel gap between images.
///
/// # Errors
///
/// When the image cannot be drawn or written, or an image is not `height · width` long.
pub fn save_image_grid<T: Real>(
    rows: &[Vec<&[T]>],
    (height, width): (usize, usize),
    scale: u32,
    path: impl AsRef<Path>,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let error = |message: String| PlotError { path: path.to_path_buf(), message };
    if let Some(image) = rows.iter().flatten().find(|image| image.len() != height * width || width == 0) {
        return Err(error(format!("an image has {} values, not {height}×{width}", image.len())));
    }
    let too_large = || error("the grid is too large to draw".to_owned());
    let [height, width, scale] = [height, width, scale as usize].map(i32::try_from);
    let (Ok(height), Ok(width), Ok(scale)) = (height, width, scale) else { return Err(too_large()) };
    let gap = 2;
    // Where image `index` along an axis of images `size` pixels long begins.
    let cell = |index: usize, size: i32| i32::try_from(index).map(|i| i * (size * scale + gap) + gap);
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let (Ok(right), Ok(bottom)) = (cell(columns, width), cell(rows.len(), height)) else {
        return Err(too_large());
    };
    let root = BitMapBackend::new(path, (right.unsigned_abs(), bottom.unsigned_abs())).into_drawing_area();
    root.fill(&RGBColor(128, 128, 128)).map_err(|e| error(e.to_string()))?;
    for (row, images) in rows.iter().enumerate() {
        for (column, image) in images.iter().enumerate() {
            let (Ok(left), Ok(top)) = (cell(column, width), cell(row, height)) else {
                return Err(too_large());
            };
            for (y, line) in (0..).zip(image.chunks_exact(width.unsigned_abs() as usize)) {
                for (x, value) in (0..).zip(line) {
                    let level = (value.to_f64().clamp(0.0, 1.0) * 255.0).round() as u8;
                    let corner = (left + x * scale, top + y * scale);
                    let square = Rectangle::new(
                        [corner, (corner.0 + scale, corner.1 + scale)],
                        RGBColor(level, level, level).filled(),
                    );
                    root.draw(&square).map_err(|e| error(e.to_string()))?;
                }
            }
        }
    }
    root.present().map_err(|e| error(e.to_string()))
}
