//! The embedded demo: a day of the chocolate factory through the bridge, answered and charted.
//!
//! [`run`] simulates the factory tick by tick, delivers each twin update as Azure Digital Twins
//! would through an Event Hub, runs batches through the bridge's own decode and transform, and
//! writes every record to `records.jsonl`. It then reads the records back and answers the
//! operators' three questions from them alone (`answers.txt`), and draws `chart.svg`.
//!
//! The clock is the caller's: the stretch ends at [`DemoOptions::end`].

mod answers;
mod chart;
mod panels;
mod pipeline;
mod recorded;
mod report;

use std::path::{Path, PathBuf};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

pub use answers::{
    after, answer, average, robust_rule, windows_above, Answers, Average, RobustRule, Window,
    OVERHEATING_ABOVE, ROBUST_DEVIATIONS,
};
pub use pipeline::{PipelineStats, DEMO_INSTANCE_HOST};
pub use recorded::{Recorded, Series};
pub use report::DemoReport;

use crate::simulator::{Factory, FactoryConfig};

/// What to simulate and where to write.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoOptions {
    /// Hours to simulate (default 24).
    pub hours: f64,
    /// The factory's seed.
    pub seed: u64,
    /// Where `records.jsonl`, `answers.txt` and `chart.svg` go (created if missing).
    pub out_dir: PathBuf,
    /// The end of the stretch (the CLI passes now); rounded down to a whole tick.
    pub end: DateTime<Utc>,
    /// Time between ticks (default 5 s).
    pub tick: std::time::Duration,
}

impl DemoOptions {
    /// The defaults (24 h, seed 1, `demo-output`, 5 s ticks), ending at `end`.
    pub fn ending_at(end: DateTime<Utc>) -> Self {
        DemoOptions {
            hours: 24.0,
            seed: 1,
            out_dir: PathBuf::from("demo-output"),
            end,
            tick: std::time::Duration::from_secs(5),
        }
    }
}

/// Why the demo could not finish.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The options make no stretch to simulate.
    #[error("invalid demo options: {0}")]
    Options(String),
    /// A file could not be written or read.
    #[error("{action} {path}: {source}")]
    Io {
        /// `reading`, `writing`, ...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of the records file is not a `tsi` record.
    #[error("{path} line {line}: not a tsi record: {reason}")]
    Record {
        /// The records file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The bridge skipped or rejected some of the simulated notifications.
    #[error("the bridge did not record {0} of the simulated notifications")]
    NotRecorded(usize),
    /// The chart could not be drawn.
    #[error("drawing {path}: {reason}")]
    Chart {
        /// The chart file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl DemoError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        DemoError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Runs the demo: simulate, bridge, record, answer, chart. See the module documentation.
pub fn run(options: &DemoOptions) -> Result<DemoReport, DemoError> {
    let ticks = ticks(options)?;
    let (from, to) = (ticks[0], ticks[ticks.len() - 1]);
    let dir = &options.out_dir;
    std::fs::create_dir_all(dir).map_err(|source| DemoError::io("creating", dir, source))?;
    let factory = Factory::new(FactoryConfig::with_seed(options.seed));

    let records_path = dir.join("records.jsonl");
    let pipeline = pipeline::write_records(&factory, &ticks, &records_path)?;
    if pipeline.not_recorded > 0 {
        return Err(DemoError::NotRecorded(pipeline.not_recorded));
    }
    let recorded = Recorded::read(&records_path)?;
    let until = recorded.span().map_or(to, |(_, last)| last);
    let report = DemoReport {
        seed: options.seed,
        tick: options.tick,
        from,
        to,
        pipeline,
        answers: answer(&recorded, until),
        incidents: factory.incidents(from, to + TimeDelta::milliseconds(1)),
        records_path,
        answers_path: dir.join("answers.txt"),
        chart_path: dir.join("chart.svg"),
    };
    let answers_path = &report.answers_path;
    std::fs::write(answers_path, report.to_string())
        .map_err(|source| DemoError::io("writing", answers_path, source))?;
    draw_chart(&report, &recorded)?;
    Ok(report)
}

/// The tick instants: whole multiples of the tick, the last at or before `end`.
fn ticks(options: &DemoOptions) -> Result<Vec<DateTime<Utc>>, DemoError> {
    let invalid = |why: &str| DemoError::Options(why.to_owned());
    let tick = TimeDelta::from_std(options.tick).map_err(|_| invalid("tick too long"))?;
    if tick < TimeDelta::milliseconds(1) {
        return Err(invalid("tick must be at least 1 ms"));
    }
    if !(options.hours.is_finite() && options.hours > 0.0) {
        return Err(invalid("hours must be a positive number"));
    }
    let count = (options.hours * 3_600_000.0 / tick.num_milliseconds() as f64).floor();
    if !(1.0..=10_000_000.0).contains(&count) {
        return Err(invalid(
            "hours / tick must give between 1 and 10 million ticks",
        ));
    }
    let last = options
        .end
        .duration_trunc(tick)
        .map_err(|_| invalid("end cannot be rounded to the tick"))?;
    let count = count as i32;
    Ok((0..count).map(|k| last - tick * (count - 1 - k)).collect())
}

fn draw_chart(report: &DemoReport, recorded: &Recorded) -> Result<(), DemoError> {
    let panels = panels::panels(report, recorded);
    let title = format!(
        "Chocolate factory, seed {}: {} to {} UTC",
        report.seed,
        report.from.format("%Y-%m-%d %H:%M"),
        report.to.format("%Y-%m-%d %H:%M")
    );
    chart::draw(&report.chart_path, &title, report.from, report.to, &panels).map_err(|reason| {
        DemoError::Chart {
            path: report.chart_path.clone(),
            reason,
        }
    })
}
