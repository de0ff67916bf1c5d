//! The demo end to end: its answers agree with an independent reading of `records.jsonl` (plain
//! serde_json and simple loops written here) and with the generator's ground truth, and its chart
//! is an SVG a person can read: axes with units, a legend, incidents marked.

use std::path::PathBuf;
use std::sync::OnceLock;

use adt_bridge::demo::{run, DemoError, DemoOptions, DemoReport, Window};
use adt_bridge::simulator::{Factory, FactoryConfig, Incident, IncidentKind};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

const SEED: u64 = 2;

/// A day that holds at least one moulding excursion, so all three questions have answers.
/// The end is off the 5 s grid on purpose: the demo rounds it down.
fn end() -> DateTime<Utc> {
    let factory = Factory::new(FactoryConfig::with_seed(SEED));
    let from = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
    let excursion = factory
        .incidents(from, from + Duration::days(60))
        .into_iter()
        .find(|i| i.kind == IncidentKind::TemperatureExcursion)
        .expect("an excursion within 60 days");
    excursion.end + Duration::hours(7) + Duration::milliseconds(2_345)
}

fn out_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn day() -> &'static DemoReport {
    static REPORT: OnceLock<DemoReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        let mut options = DemoOptions::ending_at(end());
        options.seed = SEED;
        options.out_dir = out_dir("demo-day");
        let started = std::time::Instant::now();
        let report = run(&options).expect("the demo runs");
        eprintln!("demo of 24 h took {:?}", started.elapsed());
        report
    })
}

/// The records file, read here with nothing but serde_json: (twin, time, record).
fn records(report: &DemoReport) -> Vec<(String, DateTime<Utc>, Value)> {
    std::fs::read_to_string(&report.records_path)
        .unwrap()
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            let twin = record["$dtId"].as_str().unwrap().to_owned();
            let time = DateTime::parse_from_rfc3339(record["timestamp"].as_str().unwrap()).unwrap();
            (twin, time.with_timezone(&Utc), record)
        })
        .collect()
}

fn series(report: &DemoReport, twin: &str, property: &str) -> Vec<(DateTime<Utc>, f64)> {
    let mut series: Vec<_> = records(report)
        .into_iter()
        .filter(|(t, _, _)| t == twin)
        .map(|(_, time, record)| (time, record[property].as_f64().unwrap()))
        .collect();
    series.sort_by_key(|(time, _)| *time);
    series
}

/// Runs of consecutive readings above `threshold`: (first, last, peak).
fn runs_above(
    series: &[(DateTime<Utc>, f64)],
    threshold: f64,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, f64)> {
    let mut runs: Vec<(DateTime<Utc>, DateTime<Utc>, f64)> = Vec::new();
    let mut inside = false;
    for &(time, value) in series {
        if value > threshold {
            if inside {
                let run = runs.last_mut().unwrap();
                run.1 = time;
                run.2 = run.2.max(value);
            } else {
                runs.push((time, time, value));
            }
        }
        inside = value > threshold;
    }
    runs
}

fn as_runs(windows: &[Window]) -> Vec<(DateTime<Utc>, DateTime<Utc>, f64)> {
    windows.iter().map(|w| (w.start, w.end, w.peak)).collect()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Each incident shows as exactly the windows inside it, peaking within its wobble.
fn matches_truth(windows: &[Window], truth: &[&Incident], wobble: f64) {
    for window in windows {
        let inside: Vec<_> = truth
            .iter()
            .filter(|i| i.start <= window.start && window.end <= i.end)
            .collect();
        assert_eq!(inside.len(), 1, "{window:?} is not inside one incident");
    }
    for incident in truth {
        let seen: Vec<_> = windows
            .iter()
            .filter(|w| incident.start <= w.start && w.end <= incident.end)
            .collect();
        assert_eq!(seen.len(), 1, "{incident:?} was not detected once");
        assert!(
            (seen[0].peak - incident.peak).abs() <= wobble + 0.01,
            "{incident:?} vs {:?}",
            seen[0]
        );
    }
}

#[test]
fn the_records_are_one_tsi_record_per_twin_and_tick() {
    let report = day();
    let records = records(report);
    assert_eq!(report.pipeline.ticks, 17_280);
    assert_eq!(records.len(), 3 * 17_280);
    assert_eq!(report.pipeline.records, records.len());
    assert_eq!(report.pipeline.batches, (3 * 17_280usize).div_ceil(100));
    let on_grid = end().timestamp_millis() / 5_000 * 5_000;
    assert_eq!(report.to, Utc.timestamp_millis_opt(on_grid).unwrap());
    assert_eq!(report.from, report.to - Duration::seconds(5 * (17_280 - 1)));
    for (twin, time, record) in &records {
        assert!(["FanningRoastingStep", "GrindingStep", "MouldingStep"].contains(&twin.as_str()));
        assert_eq!(time.timestamp_millis() % 5_000, 0, "{record}");
        assert!(report.from <= *time && *time <= report.to);
    }
}

#[test]
fn question_1_matches_an_independent_count_and_the_ground_truth() {
    let report = day();
    let roasting = series(report, "FanningRoastingStep", "ChasisTemperature");
    let until = roasting.last().unwrap().0;
    let day: Vec<_> = roasting
        .into_iter()
        .filter(|(t, _)| *t > until - Duration::hours(24))
        .collect();
    assert_eq!(
        as_runs(&report.answers.overheating),
        runs_above(&day, 150.0)
    );
    assert!(!report.answers.overheating.is_empty());
    let truth = report.truth(IncidentKind::Overheating, until - Duration::hours(24));
    matches_truth(
        &report.answers.overheating,
        &truth,
        FactoryConfig::default().roasting.overheating.wobble,
    );
}

#[test]
fn question_2_matches_an_independent_average() {
    let report = day();
    let vibration = series(report, "GrindingStep", "Vibration");
    let until = vibration.last().unwrap().0;
    let last: Vec<f64> = vibration
        .iter()
        .filter(|(t, _)| *t > until - Duration::minutes(2))
        .map(|(_, v)| *v)
        .collect();
    let answer = report.answers.vibration.unwrap();
    assert_eq!(answer.readings, 24);
    assert_eq!(last.len(), 24);
    assert!((answer.mean - last.iter().sum::<f64>() / 24.0).abs() < 1e-9);
    assert_eq!(answer.until, until);
}

#[test]
fn question_3_matches_an_independent_robust_rule_and_the_ground_truth() {
    let report = day();
    let moulding = series(report, "MouldingStep", "ChasisTemperature");
    let values: Vec<f64> = moulding.iter().map(|(_, v)| *v).collect();
    let centre = median(&values);
    let spread: Vec<f64> = values.iter().map(|v| (v - centre).abs()).collect();
    let threshold = centre + 5.0 * 1.4826 * median(&spread);
    let rule = report.answers.excursion_rule.unwrap();
    assert!((rule.threshold - threshold).abs() < 1e-9 && (rule.median - centre).abs() < 1e-9);
    // Unusually high is far above the normal band, and below every excursion's plateau.
    let config = FactoryConfig::default().moulding;
    assert!(threshold > config.chasis_temperature.high);
    assert!(
        threshold < config.temperature_excursions.peak_low - config.temperature_excursions.wobble
    );
    assert_eq!(
        as_runs(&report.answers.excursions),
        runs_above(&moulding, threshold)
    );
    let truth = report.truth(
        IncidentKind::TemperatureExcursion,
        report.answers.excursions_after,
    );
    assert!(!truth.is_empty());
    matches_truth(
        &report.answers.excursions,
        &truth,
        config.temperature_excursions.wobble,
    );
    assert!(report.answers.excursions_cover_less);
}

#[test]
fn the_answers_file_is_the_printed_report_with_tables_and_its_rule() {
    let report = day();
    let text = std::fs::read_to_string(&report.answers_path).unwrap();
    assert_eq!(text, report.to_string());
    for expected in [
        "1. Roasting ChasisTemperature above 150 °F in the last 24 h",
        "start (UTC)",
        "2. Average grinding Vibration over the last 2 minutes",
        "more than 5 robust standard deviations above the median",
        "only 24.0 h were simulated",
        "records.jsonl",
        "chart.svg",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    let first = &report.answers.overheating[0];
    assert!(text.contains(&first.start.format("%Y-%m-%d %H:%M:%S").to_string()));
    assert!(text.contains(&format!("{:.2} °F", first.peak)));
}

/// The trimmed contents of every `<text>` element.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|element| {
            let content =
                &element[element.find('>').unwrap() + 1..element.find("</text>").unwrap()];
            content.trim().to_owned()
        })
        .collect()
}

/// A minimal well-formedness check: every element opened is closed, in order.
fn balanced(svg: &str) -> bool {
    let mut open: Vec<&str> = Vec::new();
    for tag in svg.split('<').skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        if let Some(name) = tag.strip_prefix('/') {
            if open.pop() != Some(name.trim()) {
                return false;
            }
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            open.push(tag.split_whitespace().next().unwrap());
        }
    }
    open.is_empty()
}

#[test]
fn the_chart_is_an_svg_with_axes_units_legend_and_incident_marks() {
    let report = day();
    let svg = std::fs::read_to_string(&report.chart_path).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(balanced(&svg));
    let texts = texts(&svg);
    for expected in [
        "time (UTC)",
        "ChasisTemperature (°F)",
        "Vibration (Hz)",
        "Roasting ChasisTemperature (°F)",
        "Grinding ChasisTemperature (°F)",
        "Moulding ChasisTemperature (°F)",
        "Grinding Vibration (Hz)",
        "ground-truth incident (generator)",
        "detected window (from records)",
        "150 °F (question 1)",
    ] {
        assert!(texts.iter().any(|t| t == expected), "no text {expected:?}");
    }
    // Ground truth: one translucent red span per incident, plus a legend swatch per panel.
    let spans = svg.matches(r##"opacity="0.22" fill="#DC1E1E""##).count();
    assert_eq!(spans, report.incidents.len() + 3);
    // Detected windows: a triangle each (plus a legend swatch per panel).
    let detected = report.answers.overheating.len() + report.answers.excursions.len();
    let triangles = svg
        .matches(r##"<polygon opacity="1" fill="#E67800""##)
        .count();
    assert!(
        triangles > detected + 3,
        "{triangles} triangles for {detected} windows"
    );
}

#[test]
fn a_short_run_answers_over_what_was_simulated_and_says_so() {
    let mut options = DemoOptions::ending_at(Utc.with_ymd_and_hms(2026, 5, 1, 1, 0, 0).unwrap());
    options.hours = 1.0;
    options.out_dir = out_dir("demo-hour");
    let report = run(&options).unwrap();
    assert_eq!(report.pipeline.ticks, 720);
    assert!(report.answers.excursions_cover_less);
    assert!(report.to_string().contains("only 1.0 h were simulated"));
    assert!(report.chart_path.exists());
}

#[test]
fn options_that_make_no_stretch_are_refused() {
    let mut options = DemoOptions::ending_at(Utc.with_ymd_and_hms(2026, 5, 1, 1, 0, 0).unwrap());
    options.out_dir = out_dir("demo-refused");
    for hours in [0.0, -1.0, f64::NAN] {
        options.hours = hours;
        assert!(
            matches!(run(&options), Err(DemoError::Options(_))),
            "{hours}"
        );
    }
    options.hours = 1.0;
    options.tick = std::time::Duration::ZERO;
    assert!(matches!(run(&options), Err(DemoError::Options(_))));
}
