//! What the chart shows: which readings, which thresholds, which spans are marked and why.

use chrono::{DateTime, Utc};
use plotters::style::RGBColor;

use super::answers::{windows_above, Window, OVERHEATING_ABOVE};
use super::chart::{Detected, Panel};
use super::recorded::Recorded;
use super::report::DemoReport;
use crate::simulator::{IncidentKind, Step};

/// The grinding vibration level the chart marks bursts above, Hz.
const BURST_ABOVE: f64 = 180.0;

/// The four panels: the three steps' `ChasisTemperature`, then grinding `Vibration`.
pub(crate) fn panels<'a>(report: &DemoReport, recorded: &'a Recorded) -> Vec<Panel<'a>> {
    vec![
        roasting(report, recorded),
        grinding_temperature(recorded),
        moulding(report, recorded),
        vibration(report, recorded),
    ]
}

/// A `ChasisTemperature` panel without marks.
fn temperature<'a>(
    recorded: &'a Recorded,
    step: Step,
    title: String,
    color: RGBColor,
) -> Panel<'a> {
    Panel {
        title,
        label: format!("{} ChasisTemperature (°F)", step.name()),
        property: "ChasisTemperature",
        unit: "°F",
        color,
        series: recorded.series(step.twin_id(), "ChasisTemperature"),
        threshold: None,
        truth: None,
        detected: None,
    }
}

fn roasting<'a>(report: &DemoReport, recorded: &'a Recorded) -> Panel<'a> {
    let title = format!("Roasting: ChasisTemperature (question 1: above {OVERHEATING_ABOVE} °F)");
    Panel {
        threshold: Some((
            OVERHEATING_ABOVE,
            format!("{OVERHEATING_ABOVE} °F (question 1)"),
        )),
        truth: Some(spans(report, IncidentKind::Overheating)),
        detected: Some(detected(&report.answers.overheating)),
        ..temperature(recorded, Step::Roasting, title, RGBColor(150, 75, 0))
    }
}

fn grinding_temperature(recorded: &Recorded) -> Panel<'_> {
    let title = "Grinding: ChasisTemperature".to_owned();
    temperature(recorded, Step::Grinding, title, RGBColor(120, 60, 160))
}

fn moulding<'a>(report: &DemoReport, recorded: &'a Recorded) -> Panel<'a> {
    let title = "Moulding: ChasisTemperature (question 3: unusually high)".to_owned();
    let threshold = report.answers.excursion_rule.map(|rule| {
        let label = format!(
            "{:.2} °F: median + {} robust σ (question 3)",
            rule.threshold, rule.deviations
        );
        (rule.threshold, label)
    });
    Panel {
        threshold,
        truth: Some(spans(report, IncidentKind::TemperatureExcursion)),
        detected: Some(detected(&report.answers.excursions)),
        ..temperature(recorded, Step::Moulding, title, RGBColor(30, 110, 60))
    }
}

/// Vibration, with bursts above 180 Hz detected from the records for the chart only.
fn vibration<'a>(report: &DemoReport, recorded: &'a Recorded) -> Panel<'a> {
    let series = recorded.series(Step::Grinding.twin_id(), "Vibration");
    let average = report
        .answers
        .vibration
        .map_or("no readings".to_owned(), |a| format!("{:.2} Hz", a.mean));
    Panel {
        title: format!("Grinding: Vibration (question 2: last 2 min average {average})"),
        label: "Grinding Vibration (Hz)".to_owned(),
        property: "Vibration",
        unit: "Hz",
        color: RGBColor(20, 90, 170),
        series,
        threshold: Some((BURST_ABOVE, format!("{BURST_ABOVE} Hz burst level"))),
        truth: Some(spans(report, IncidentKind::VibrationBurst)),
        detected: Some(detected(&windows_above(series, BURST_ABOVE))),
    }
}

fn spans(report: &DemoReport, kind: IncidentKind) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    report
        .incidents
        .iter()
        .filter(|incident| incident.kind == kind)
        .map(|incident| (incident.start, incident.end))
        .collect()
}

fn detected(windows: &[Window]) -> Vec<Detected> {
    windows
        .iter()
        .map(|w| (w.start, w.end, w.peak_at, w.peak))
        .collect()
}
