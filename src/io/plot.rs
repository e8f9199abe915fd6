//! Loss curves as a PNG line chart, drawn with plotters into memory and written atomically.
//!
//! Non-finite points (a diverged loss) are skipped rather than failing the plot, and empty or
//! single-point series still produce a chart, because plots are written while training runs and
//! must never take the run down.

use std::fmt::Display;
use std::io::Cursor;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;

use super::{write_file, IoError};

/// Chart size in pixels.
pub const PLOT_WIDTH: u32 = 800;
pub const PLOT_HEIGHT: u32 = 480;

/// Values are clamped to +-PLOT_LIMIT: plotters' tick search never ends on a range whose span
/// overflows f64 (e.g. -1e308..1e308), and a loss that large has diverged anyway.
const PLOT_LIMIT: f64 = 1e300;

/// The ab_glyph text backend has no system fonts; plotters looks fonts up by family name.
const FONT_FAMILY: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// One named curve of `(step, value)` points.
pub type Series<'a> = (&'a str, Vec<(f64, f64)>);

/// Draws every series against the step on x and writes the chart to `path` as a PNG.
pub fn plot_losses(path: &Path, series: &[Series<'_>], title: &str) -> Result<(), IoError> {
    if !register_font() {
        return Err(encode_error(
            path,
            "the embedded DejaVuSans.ttf is not a valid font",
        ));
    }
    let finite: Vec<Series<'_>> = series
        .iter()
        .map(|(name, points)| {
            let kept = points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| {
                    (
                        x.clamp(-PLOT_LIMIT, PLOT_LIMIT),
                        y.clamp(-PLOT_LIMIT, PLOT_LIMIT),
                    )
                })
                .collect();
            (*name, kept)
        })
        .collect();
    let mut rgb = vec![0u8; PLOT_WIDTH as usize * PLOT_HEIGHT as usize * 3];
    draw_chart(&mut rgb, &finite, title).map_err(|err| encode_error(path, err))?;
    let chart = image::RgbImage::from_raw(PLOT_WIDTH, PLOT_HEIGHT, rgb)
        .ok_or_else(|| encode_error(path, "pixel buffer has the wrong size"))?;
    let mut bytes = Cursor::new(Vec::new());
    chart
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|err| encode_error(path, err))?;
    write_file(path, &bytes.into_inner())
}

/// Registers the embedded font once per process; later calls return the first outcome.
fn register_font() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
    })
}

fn encode_error(path: &Path, err: impl Display) -> IoError {
    IoError::Encode {
        path: path.to_path_buf(),
        message: err.to_string(),
    }
}

/// Renders into `rgb` (PLOT_WIDTH x PLOT_HEIGHT, 3 bytes a pixel). Points must be finite.
fn draw_chart(rgb: &mut [u8], series: &[Series<'_>], title: &str) -> Result<(), String> {
    let all_points = || series.iter().flat_map(|(_, points)| points.iter());
    let x_range = axis_range(all_points().map(|&(x, _)| x), 0.0);
    let y_range = axis_range(all_points().map(|&(_, y)| y), 0.05);

    let root = BitMapBackend::with_buffer(rgb, (PLOT_WIDTH, PLOT_HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT_FAMILY, 24))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, y_range)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss")
        .draw()
        .map_err(|e| e.to_string())?;
    for (index, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// The range spanned by `values`, widened by `pad` of its span on each side. With no values it
/// is 0..1, and a single value v gets v +- max(0.5, 5% of |v|), so plotters never sees an
/// empty range.
fn axis_range(values: impl Iterator<Item = f64>, pad: f64) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return 0.0..1.0;
    }
    let span = hi - lo;
    if span <= f64::EPSILON * lo.abs().max(1.0) {
        let half = (0.05 * lo.abs()).max(0.5);
        return (lo - half)..(hi + half);
    }
    (lo - pad * span)..(hi + pad * span)
}
