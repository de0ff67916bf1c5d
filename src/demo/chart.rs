//! The chart: one panel per reading the questions are about, stacked on a shared UTC time axis,
//! with the generator's incidents shaded and the windows detected from the records marked.

use std::path::Path;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Buckets per line: about one per horizontal pixel of the plot.
const BUCKETS: usize = 1000;
/// Roughly the plot's width in pixels (the panel less the legend and the y labels).
const PLOT_PIXELS: f64 = 990.0;
/// The narrowest a marked span is drawn.
const MIN_SPAN_PIXELS: f64 = 3.0;
const WIDTH: u32 = 1400;
const PANEL_HEIGHT: u32 = 260;
const TRUTH: RGBAColor = RGBAColor(220, 30, 30, 0.22);
const DETECTED: RGBColor = RGBColor(230, 120, 0);
const THRESHOLD: ShapeStyle = ShapeStyle {
    color: RGBAColor(0, 0, 0, 0.55),
    filled: false,
    stroke_width: 1,
};
/// Width of the legend column to the right of each panel.
const LEGEND_WIDTH: u32 = 330;

/// A detected window: start, end, when it peaked, its peak.
pub(crate) type Detected = (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, f64);

/// One panel: a property's readings, its unit, and what to mark on it.
pub(crate) struct Panel<'a> {
    /// The panel's caption.
    pub title: String,
    /// The legend entry of the line.
    pub label: String,
    /// The property, for the axis description.
    pub property: &'static str,
    /// The axis unit, e.g. `°F`.
    pub unit: &'static str,
    /// The line's colour.
    pub color: RGBColor,
    /// The readings, in time order.
    pub series: &'a [(DateTime<Utc>, f64)],
    /// A horizontal reference line and its legend entry.
    pub threshold: Option<(f64, String)>,
    /// Ground-truth incident spans (from the generator), for a reading that has incidents.
    pub truth: Option<Vec<(DateTime<Utc>, DateTime<Utc>)>>,
    /// Detected windows (from the records): start, end, peak time, peak.
    pub detected: Option<Vec<Detected>>,
}

/// Draws `panels` for `[from, to]` into an SVG file at `path`.
pub(crate) fn draw(
    path: &Path,
    title: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    panels: &[Panel<'_>],
) -> Result<(), String> {
    let height = 60 + PANEL_HEIGHT * panels.len() as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(text)?;
    let (header, body) = root.split_vertically(50);
    header.titled(title, ("sans-serif", 22)).map_err(text)?;
    let axis = TimeAxis::new(from, to);
    for (area, panel) in body.split_evenly((panels.len(), 1)).iter().zip(panels) {
        draw_panel(area, panel, &axis).map_err(text)?;
    }
    root.present().map_err(text)
}

/// Hours since the whole hour at or before the stretch's start, so labels fall on whole hours.
struct TimeAxis {
    origin: DateTime<Utc>,
    range: std::ops::Range<f64>,
    multi_day: bool,
}

impl TimeAxis {
    fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let origin = from.duration_trunc(TimeDelta::hours(1)).unwrap_or(from);
        let multi_day = to - from > TimeDelta::hours(36);
        let mut axis = TimeAxis {
            origin,
            range: 0.0..1.0,
            multi_day,
        };
        axis.range = axis.x(from)..axis.x(to).max(axis.x(from) + 1e-3);
        axis
    }

    /// A span in x, widened around its middle to at least `MIN_SPAN_PIXELS`, so short
    /// incidents stay visible on a long stretch.
    fn span(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> (f64, f64) {
        let (x0, x1) = (self.x(start), self.x(end));
        let least = (self.range.end - self.range.start) * MIN_SPAN_PIXELS / PLOT_PIXELS;
        let widen = ((least - (x1 - x0)) / 2.0).max(0.0);
        (x0 - widen, x1 + widen)
    }

    fn x(&self, time: DateTime<Utc>) -> f64 {
        (time - self.origin).num_milliseconds() as f64 / 3_600_000.0
    }

    fn label(&self, x: f64) -> String {
        let time = self.origin + TimeDelta::milliseconds((x * 3_600_000.0).round() as i64);
        let format = if self.multi_day {
            "%m-%d %H:%M"
        } else {
            "%H:%M"
        };
        time.format(format).to_string()
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw_panel(area: &Area<'_>, panel: &Panel<'_>, axis: &TimeAxis) -> DrawResult {
    let (plot_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let (low, high) = y_range(panel);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(&panel.title, ("sans-serif", 17))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(axis.range.clone(), low..high)?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc(format!("{} ({})", panel.property, panel.unit))
        .x_labels(14)
        .y_labels(6)
        .axis_desc_style(("sans-serif", 14))
        .label_style(("sans-serif", 12))
        .x_label_formatter(&|x| axis.label(*x))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(BLACK.mix(0.05))
        .draw()?;
    let mut legend = Vec::new();
    if let Some(truth) = &panel.truth {
        chart.draw_series(truth.iter().map(|(start, end)| {
            let (x0, x1) = axis.span(*start, *end);
            Rectangle::new([(x0, low), (x1, high)], TRUTH.filled())
        }))?;
        legend.push((Swatch::Span, "ground-truth incident (generator)".to_owned()));
    }
    draw_readings(&mut chart, panel, axis)?;
    legend.push((
        Swatch::Line(panel.color.stroke_width(2)),
        panel.label.clone(),
    ));
    if let Some((level, label)) = &panel.threshold {
        let line = [(axis.range.start, *level), (axis.range.end, *level)];
        chart.draw_series(LineSeries::new(line, THRESHOLD))?;
        legend.push((Swatch::Line(THRESHOLD), label.clone()));
    }
    if let Some(detected) = &panel.detected {
        draw_detected(&mut chart, detected, axis, high - (high - low) * 0.03)?;
        legend.push((Swatch::Marker, "detected window (from records)".to_owned()));
    }
    draw_legend(&legend_area, &legend)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The readings, decimated to each bucket's lowest and highest reading in time order, so that
/// a spike shorter than a pixel still reaches its full height.
fn draw_readings(chart: &mut Chart<'_, '_>, panel: &Panel<'_>, axis: &TimeAxis) -> DrawResult {
    let points = decimate(panel.series, axis);
    chart.draw_series(LineSeries::new(points, panel.color.stroke_width(2)))?;
    Ok(())
}

/// Detected windows: a bar along the top of the panel and a triangle at the window's peak.
fn draw_detected(
    chart: &mut Chart<'_, '_>,
    detected: &[Detected],
    axis: &TimeAxis,
    bar: f64,
) -> DrawResult {
    let top = chart.y_range().end;
    chart.draw_series(detected.iter().map(|(start, end, _, _)| {
        let (x0, x1) = axis.span(*start, *end);
        Rectangle::new([(x0, bar), (x1, top)], DETECTED.filled())
    }))?;
    chart.draw_series(detected.iter().map(|(_, _, peak_at, peak)| {
        TriangleMarker::new((axis.x(*peak_at), *peak), 6, DETECTED.filled())
    }))?;
    Ok(())
}

/// How a legend entry is drawn.
enum Swatch {
    Span,
    Line(ShapeStyle),
    Marker,
}

/// The legend, beside the plot so it never hides a reading.
fn draw_legend(area: &Area<'_>, entries: &[(Swatch, String)]) -> DrawResult {
    let font = ("sans-serif", 13).into_font().color(&BLACK);
    for (index, (swatch, label)) in entries.iter().enumerate() {
        let y = 48 + 22 * index as i32;
        match swatch {
            Swatch::Span => {
                area.draw(&Rectangle::new([(4, y - 6), (24, y + 6)], TRUTH.filled()))?
            }
            Swatch::Line(style) => area.draw(&PathElement::new([(4, y), (24, y)], *style))?,
            Swatch::Marker => area.draw(&TriangleMarker::new((14, y), 6, DETECTED.filled()))?,
        }
        area.draw(&Text::new(label.as_str(), (32, y - 7), font.clone()))?;
    }
    Ok(())
}

/// A point in chart coordinates: (hours, value).
type Point = (f64, f64);

/// One bucket of the decimation: its index and its lowest and highest points.
struct Bucket {
    index: i64,
    low: Point,
    high: Point,
}

impl Bucket {
    /// The lowest and highest points, in time order (one point if they coincide).
    fn points(&self) -> Vec<Point> {
        let (a, b) = (self.low, self.high);
        match a.0.partial_cmp(&b.0) {
            Some(std::cmp::Ordering::Less) => vec![a, b],
            Some(std::cmp::Ordering::Greater) => vec![b, a],
            _ => vec![a],
        }
    }
}

/// Per bucket of about a pixel, its lowest and highest reading, in the order they occurred.
fn decimate(series: &[(DateTime<Utc>, f64)], axis: &TimeAxis) -> Vec<Point> {
    let width = (axis.range.end - axis.range.start) / BUCKETS as f64;
    let mut points = Vec::with_capacity(2 * BUCKETS + 2);
    let mut current: Option<Bucket> = None;
    for &(time, value) in series {
        let point = (axis.x(time), value);
        let index = ((point.0 - axis.range.start) / width).floor() as i64;
        match &mut current {
            Some(bucket) if bucket.index == index => {
                if value < bucket.low.1 {
                    bucket.low = point;
                }
                if value > bucket.high.1 {
                    bucket.high = point;
                }
            }
            _ => {
                points.extend(current.iter().flat_map(Bucket::points));
                current = Some(Bucket {
                    index,
                    low: point,
                    high: point,
                });
            }
        }
    }
    points.extend(current.iter().flat_map(Bucket::points));
    points
}

fn y_range(panel: &Panel<'_>) -> (f64, f64) {
    let values = panel.series.iter().map(|(_, v)| *v);
    let levels = panel.threshold.iter().map(|(level, _)| *level);
    let (low, high) = values
        .chain(levels)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        return (0.0, 1.0);
    }
    let pad = ((high - low) * 0.08).max(1.0);
    (low - pad, high + pad)
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}
