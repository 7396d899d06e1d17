//! SVG plots of solve, spectrum and study results: solution curves, heat maps
//! of 2-D fields, loss histories, singular-value spectra and scatter plots.
//!
//! Every function returns the SVG document as a `String`; writing it to disk
//! is the caller's business. The output is deterministic (the same input gives
//! a byte-identical document) and text is emitted as SVG `<text>` elements, so
//! no font is needed to draw; the viewer picks a sans-serif font.
//!
//! Conventions shared by all functions:
//! - No input makes them panic. Inconsistent inputs (slices whose lengths
//!   disagree, non-finite or descending heat-map coordinates) give a
//!   [`PlotError`].
//! - Non-finite values are skipped, and so are non-positive values on a
//!   logarithmic axis. Lines are broken where points are skipped; a point
//!   with no neighbour on either side is drawn as a marker.
//! - If nothing is left to draw (empty input, all NaN, nothing positive on a
//!   log axis), the result is still a valid SVG: empty axes with a
//!   "nothing to plot: ..." note in the middle.
//! - On linear axes, magnitudes beyond 1e300 are drawn at +-1e300.

use std::fmt;
use std::ops::Range;

use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::element::{DashedPathElement, Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Errors from drawing (plotters' errors turned into a message).
///
/// Also returned for inconsistent inputs, such as slices whose lengths
/// disagree, so that callers can report them instead of crashing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotError(pub String);

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlotError {}

/// Turns any drawing error into a [`PlotError`].
fn draw_err<E: fmt::Display>(e: E) -> PlotError {
    PlotError(format!("drawing failed: {e}"))
}

/// Size of line, history, spectrum and scatter plots, in pixels.
const XY_SIZE: (u32, u32) = (800, 500);
/// Size of heat maps (plot plus color bar), in pixels.
const HEATMAP_SIZE: (u32, u32) = (700, 600);
/// Largest magnitude drawn on a linear axis; keeps ranges and pixels finite.
const LIMIT: f64 = 1e300;
/// Font family of all text.
const FONT: &str = "sans-serif";

/// Series colors (the Tableau 10 palette), used in order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Stops of the viridis color map, from low to high values.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 45, 123),
    (59, 82, 139),
    (44, 114, 142),
    (33, 145, 140),
    (40, 174, 128),
    (94, 201, 98),
    (173, 220, 48),
    (253, 231, 37),
];

/// Number of color strips in a heat map's color bar.
const STRIPS: usize = 128;

/// Color of heat-map cells whose value is not finite.
const MISSING: RGBColor = RGBColor(200, 200, 200);

fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A 1-D solution: the prediction as a line and, if given, the exact solution
/// as a second (dashed, red) line, against x.
///
/// `x` is expected sorted ascending. Title and axis labels are drawn as given.
///
/// # Errors
/// If `predicted` or `exact` is not as long as `x`, or drawing fails.
pub fn curve_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    x: &[f64],
    predicted: &[f64],
    exact: Option<&[f64]>,
) -> Result<String, PlotError> {
    check_len("curve_svg", "predicted", predicted.len(), x.len())?;
    if let Some(exact) = exact {
        check_len("curve_svg", "exact", exact.len(), x.len())?;
    }
    let mut curves = vec![("predicted", predicted, false)];
    if let Some(exact) = exact {
        curves.push(("exact", exact, true));
    }
    let layers: Vec<Layer> = curves
        .into_iter()
        .enumerate()
        .map(|(i, (name, ys, dashed))| Layer::Line {
            name: name.to_string(),
            color: if dashed { palette(3) } else { palette(i) },
            dashed,
            segments: segments(
                x.iter()
                    .zip(ys)
                    .map(|(&x, &y)| Some((Scale::Linear.to_axis(x)?, Scale::Linear.to_axis(y)?))),
            ),
        })
        .collect();
    let x_axis = Axis::fit(Scale::Linear, layer_values(&layers, |p| p.0), false);
    let y_axis = Axis::fit(Scale::Linear, layer_values(&layers, |p| p.1), true);
    render_xy(&XyPlot {
        title,
        x_label,
        y_label,
        x: x_axis,
        y: y_axis,
        layers,
        empty_note: "nothing to plot: no finite points",
    })
}

/// Several 1-D curves against the same `x` (sorted ascending), one color
/// each, e.g. snapshots of a time-dependent solution.
///
/// # Errors
/// If a series is not as long as `x`, or drawing fails.
pub fn lines_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    x: &[f64],
    series: &[(&str, &[f64])],
) -> Result<String, PlotError> {
    for (name, ys) in series {
        check_len("lines_svg", name, ys.len(), x.len())?;
    }
    let layers: Vec<Layer> = series
        .iter()
        .enumerate()
        .map(|(i, (name, ys))| Layer::Line {
            name: name.to_string(),
            color: palette(i),
            dashed: false,
            segments: segments(
                x.iter()
                    .zip(ys.iter())
                    .map(|(&x, &y)| Some((Scale::Linear.to_axis(x)?, Scale::Linear.to_axis(y)?))),
            ),
        })
        .collect();
    let x_axis = Axis::fit(Scale::Linear, layer_values(&layers, |p| p.0), false);
    let y_axis = Axis::fit(Scale::Linear, layer_values(&layers, |p| p.1), true);
    render_xy(&XyPlot {
        title,
        x_label,
        y_label,
        x: x_axis,
        y: y_axis,
        layers,
        empty_note: "nothing to plot: no finite points",
    })
}

/// A 2-D field on a tensor grid as a heat map with a color bar:
/// `values[i * ny + j]` is drawn at `(xs[i], ys[j])`.
///
/// `xs` and `ys` must be finite and ascending; each value fills the cell
/// between the midpoints to its neighbours. Used for the prediction and for
/// the pointwise error |u - u_exact|. Non-finite values are drawn gray.
///
/// # Errors
/// If `values.len() != xs.len() * ys.len()`, if the coordinates are not
/// finite and ascending, or if drawing fails.
pub fn heatmap_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    xs: &[f64],
    ys: &[f64],
    values: &[f64],
) -> Result<String, PlotError> {
    let (nx, ny) = (xs.len(), ys.len());
    let cells = nx.checked_mul(ny).ok_or_else(|| {
        PlotError(format!(
            "heatmap_svg: grid of {nx} x {ny} points is too large"
        ))
    })?;
    if values.len() != cells {
        return Err(PlotError(format!(
            "heatmap_svg: values has {} entries but xs.len() * ys.len() = {nx} * {ny} = {cells}",
            values.len()
        )));
    }
    check_grid("xs", xs)?;
    check_grid("ys", ys)?;

    let x_edges = cell_edges(xs);
    let y_edges = cell_edges(ys);
    let x_axis = Axis::fit(Scale::Linear, x_edges.iter().copied(), false);
    let y_axis = Axis::fit(Scale::Linear, y_edges.iter().copied(), false);
    let range = finite_range(values.iter().copied());
    let note = if cells == 0 {
        Some("nothing to plot: empty grid")
    } else if range.is_none() {
        Some("nothing to plot: no finite values")
    } else {
        None
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, HEATMAP_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let body = root
            .titled(title, (FONT, 22).into_font())
            .map_err(draw_err)?;
        let (width, _) = body.dim_in_pixel();
        let (main, bar) = body.split_horizontally(width.saturating_sub(120));

        let mut chart = ChartBuilder::on(&main)
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(x_axis.clone(), y_axis.clone())
            .map_err(draw_err)?;
        let fx = |v: &f64| x_axis.label(*v);
        let fy = |v: &f64| y_axis.label(*v);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(draw_err)?;

        let cell_rects = (0..cells).map(|k| {
            let (i, j) = (k / ny.max(1), k % ny.max(1));
            let color = range.map_or(MISSING, |r| color_of(values[k], r));
            Rectangle::new(
                [
                    (clamp_axis(x_edges[i]), clamp_axis(y_edges[j])),
                    (clamp_axis(x_edges[i + 1]), clamp_axis(y_edges[j + 1])),
                ],
                color.filled(),
            )
        });
        chart.draw_series(cell_rects).map_err(draw_err)?;
        if let Some(note) = note {
            draw_note(chart.plotting_area(), note)?;
        }

        draw_color_bar(&bar, range)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Loss histories on a log-scale y axis: one line per named series against
/// iteration (1-based index).
///
/// Non-positive or non-finite values are skipped (not plotted), never a panic.
///
/// # Errors
/// Only if drawing fails.
pub fn history_svg(title: &str, series: &[(&str, &[f64])]) -> Result<String, PlotError> {
    let layers: Vec<Layer> = series
        .iter()
        .enumerate()
        .map(|(i, (name, values))| index_line(name, palette(i), values))
        .collect();
    let longest = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    render_xy(&XyPlot {
        title,
        x_label: "iteration",
        y_label: "loss",
        x: Axis::index(longest),
        y: Axis::fit(Scale::Log, layer_values(&layers, |p| p.1), true),
        layers,
        empty_note: "nothing to plot: no positive finite values",
    })
}

/// Several spectra (e.g. singular values) on a log-scale y axis against index
/// (1-based), one line per named series, plus optional horizontal reference
/// lines `(name, value)`, e.g. a cutoff.
///
/// Non-positive or non-finite values, including reference values, are skipped.
///
/// # Errors
/// Only if drawing fails.
pub fn spectrum_svg(
    title: &str,
    series: &[(&str, &[f64])],
    reference_lines: &[(&str, f64)],
) -> Result<String, PlotError> {
    let mut layers: Vec<Layer> = series
        .iter()
        .enumerate()
        .map(|(i, (name, values))| index_line(name, palette(i), values))
        .collect();
    for (k, (name, value)) in reference_lines.iter().enumerate() {
        if let Some(y) = Scale::Log.to_axis(*value) {
            layers.push(Layer::HLine {
                name: format!("{name} = {}", fmt_sig(*value)),
                color: palette(series.len() + k),
                y,
            });
        }
    }
    let longest = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    render_xy(&XyPlot {
        title,
        x_label: "index",
        y_label: "value",
        x: Axis::index(longest),
        y: Axis::fit(Scale::Log, layer_values(&layers, |p| p.1), true),
        layers,
        empty_note: "nothing to plot: no positive finite values",
    })
}

/// A scatter plot with markers, one marker shape and color per named group,
/// with optional log scales on each axis: e.g. residual loss against
/// truncated entropy per diff mode, or error against h on log-log axes.
///
/// Points with a non-finite coordinate, or a non-positive one on a log axis,
/// are skipped.
///
/// # Errors
/// Only if drawing fails.
pub fn scatter_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    log_x: bool,
    log_y: bool,
    groups: &[(&str, &[(f64, f64)])],
) -> Result<String, PlotError> {
    let sx = if log_x { Scale::Log } else { Scale::Linear };
    let sy = if log_y { Scale::Log } else { Scale::Linear };
    let layers: Vec<Layer> = groups
        .iter()
        .enumerate()
        .map(|(i, (name, points))| Layer::Points {
            name: name.to_string(),
            color: palette(i),
            mark: Mark::ALL[i % Mark::ALL.len()],
            points: points
                .iter()
                .filter_map(|&(x, y)| Some((sx.to_axis(x)?, sy.to_axis(y)?)))
                .collect(),
        })
        .collect();
    render_xy(&XyPlot {
        title,
        x_label,
        y_label,
        x: Axis::fit(sx, layer_values(&layers, |p| p.0), true),
        y: Axis::fit(sy, layer_values(&layers, |p| p.1), true),
        layers,
        empty_note: if log_x || log_y {
            "nothing to plot: no finite points (positive on log axes)"
        } else {
            "nothing to plot: no finite points"
        },
    })
}

fn check_len(func: &str, what: &str, len: usize, expected: usize) -> Result<(), PlotError> {
    if len == expected {
        Ok(())
    } else {
        Err(PlotError(format!(
            "{func}: {what} has {len} values but x has {expected}"
        )))
    }
}

fn check_grid(what: &str, coords: &[f64]) -> Result<(), PlotError> {
    if let Some(i) = coords.iter().position(|c| !c.is_finite()) {
        return Err(PlotError(format!(
            "heatmap_svg: {what}[{i}] = {} is not finite",
            coords[i]
        )));
    }
    if let Some(i) = coords.windows(2).position(|w| w[1] < w[0]) {
        return Err(PlotError(format!(
            "heatmap_svg: {what} is not ascending ({what}[{}] = {} > {what}[{}] = {})",
            i,
            coords[i],
            i + 1,
            coords[i + 1]
        )));
    }
    Ok(())
}

/// How data values map to axis positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    Linear,
    /// Axis positions are log10 of the values.
    Log,
}

impl Scale {
    /// The axis position of a data value, or `None` if it cannot be drawn.
    fn to_axis(self, v: f64) -> Option<f64> {
        match self {
            Scale::Linear => v.is_finite().then(|| clamp_axis(v)),
            Scale::Log => (v.is_finite() && v > 0.0).then(|| v.log10()),
        }
    }
}

fn clamp_axis(v: f64) -> f64 {
    v.clamp(-LIMIT, LIMIT)
}

/// One axis: its range and tick positions, in axis units (log10 for log axes).
#[derive(Clone, Debug)]
struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    /// Distance between ticks on a linear axis; decides label precision.
    step: f64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
}

impl Axis {
    /// An axis covering the finite `values` (already in axis units),
    /// with a margin of 5% on each side of a linear axis if `pad`.
    fn fit(scale: Scale, values: impl IntoIterator<Item = f64>, pad: bool) -> Axis {
        let range = finite_range(values);
        match scale {
            Scale::Linear => {
                let (mut lo, mut hi) = range.unwrap_or((0.0, 1.0));
                let big = lo.abs().max(hi.abs());
                if hi - lo <= big * 1e-12 {
                    let c = lo / 2.0 + hi / 2.0;
                    let d = if c == 0.0 {
                        1.0
                    } else {
                        (c.abs() * 0.1).max(1e-300)
                    };
                    (lo, hi) = (c - d, c + d);
                } else if pad {
                    let d = (hi - lo) * 0.05;
                    (lo, hi) = (lo - d, hi + d);
                }
                Axis::linear(clamp_axis(lo), clamp_axis(hi), 1e-300)
            }
            Scale::Log => {
                let (mut lo, mut hi) = range.unwrap_or((0.0, 1.0));
                if hi - lo < 1e-9 {
                    (lo, hi) = (lo - 0.5, hi + 0.5);
                } else if pad {
                    let d = (hi - lo) * 0.05;
                    (lo, hi) = (lo - d, hi + d);
                }
                Axis::log(lo, hi)
            }
        }
    }

    /// A linear axis for 1-based indices up to `n`, with integer ticks.
    fn index(n: usize) -> Axis {
        if n <= 1 {
            Axis::linear(0.0, 2.0, 1.0)
        } else {
            Axis::linear(1.0, n as f64, 1.0)
        }
    }

    /// A linear axis on `[lo, hi]` (finite, `lo < hi`) with "nice" ticks at
    /// least `min_step` apart.
    fn linear(lo: f64, hi: f64, min_step: f64) -> Axis {
        let mut axis = Axis {
            scale: Scale::Linear,
            lo,
            hi,
            step: hi - lo,
            ticks: vec![lo, hi],
            minor: Vec::new(),
        };
        let raw = (hi - lo) / 6.0;
        if !(raw.is_finite() && raw > 0.0) {
            return axis;
        }
        let power = 10f64.powf(raw.log10().floor());
        if !(power.is_finite() && power > 0.0) {
            return axis;
        }
        let m = raw / power;
        let nice = if m < 1.5 {
            1.0
        } else if m < 3.0 {
            2.0
        } else if m < 7.0 {
            5.0
        } else {
            10.0
        };
        let step = (nice * power).max(min_step);
        let (k0, k1) = ((lo / step).ceil(), (hi / step).floor());
        if !(k0.is_finite() && k1.is_finite()) || k1 < k0 || k1 - k0 > 100.0 {
            return axis;
        }
        axis.step = step;
        axis.ticks = (0..=(k1 - k0) as usize)
            .map(|i| {
                let t = (k0 + i as f64) * step;
                if t.abs() < step * 1e-9 {
                    0.0
                } else {
                    t.clamp(lo, hi)
                }
            })
            .collect();
        axis
    }

    /// A log axis over `[lo, hi]` (log10 of the values, `lo < hi`): ticks at
    /// powers of ten, or at 1-2-5 (or every) mantissa if that gives fewer
    /// than two ticks, with minor grid lines at 2..9 times a power of ten.
    fn log(lo: f64, hi: f64) -> Axis {
        let decades = hi - lo;
        let step = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
            .into_iter()
            .find(|s| decades / s <= 8.0)
            .unwrap_or(500.0);
        let (k0, k1) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
        let mut ticks: Vec<f64> = (k0..=k1).map(|k| k as f64 * step).collect();
        let in_range = |t: &f64| (lo..=hi).contains(t);
        let with_mantissas = |mantissas: &[f64]| -> Vec<f64> {
            ((lo.floor() as i64)..=(hi.floor() as i64))
                .flat_map(|d| mantissas.iter().map(move |m| d as f64 + m.log10()))
                .filter(in_range)
                .collect()
        };
        let mut minor = Vec::new();
        if step == 1.0 && decades <= 6.0 {
            minor = with_mantissas(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        }
        if ticks.len() < 2 {
            ticks = with_mantissas(&[1.0, 2.0, 5.0]);
        }
        if ticks.len() < 2 {
            ticks = with_mantissas(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        }
        if ticks.len() < 2 {
            ticks = vec![lo, hi];
        }
        Axis {
            scale: Scale::Log,
            lo,
            hi,
            step,
            ticks,
            minor,
        }
    }

    /// The tick label at axis position `v`.
    fn label(&self, v: f64) -> String {
        match self.scale {
            Scale::Linear => fmt_linear(v, self.step, self.lo.abs().max(self.hi.abs())),
            Scale::Log => fmt_pow10(v),
        }
    }
}

/// The axis as a plotters coordinate: our own mapping (which keeps pixels
/// near the plot even for wild values) and our own ticks.
impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, (p0, p1): (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let t = if t.is_finite() {
            t.clamp(-1.0, 2.0)
        } else {
            0.5
        };
        (f64::from(p0) + t * f64::from(p1 - p0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Minimum and maximum of the finite values, if there are any.
fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// A linear tick label: fixed point with as many decimals as the tick step
/// needs, or scientific notation for very large or small axes.
fn fmt_linear(v: f64, step: f64, big: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    let step_exp = step.log10().floor();
    if (1e-3..1e5).contains(&big) {
        let decimals = (-step_exp).clamp(0.0, 12.0) as usize;
        format!("{v:.decimals$}")
    } else {
        let digits = (v.abs().log10().floor() - step_exp).clamp(0.0, 6.0) as usize;
        fmt_sci(v, digits)
    }
}

/// The label of log-axis position `t`, i.e. of the value 10^t.
fn fmt_pow10(t: f64) -> String {
    let k = t.round();
    if (t - k).abs() > 1e-9 {
        if t.abs() < 300.0 {
            return fmt_sig(10f64.powf(t));
        }
        // 10^t may overflow or be subnormal: print mantissa and exponent apart.
        let e = t.floor();
        let m = fmt_sig(10f64.powf(t - e));
        return if m == "10" {
            format!("1e{}", e as i32 + 1)
        } else {
            format!("{m}e{}", e as i32)
        };
    }
    match k as i32 {
        k @ -3..=0 => format!("{:.*}", k.unsigned_abs() as usize, 10f64.powi(k)),
        k @ 1..=4 => format!("{}", 10i64.pow(k as u32)),
        k => format!("1e{k}"),
    }
}

/// A value with four significant digits, for legends and color-bar labels.
fn fmt_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    let exp = v.abs().log10().floor();
    if (-3.0..5.0).contains(&exp) {
        let decimals = (3.0 - exp).max(0.0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        fmt_sci(v, 3)
    }
}

/// Scientific notation with at most `digits` decimals and no trailing zeros
/// in the mantissa: "1.5e-7", "2e12".
fn fmt_sci(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => {
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e{exp}")
        }
        _ => s,
    }
}

/// Splits a sequence of points into runs of consecutive drawable points.
fn segments(points: impl Iterator<Item = Option<(f64, f64)>>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for p in points {
        match p {
            Some(p) => current.push(p),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A line of `values` against 1-based index on a log y axis.
fn index_line(name: &str, color: RGBColor, values: &[f64]) -> Layer {
    Layer::Line {
        name: name.to_string(),
        color,
        dashed: false,
        segments: segments(
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| Some(((i + 1) as f64, Scale::Log.to_axis(v)?))),
        ),
    }
}

/// Marker shapes for scatter groups, used in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Dot,
    Triangle,
    Cross,
    Ring,
    HollowTriangle,
}

impl Mark {
    const ALL: [Mark; 5] = [
        Mark::Dot,
        Mark::Triangle,
        Mark::Cross,
        Mark::Ring,
        Mark::HollowTriangle,
    ];
}

/// One named thing drawn on an x-y chart, in axis units.
enum Layer {
    /// A polyline, broken into runs of drawable points.
    Line {
        name: String,
        color: RGBColor,
        dashed: bool,
        segments: Vec<Vec<(f64, f64)>>,
    },
    /// Unconnected markers.
    Points {
        name: String,
        color: RGBColor,
        mark: Mark,
        points: Vec<(f64, f64)>,
    },
    /// A horizontal line across the whole chart.
    HLine {
        name: String,
        color: RGBColor,
        y: f64,
    },
}

impl Layer {
    fn name(&self) -> &str {
        match self {
            Layer::Line { name, .. } | Layer::Points { name, .. } | Layer::HLine { name, .. } => {
                name
            }
        }
    }

    fn points(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        match self {
            Layer::Line { segments, .. } => Box::new(segments.iter().flatten().copied()),
            Layer::Points { points, .. } => Box::new(points.iter().copied()),
            Layer::HLine { y, .. } => Box::new(std::iter::once((f64::NAN, *y))),
        }
    }
}

/// One coordinate of every point of `layers`.
fn layer_values<'a>(
    layers: &'a [Layer],
    pick: impl Fn((f64, f64)) -> f64 + 'a,
) -> impl Iterator<Item = f64> + 'a {
    layers.iter().flat_map(Layer::points).map(pick)
}

/// Everything needed to draw an x-y chart.
struct XyPlot<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    x: Axis,
    y: Axis,
    layers: Vec<Layer>,
    empty_note: &'a str,
}

fn render_xy(plot: &XyPlot) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, XY_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw_xy(&root, plot)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

fn draw_xy<'a, DB: DrawingBackend + 'a>(
    root: &'a DrawingArea<DB, Shift>,
    plot: &XyPlot,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let (x, y) = (&plot.x, &plot.y);
    let mut chart = ChartBuilder::on(root)
        .caption(plot.title, (FONT, 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(x.clone(), y.clone())
        .map_err(draw_err)?;
    let fx = |v: &f64| x.label(*v);
    let fy = |v: &f64| y.label(*v);
    chart
        .configure_mesh()
        .x_desc(plot.x_label)
        .y_desc(plot.y_label)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05))
        .draw()
        .map_err(draw_err)?;

    for layer in &plot.layers {
        match layer {
            Layer::Line {
                name,
                color,
                dashed,
                segments,
            } => {
                let style = color.stroke_width(2);
                let runs = segments.iter().filter(|s| s.len() > 1);
                if *dashed {
                    chart
                        .draw_series(runs.map(|s| dashed_path(s.iter().copied(), style)))
                        .map_err(draw_err)?
                        .label(name.as_str())
                        .legend(move |(x, y)| dashed_path([(x, y), (x + 20, y)], style));
                } else {
                    chart
                        .draw_series(runs.map(|s| PathElement::new(s.clone(), style)))
                        .map_err(draw_err)?
                        .label(name.as_str())
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
                }
                let lonely = segments.iter().filter(|s| s.len() == 1).map(|s| s[0]);
                chart
                    .draw_series(lonely.map(|p| Circle::new(p, 3, color.filled())))
                    .map_err(draw_err)?;
            }
            Layer::Points {
                name,
                color,
                mark,
                points,
            } => {
                let (fill, line) = (color.filled(), color.stroke_width(2));
                match mark {
                    Mark::Dot => draw_marks(
                        &mut chart,
                        points,
                        name,
                        |p| Circle::new(p, 4, fill),
                        move |(x, y)| Circle::new((x + 10, y), 4, fill),
                    ),
                    Mark::Triangle => draw_marks(
                        &mut chart,
                        points,
                        name,
                        |p| TriangleMarker::new(p, 6, fill),
                        move |(x, y)| TriangleMarker::new((x + 10, y), 6, fill),
                    ),
                    Mark::Cross => draw_marks(
                        &mut chart,
                        points,
                        name,
                        |p| Cross::new(p, 4, line),
                        move |(x, y)| Cross::new((x + 10, y), 4, line),
                    ),
                    Mark::Ring => draw_marks(
                        &mut chart,
                        points,
                        name,
                        |p| Circle::new(p, 4, line),
                        move |(x, y)| Circle::new((x + 10, y), 4, line),
                    ),
                    Mark::HollowTriangle => draw_marks(
                        &mut chart,
                        points,
                        name,
                        |p| TriangleMarker::new(p, 6, line),
                        move |(x, y)| TriangleMarker::new((x + 10, y), 6, line),
                    ),
                }?;
            }
            Layer::HLine { name, color, y } => {
                let style = color.stroke_width(2);
                chart
                    .draw_series(std::iter::once(dashed_path(
                        [(x.lo, *y), (x.hi, *y)],
                        style,
                    )))
                    .map_err(draw_err)?
                    .label(name.as_str())
                    .legend(move |(x, y)| dashed_path([(x, y), (x + 20, y)], style));
            }
        }
    }

    if !plot.layers.is_empty() {
        chart
            .configure_series_labels()
            .position(legend_corner(plot))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 14))
            .draw()
            .map_err(draw_err)?;
    }
    if plot.layers.iter().all(|l| l.points().next().is_none()) {
        draw_note(chart.plotting_area(), plot.empty_note)?;
    }
    Ok(())
}

/// The corner of the plot where the legend hides the fewest data points,
/// preferring the upper right one.
fn legend_corner(plot: &XyPlot) -> SeriesLabelPosition {
    // Rough legend and plot-area sizes in pixels, from the layout above.
    let longest = plot
        .layers
        .iter()
        .map(|l| l.name().chars().count())
        .max()
        .unwrap_or(0);
    let width = (60.0 + 6.5 * longest as f64) / 690.0;
    let height = (15.0 + 18.0 * plot.layers.len() as f64) / 395.0;
    let to_unit = |(px, py): (f64, f64)| {
        (
            (px - plot.x.lo) / (plot.x.hi - plot.x.lo),
            (py - plot.y.lo) / (plot.y.hi - plot.y.lo),
        )
    };
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerLeft, false, false),
        (SeriesLabelPosition::LowerRight, true, false),
    ];
    let mut hidden = [0usize; 4];
    let mut count = |(u, v): (f64, f64)| {
        for (k, &(_, right, upper)) in corners.iter().enumerate() {
            let in_x = if right { u > 1.0 - width } else { u < width };
            let in_y = if upper { v > 1.0 - height } else { v < height };
            if in_x && in_y {
                hidden[k] += 1;
            }
        }
    };
    for layer in &plot.layers {
        match layer {
            Layer::Line { segments, .. } => {
                for run in segments {
                    if let Some(&first) = run.first() {
                        count(to_unit(first));
                    }
                    for pair in run.windows(2) {
                        let ((u0, v0), (u1, v1)) = (to_unit(pair[0]), to_unit(pair[1]));
                        let steps = ((u1 - u0).abs().max((v1 - v0).abs()) / 0.01)
                            .ceil()
                            .clamp(1.0, 100.0) as usize;
                        for i in 1..=steps {
                            let t = i as f64 / steps as f64;
                            count((u0 + (u1 - u0) * t, v0 + (v1 - v0) * t));
                        }
                    }
                }
            }
            Layer::Points { points, .. } => points.iter().for_each(|&p| count(to_unit(p))),
            Layer::HLine { y, .. } => {
                let (_, v) = to_unit((plot.x.lo, *y));
                (0..=100).for_each(|i| count((f64::from(i) / 100.0, v)));
            }
        }
    }
    let best = (0..corners.len()).min_by_key(|&k| hidden[k]).unwrap_or(0);
    corners[best].0.clone()
}

/// A dashed line through `points`.
fn dashed_path<C, I>(points: I, style: ShapeStyle) -> DashedPathElement<I::IntoIter, u32>
where
    I: IntoIterator<Item = C>,
    I::IntoIter: Clone,
{
    DashedPathElement::new(points, 8, 5, style)
}

/// Draws one scatter group with `element` and gives it a legend entry drawn
/// by `legend`.
fn draw_marks<'a, DB, E, L, LE>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<Axis, Axis>>,
    points: &[(f64, f64)],
    name: &str,
    element: impl Fn((f64, f64)) -> E,
    legend: L,
) -> Result<(), PlotError>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    E: Drawable<DB>,
    for<'b> &'b E: PointCollection<'b, (f64, f64)>,
    L: Fn((i32, i32)) -> LE + 'a,
    LE: IntoDynElement<'a, DB, (i32, i32)>,
{
    chart
        .draw_series(points.iter().map(|&p| element(p)))
        .map_err(draw_err)?
        .label(name)
        .legend(legend);
    Ok(())
}

/// Writes `note` in the middle of `area`.
fn draw_note<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    note: &str,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let area = area.strip_coord_spec();
    let style = TextStyle::from((FONT, 16).into_font())
        .color(&RGBColor(90, 90, 90))
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(note, (w as i32 / 2, h as i32 / 2), style))
        .map_err(draw_err)
}

/// Cell boundaries of a grid: midpoints between neighbours, and half a
/// spacing beyond the ends. Computed without overflow for huge coordinates.
fn cell_edges(coords: &[f64]) -> Vec<f64> {
    match coords {
        [] => Vec::new(),
        [c] => {
            let half = (c.abs() * 0.05).max(0.5);
            vec![clamp_axis(c - half), clamp_axis(c + half)]
        }
        [first, second, ..] => {
            let (before_last, last) = (coords[coords.len() - 2], coords[coords.len() - 1]);
            let mut edges = Vec::with_capacity(coords.len() + 1);
            edges.push(first - (second / 2.0 - first / 2.0));
            edges.extend(coords.windows(2).map(|w| w[0] / 2.0 + w[1] / 2.0));
            edges.push(last + (last / 2.0 - before_last / 2.0));
            edges.into_iter().map(clamp_axis).collect()
        }
    }
}

/// The color-map color of `v` on the value range `(lo, hi)`.
fn color_of(v: f64, (lo, hi): (f64, f64)) -> RGBColor {
    if !v.is_finite() {
        return MISSING;
    }
    // Halves keep the differences finite even for +-f64::MAX.
    let span = hi / 2.0 - lo / 2.0;
    let t = if span > 0.0 {
        ((v / 2.0 - lo / 2.0) / span).clamp(0.0, 1.0)
    } else {
        0.5
    };
    viridis(t)
}

/// The viridis color at `t` in `[0, 1]`.
fn viridis(t: f64) -> RGBColor {
    let x = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The color bar of a heat map: the color map over the value range, with
/// ticks and explicit min and max labels.
fn draw_color_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    range: Option<(f64, f64)>,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let axis = Axis::fit(
        Scale::Linear,
        range.map_or([f64::NAN; 2], |(lo, hi)| [lo, hi]),
        false,
    );
    let (_, h) = area.dim_in_pixel();
    let mut chart = ChartBuilder::on(area)
        .margin_top(35)
        .margin_bottom(55)
        .margin_left(5)
        .margin_right(5)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, axis.clone())
        .map_err(draw_err)?;
    let fy = |v: &f64| axis.label(*v);
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_label_formatter(&fy)
        .label_style((FONT, 12))
        .draw()
        .map_err(draw_err)?;
    let span = axis.hi - axis.lo;
    let strips = (0..STRIPS).map(|k| {
        let y0 = axis.lo + span * k as f64 / STRIPS as f64;
        let y1 = axis.lo + span * (k + 1) as f64 / STRIPS as f64;
        let color = match range {
            Some(r) => color_of(y0 / 2.0 + y1 / 2.0, r),
            None => MISSING,
        };
        Rectangle::new([(0.0, y0), (1.0, y1)], color.filled())
    });
    chart.draw_series(strips).map_err(draw_err)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(0.0, axis.lo), (1.0, axis.hi)],
            BLACK.mix(0.6),
        )))
        .map_err(draw_err)?;

    let (min, max) = match range {
        Some((lo, hi)) => (fmt_sig(lo), fmt_sig(hi)),
        None => ("-".to_string(), "-".to_string()),
    };
    let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(format!("max {max}"), (5, 18), style.clone()))
        .map_err(draw_err)?;
    area.draw(&Text::new(format!("min {min}"), (5, h as i32 - 35), style))
        .map_err(draw_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the document's outline: one `<svg>` element around everything.
    fn assert_svg(svg: &str) {
        let s = svg.trim();
        assert!(s.starts_with("<svg"), "does not start with <svg");
        assert!(s.ends_with("</svg>"), "does not end with </svg>");
        assert_eq!(s.matches("<svg").count(), 1);
        assert_eq!(s.matches("</svg>").count(), 1);
        assert_eq!(s.matches("<text").count(), s.matches("</text>").count());
        assert!(
            !s.contains("NaN") && !s.contains("inf"),
            "non-finite number"
        );
    }

    /// The contents of all `<text>` elements, trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_string())
            })
            .collect()
    }

    fn has_text(svg: &str, text: &str) -> bool {
        texts(svg).iter().any(|t| t == text)
    }

    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    fn count(svg: &str, tag: &str) -> usize {
        svg.matches(tag).count()
    }

    #[test]
    fn curve_has_title_legend_and_two_lines() {
        let x: Vec<f64> = (0..50).map(|i| f64::from(i) / 49.0).collect();
        let p: Vec<f64> = x.iter().map(|x| (3.0 * x).sin()).collect();
        let e: Vec<f64> = x.iter().map(|x| (3.0 * x).sin() + 0.01).collect();
        let svg = curve_svg("u(x) of poisson1d", "x", "u", &x, &p, Some(&e)).unwrap();
        assert_svg(&svg);
        assert!(has_text(&svg, "u(x) of poisson1d"));
        assert!(has_text(&svg, "predicted") && has_text(&svg, "exact"));
        assert!(has_text(&svg, "x") && has_text(&svg, "u"));
        let only = curve_svg("t", "x", "u", &x, &p, None).unwrap();
        assert!(!has_text(&only, "exact"));
        // The exact solution adds dashes, each its own polyline.
        assert!(count(&svg, "<polyline") > count(&only, "<polyline") + 5);
    }

    #[test]
    fn curve_mismatched_lengths_is_err() {
        let err = curve_svg("t", "x", "u", &[0.0, 1.0], &[1.0], None).unwrap_err();
        assert!(
            err.0.contains("predicted has 1 values but x has 2"),
            "{err}"
        );
        let err = curve_svg("t", "x", "u", &[0.0, 1.0], &[1.0, 2.0], Some(&[1.0])).unwrap_err();
        assert!(err.0.contains("exact"), "{err}");
    }

    #[test]
    fn empty_and_degenerate_inputs_do_not_panic() {
        let nan = [f64::NAN; 3];
        let huge = [f64::MAX, 0.0, -f64::MAX];
        let svgs = [
            curve_svg("empty", "x", "u", &[], &[], None),
            curve_svg("", "", "", &[0.0, 1.0], &[0.0, 1.0], None),
            heatmap_svg("", "", "", &[0.0], &[0.0], &[0.0]),
            scatter_svg("", "", "", false, false, &[("", &[(0.0, 0.0)][..])]),
            curve_svg("nan", "x", "u", &nan, &nan, Some(&nan)),
            curve_svg("const", "x", "u", &[1.0, 1.0], &[2.0, 2.0], None),
            curve_svg("one", "x", "u", &[0.5], &[1e-300], None),
            curve_svg("huge", "x", "u", &[-1e300, 0.0, 1e300], &huge, None),
            curve_svg("tiny", "x", "u", &[1e-300, 2e-300], &[1e-300, 3e-300], None),
            curve_svg("denormal", "x", "u", &[0.0, 1.0], &[5e-324, 1e-323], None),
            history_svg("none", &[]),
            history_svg("empty", &[("a", &[][..])]),
            history_svg("zeros", &[("a", &[0.0, -1.0, f64::NAN][..])]),
            history_svg("wide", &[("a", &[1e-300, 1e300, 5e-324, f64::MAX][..])]),
            history_svg("one", &[("a", &[3.0][..])]),
            spectrum_svg("none", &[], &[]),
            spectrum_svg("cut", &[], &[("cutoff", 1e-8), ("bad", -1.0)]),
            spectrum_svg("nan", &[("s", &nan[..])], &[("nan", f64::NAN)]),
            scatter_svg("none", "x", "y", true, true, &[]),
            scatter_svg(
                "neg",
                "x",
                "y",
                true,
                true,
                &[("g", &[(-1.0, 2.0), (0.0, 0.0)][..])],
            ),
            scatter_svg("one", "x", "y", false, false, &[("g", &[(3.0, 3.0)][..])]),
            scatter_svg(
                "max",
                "x",
                "y",
                false,
                true,
                &[("g", &[(f64::MAX, 1e300)][..])],
            ),
            heatmap_svg("empty", "x", "y", &[], &[], &[]),
            heatmap_svg("no y", "x", "y", &[0.0, 1.0], &[], &[]),
            heatmap_svg("nan", "x", "y", &[0.0, 1.0], &[0.0], &nan[..2]),
            heatmap_svg("const", "x", "y", &[0.0], &[0.0], &[7.0]),
            heatmap_svg("dup", "x", "y", &[1.0, 1.0], &[2.0], &[1.0, 2.0]),
            heatmap_svg("huge", "x", "y", &[-f64::MAX, f64::MAX], &[0.0], &huge[..2]),
        ];
        for svg in svgs {
            assert_svg(&svg.unwrap());
        }
    }

    #[test]
    fn nothing_to_plot_gets_a_note() {
        let note = |svg: &str| texts(svg).iter().any(|t| t.starts_with("nothing to plot"));
        assert!(note(&history_svg("t", &[("a", &[0.0, 0.0][..])]).unwrap()));
        assert!(note(&curve_svg("t", "x", "u", &[], &[], None).unwrap()));
        assert!(note(&heatmap_svg("t", "x", "y", &[], &[], &[]).unwrap()));
        assert!(!note(&history_svg("t", &[("a", &[1.0, 0.5][..])]).unwrap()));
        // A reference line alone is something to plot.
        assert!(!note(&spectrum_svg("t", &[], &[("cut", 1.0)]).unwrap()));
    }

    #[test]
    fn history_has_legend_and_breaks_lines_at_skipped_values() {
        let a = [1.0, 0.1, 0.0, 0.01, -1.0, f64::INFINITY, 0.001, 1e-4];
        let b = [2.0, 1.0, 0.5];
        let svg = history_svg("loss history", &[("residual", &a), ("boundary", &b)]).unwrap();
        assert_svg(&svg);
        assert!(has_text(&svg, "loss history"));
        assert!(has_text(&svg, "residual") && has_text(&svg, "boundary"));
        // Runs [1, 0.1], [0.01], [0.001, 1e-4] of a: two lines and a marker;
        // b is one line. Each series also has a line in the legend.
        let lines = |color: RGBColor| {
            let stroke = format!(r#"stroke="{}" stroke-width="2""#, hex(color));
            svg.lines()
                .filter(|l| l.starts_with("<polyline") && l.contains(&stroke))
                .count()
        };
        assert_eq!(lines(palette(0)), 2 + 1);
        assert_eq!(lines(palette(1)), 1 + 1);
        assert_eq!(count(&svg, "<circle"), 1);
        assert!(
            has_text(&svg, "1e-4") && has_text(&svg, "0.1"),
            "{:?}",
            texts(&svg)
        );
    }

    #[test]
    fn log_axis_skips_zeros_and_negatives() {
        let with_zero = history_svg("t", &[("a", &[1.0, 0.0, -5.0, 1e-2][..])]).unwrap();
        let without = history_svg("t", &[("a", &[1.0, f64::NAN, f64::NAN, 1e-2][..])]).unwrap();
        assert_svg(&with_zero);
        assert_eq!(with_zero, without);
        assert!(has_text(&with_zero, "0.01") && has_text(&with_zero, "1"));
        assert!(!has_text(&with_zero, "0.001"));
    }

    #[test]
    fn log_axis_over_less_than_a_decade_has_ticks() {
        let svg = history_svg("t", &[("a", &[3.0, 4.0, 6.0][..])]).unwrap();
        assert!(has_text(&svg, "5"), "{:?}", texts(&svg));
        let axis = Axis::fit(Scale::Log, [0.0], true);
        assert!(axis.ticks.len() >= 2, "{axis:?}");
    }

    #[test]
    fn spectrum_has_reference_line_in_legend() {
        let s: Vec<f64> = (0..40).map(|i| 10f64.powi(-i / 4)).collect();
        let svg = spectrum_svg("singular values", &[("J", &s)], &[("cutoff", 1e-6)]).unwrap();
        assert_svg(&svg);
        assert!(has_text(&svg, "singular values"));
        assert!(has_text(&svg, "J"));
        assert!(has_text(&svg, "cutoff = 1e-6"), "{:?}", texts(&svg));
    }

    #[test]
    fn scatter_has_groups_and_skips_non_positive_on_log_axes() {
        let ad = [(0.1, 1e-3), (0.05, 2.5e-4), (0.0, 1.0)];
        let fd = [(0.1, 1e-2), (0.05, 5e-3), (0.025, -1.0)];
        let groups = [("exact AD", &ad[..]), ("finite diff", &fd[..])];
        let svg = scatter_svg("error vs h", "h", "error", true, true, &groups).unwrap();
        assert_svg(&svg);
        assert!(has_text(&svg, "error vs h"));
        assert!(has_text(&svg, "exact AD") && has_text(&svg, "finite diff"));
        // Two AD dots plus the legend's; h = 0 is skipped.
        assert_eq!(count(&svg, "<circle"), 3);
        // Two FD triangles plus the legend's; the negative error is skipped.
        assert_eq!(count(&svg, "<polygon"), 3);
        // On linear axes the h = 0 point is drawn.
        let linear = scatter_svg("t", "h", "e", false, true, &groups).unwrap();
        assert_eq!(count(&linear, "<circle"), 4);
    }

    #[test]
    fn heatmap_has_a_rect_per_cell_and_color_bar_labels() {
        let (nx, ny) = (101usize, 101usize);
        let xs: Vec<f64> = (0..nx).map(|i| i as f64 / 100.0).collect();
        let ys = xs.clone();
        let values: Vec<f64> = (0..nx * ny)
            .map(|k| ((k / ny) as f64 * 0.1).sin() * ((k % ny) as f64 * 0.07).cos())
            .collect();
        let start = std::time::Instant::now();
        let svg = heatmap_svg("prediction u", "x", "y", &xs, &ys, &values).unwrap();
        assert!(start.elapsed().as_secs_f64() < 1.0);
        assert_svg(&svg);
        assert!(has_text(&svg, "prediction u"));
        assert!(count(&svg, "<rect") >= nx * ny);
        let labels = texts(&svg);
        assert!(labels.iter().any(|t| t.starts_with("max ")), "{labels:?}");
        assert!(labels.iter().any(|t| t.starts_with("min ")), "{labels:?}");
    }

    #[test]
    fn heatmap_colors_follow_values() {
        let svg = heatmap_svg("t", "x", "y", &[0.0, 1.0], &[0.0], &[0.0, 1.0]).unwrap();
        assert!(svg.contains("#440154"), "lowest value is dark");
        assert!(svg.contains("#FDE725"), "highest value is yellow");
        assert!(has_text(&svg, "max 1") && has_text(&svg, "min 0"));
    }

    #[test]
    fn heatmap_rejects_inconsistent_grids() {
        let err = heatmap_svg("t", "x", "y", &[0.0, 1.0], &[0.0, 1.0], &[1.0; 3]).unwrap_err();
        assert!(err.0.contains("values has 3 entries"), "{err}");
        let err = heatmap_svg("t", "x", "y", &[1.0, 0.0], &[0.0], &[1.0; 2]).unwrap_err();
        assert!(err.0.contains("not ascending"), "{err}");
        let err = heatmap_svg("t", "x", "y", &[0.0], &[f64::NAN], &[1.0]).unwrap_err();
        assert!(err.0.contains("not finite"), "{err}");
    }

    #[test]
    fn output_is_deterministic() {
        let x = [0.0, 0.5, 1.0];
        let u = [0.0, 0.25, 1.0];
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let pts = [(1.0, 2.0), (3.0, 0.5)];
        let render = || {
            [
                curve_svg("d", "x", "u", &x, &u, Some(&u)).unwrap(),
                heatmap_svg("h", "x", "y", &x, &x, &v).unwrap(),
                history_svg("h", &[("a", &v[..])]).unwrap(),
                spectrum_svg("s", &[("a", &v[..])], &[("c", 2.0)]).unwrap(),
                scatter_svg("s", "x", "y", true, false, &[("g", &pts[..])]).unwrap(),
            ]
        };
        assert_eq!(render(), render());
    }

    #[test]
    fn special_characters_are_escaped() {
        let svg = curve_svg("a < b & c", "x", "u", &[0.0, 1.0], &[0.0, 1.0], None).unwrap();
        assert!(svg.contains("a &lt; b &amp; c"));
        assert!(!svg.contains("a < b"));
    }

    #[test]
    fn legend_avoids_data() {
        // A rising line fills the upper right corner; the legend goes elsewhere.
        let x: Vec<f64> = (0..100).map(f64::from).collect();
        let plot = XyPlot {
            title: "t",
            x_label: "x",
            y_label: "y",
            x: Axis::fit(Scale::Linear, x.iter().copied(), false),
            y: Axis::fit(Scale::Linear, x.iter().copied(), true),
            layers: vec![Layer::Points {
                name: "p".into(),
                color: palette(0),
                mark: Mark::Dot,
                points: x.iter().map(|&v| (v, v)).collect(),
            }],
            empty_note: "",
        };
        assert!(matches!(
            legend_corner(&plot),
            SeriesLabelPosition::UpperLeft
        ));
    }

    #[test]
    fn tick_labels() {
        assert_eq!(fmt_pow10(-3.0), "0.001");
        assert_eq!(fmt_pow10(0.0), "1");
        assert_eq!(fmt_pow10(2.0), "100");
        assert_eq!(fmt_pow10(-12.0), "1e-12");
        assert_eq!(fmt_pow10(5f64.log10()), "5");
        assert_eq!(fmt_pow10(308.0 + 2f64.log10()), "2e308");
        assert_eq!(fmt_pow10(-320.0 + 5f64.log10()), "5e-320");
        assert_eq!(fmt_linear(0.5, 0.5, 1.0), "0.5");
        assert_eq!(fmt_linear(2e-7, 1e-7, 1e-6), "2e-7");
        assert_eq!(fmt_linear(1e-4, 2e-5, 1e-4), "1e-4");
        assert_eq!(fmt_linear(1.5e6, 5e5, 2e6), "1.5e6");
        assert_eq!(fmt_sig(0.012345), "0.01235");
        assert_eq!(fmt_sig(1e-6), "1e-6");
        assert_eq!(fmt_sig(-123456.0), "-1.235e5");
        let axis = Axis::fit(Scale::Linear, [0.0, 1.0], false);
        assert_eq!(axis.ticks.first(), Some(&0.0));
        assert_eq!(axis.ticks.last(), Some(&1.0));
        let axis = Axis::fit(Scale::Log, [-300.0, 300.0], true);
        assert!(axis.ticks.len() >= 2 && axis.ticks.len() <= 10, "{axis:?}");
    }
}
