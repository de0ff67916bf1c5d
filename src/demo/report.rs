//! What the demo returns and prints: the stretch, the pipeline's counts, the three answers as
//! tables, the ground truth beside them, and where the outputs are.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};

use super::answers::{Answers, Window, OVERHEATING_ABOVE};
use super::pipeline::PipelineStats;
use crate::simulator::{Incident, IncidentKind};

/// The outcome of a demo run.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoReport {
    /// The seed of the factory.
    pub seed: u64,
    /// The tick interval.
    pub tick: std::time::Duration,
    /// The first tick.
    pub from: DateTime<Utc>,
    /// The last tick.
    pub to: DateTime<Utc>,
    /// What went through the bridge.
    pub pipeline: PipelineStats,
    /// The answers, from the records.
    pub answers: Answers,
    /// The generator's incidents over the stretch (ground truth, for comparison).
    pub incidents: Vec<Incident>,
    /// `<out>/records.jsonl`: every record body, one per line.
    pub records_path: PathBuf,
    /// `<out>/answers.txt`: this report as text.
    pub answers_path: PathBuf,
    /// `<out>/chart.svg`.
    pub chart_path: PathBuf,
}

impl DemoReport {
    /// Ground-truth incidents of `kind` overlapping `(after, until]`.
    pub fn truth(&self, kind: IncidentKind, after: DateTime<Utc>) -> Vec<&Incident> {
        self.incidents
            .iter()
            .filter(|i| i.kind == kind && i.end > after && i.start <= self.answers.until)
            .collect()
    }
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.pipeline;
        writeln!(
            f,
            "Chocolate factory demo: seed {}, {} ticks every {} s, {} to {} UTC",
            self.seed,
            p.ticks,
            self.tick.as_secs_f64(),
            clock(self.from),
            clock(self.to)
        )?;
        writeln!(
            f,
            "Bridge: {} notifications in {} invocations (records::process, tsi) \
             gave {} records; {} not recorded.",
            p.events, p.batches, p.records, p.not_recorded
        )?;
        writeln!(
            f,
            "Sent to a {}-partition records hub they are {} Event Hubs events ({} billable 64 KB \
             units, {} KB) packed into JSON arrays (BRIDGE_PACKING=array), or {} events ({} units, \
             {} KB) one record per event (BRIDGE_PACKING=none).",
            super::pipeline::RECORDS_HUB_PARTITIONS,
            p.packed.events,
            p.packed.units,
            p.packed.bytes / 1024,
            p.unpacked.events,
            p.unpacked.units,
            p.unpacked.bytes / 1024
        )?;
        writeln!(f, "Every answer below is computed from the records file.\n")?;
        self.write_overheating(f)?;
        self.write_vibration(f)?;
        self.write_excursions(f)?;
        writeln!(f, "\nOutputs:")?;
        for path in [&self.records_path, &self.answers_path, &self.chart_path] {
            writeln!(f, "  {}", path.display())?;
        }
        Ok(())
    }
}

impl DemoReport {
    fn write_overheating(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.answers;
        writeln!(
            f,
            "1. Roasting ChasisTemperature above {OVERHEATING_ABOVE} °F in the last 24 h \
             ({} to {} UTC): {} window(s)",
            clock(a.overheating_after),
            clock(a.until),
            a.overheating.len()
        )?;
        writeln!(
            f,
            "   (start and end are the first and last readings above the threshold)"
        )?;
        write_windows(f, &a.overheating)?;
        let truth = self.truth(IncidentKind::Overheating, a.overheating_after);
        writeln!(
            f,
            "   Ground truth: the generator scheduled {} overheating incident(s).\n",
            truth.len()
        )
    }

    fn write_vibration(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.answers.vibration {
            Some(average) => writeln!(
                f,
                "2. Average grinding Vibration over the last 2 minutes ({} to {} UTC): \
                 {:.2} Hz over {} readings.\n",
                clock(average.after),
                clock(average.until),
                average.mean,
                average.readings
            ),
            None => writeln!(
                f,
                "2. No grinding Vibration was recorded in the last 2 minutes.\n"
            ),
        }
    }

    fn write_excursions(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.answers;
        let covered = hours(a.until - a.excursions_from);
        write!(
            f,
            "3. Unusually high moulding ChasisTemperature in the last 5 days"
        )?;
        if a.excursions_cover_less {
            writeln!(
                f,
                ": only {covered:.1} h were simulated, so this covers those"
            )?;
        } else {
            writeln!(
                f,
                " ({} to {} UTC)",
                clock(a.excursions_after),
                clock(a.until)
            )?;
        }
        match &a.excursion_rule {
            Some(rule) => writeln!(
                f,
                "   Rule: more than {} robust standard deviations above the median of the stretch: \
                 median {:.2} °F, robust σ = 1.4826 × MAD = {:.2} °F, so above {:.2} °F.",
                rule.deviations, rule.median, rule.sigma, rule.threshold
            )?,
            None => writeln!(f, "   No moulding readings were recorded.")?,
        }
        writeln!(f, "   {} incident(s):", a.excursions.len())?;
        write_windows(f, &a.excursions)?;
        let truth = self.truth(IncidentKind::TemperatureExcursion, a.excursions_after);
        writeln!(
            f,
            "   Ground truth: the generator scheduled {} excursion(s).",
            truth.len()
        )
    }
}

fn write_windows(f: &mut fmt::Formatter<'_>, windows: &[Window]) -> fmt::Result {
    if windows.is_empty() {
        return writeln!(f, "   (none)");
    }
    let header = [
        "#",
        "start (UTC)",
        "end (UTC)",
        "duration",
        "peak",
        "peak at (UTC)",
    ];
    let rows: Vec<[String; 6]> = windows
        .iter()
        .enumerate()
        .map(|(index, w)| {
            [
                (index + 1).to_string(),
                clock(w.start),
                clock(w.end),
                span(w.duration()),
                format!("{:.2} °F", w.peak),
                clock(w.peak_at),
            ]
        })
        .collect();
    write_table(f, &header, &rows)
}

/// A plain text table, columns padded to their widest cell, indented by three spaces.
fn write_table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: &[&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("   {}", padded.join("  ").trim_end())
    };
    writeln!(f, "{}", line(header.to_vec()))?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(f, "{}", line(rule.iter().map(String::as_str).collect()))?;
    for row in rows {
        writeln!(f, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

fn clock(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn span(duration: Duration) -> String {
    let seconds = duration.num_seconds();
    format!("{}m {:02}s", seconds / 60, seconds % 60)
}

fn hours(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 3_600_000.0
}
