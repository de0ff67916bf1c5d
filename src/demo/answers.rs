//! The operators' three questions, answered from recorded readings only.
//!
//! 1. Every window in the last 24 h when roasting `ChasisTemperature` was above 150 °F.
//! 2. The average grinding `Vibration` over the last 2 minutes.
//! 3. Every incident of unusually high moulding `ChasisTemperature` in the last five days, where
//!    "unusually high" is a robust outlier rule over the same stretch (median and MAD).

use chrono::{DateTime, Duration, Utc};

use super::recorded::Recorded;
use crate::simulator::Step;

/// The roasting temperature operators worry about, °F.
pub const OVERHEATING_ABOVE: f64 = 150.0;
/// How many robust standard deviations above the median count as unusually high.
pub const ROBUST_DEVIATIONS: f64 = 5.0;
/// The MAD of a normal distribution times this is its standard deviation.
const MAD_TO_SIGMA: f64 = 1.4826;

/// A run of consecutive readings above a threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// The first reading above.
    pub start: DateTime<Utc>,
    /// The last reading above.
    pub end: DateTime<Utc>,
    /// The highest reading.
    pub peak: f64,
    /// When the highest reading was taken.
    pub peak_at: DateTime<Utc>,
    /// How many readings the run holds.
    pub readings: usize,
}

impl Window {
    /// From the first to the last reading above.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }
}

/// A mean over a stretch of readings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Average {
    /// The stretch's start (exclusive).
    pub after: DateTime<Utc>,
    /// The stretch's end: the last reading (inclusive).
    pub until: DateTime<Utc>,
    /// The mean.
    pub mean: f64,
    /// How many readings it averages.
    pub readings: usize,
}

/// "More than `deviations` robust standard deviations above the median."
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RobustRule {
    /// The median of the stretch.
    pub median: f64,
    /// `1.4826 × MAD`: the standard deviation, were the readings normal, unmoved by outliers.
    pub sigma: f64,
    /// How many of those above the median.
    pub deviations: f64,
    /// `median + deviations × sigma`.
    pub threshold: f64,
}

/// The answers, with the stretches they cover.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    /// Question 1: roasting windows above 150 °F, over `(overheating_after, until]`.
    pub overheating: Vec<Window>,
    /// The start (exclusive) of question 1's stretch.
    pub overheating_after: DateTime<Utc>,
    /// Question 2: the average grinding vibration over the last 2 minutes (None if unrecorded).
    pub vibration: Option<Average>,
    /// Question 3: moulding excursions above the robust threshold.
    pub excursions: Vec<Window>,
    /// The rule of question 3 (None if no moulding readings).
    pub excursion_rule: Option<RobustRule>,
    /// The start (exclusive) of question 3's stretch: five days back.
    pub excursions_after: DateTime<Utc>,
    /// The first moulding reading of that stretch.
    pub excursions_from: DateTime<Utc>,
    /// Whether question 3 covers less than the five days asked for: the readings start later
    /// than one reading interval after its start (a shorter simulation).
    pub excursions_cover_less: bool,
    /// The end of every stretch: the last recorded reading.
    pub until: DateTime<Utc>,
}

/// Answers the three questions over what was recorded up to `until`.
pub fn answer(recorded: &Recorded, until: DateTime<Utc>) -> Answers {
    let roasting = recorded.series(Step::Roasting.twin_id(), "ChasisTemperature");
    let overheating_after = until - Duration::hours(24);
    let overheating = windows_above(after(roasting, overheating_after), OVERHEATING_ABOVE);

    let vibration = recorded.series(Step::Grinding.twin_id(), "Vibration");
    let two_minutes_back = until - Duration::minutes(2);
    let vibration = average(after(vibration, two_minutes_back), two_minutes_back, until);

    let moulding = recorded.series(Step::Moulding.twin_id(), "ChasisTemperature");
    let excursions_after = until - Duration::days(5);
    let stretch = after(moulding, excursions_after);
    let values: Vec<f64> = stretch.iter().map(|(_, v)| *v).collect();
    let excursion_rule = robust_rule(&values, ROBUST_DEVIATIONS);
    let excursions = excursion_rule
        .map(|rule| windows_above(stretch, rule.threshold))
        .unwrap_or_default();
    Answers {
        overheating,
        overheating_after,
        vibration,
        excursions,
        excursion_rule,
        excursions_after,
        excursions_from: stretch.first().map_or(until, |(time, _)| *time),
        excursions_cover_less: starts_late(moulding, excursions_after),
        until,
    }
}

/// Whether `series` starts more than one reading interval after `from`.
fn starts_late(series: &[(DateTime<Utc>, f64)], from: DateTime<Utc>) -> bool {
    match series {
        [(first, _), (second, _), ..] => *first - from > *second - *first,
        [(first, _)] => *first > from,
        [] => true,
    }
}

/// The readings strictly after `from`.
pub fn after(series: &[(DateTime<Utc>, f64)], from: DateTime<Utc>) -> &[(DateTime<Utc>, f64)] {
    let start = series.partition_point(|(time, _)| *time <= from);
    &series[start..]
}

/// Every run of consecutive readings strictly above `threshold`.
pub fn windows_above(series: &[(DateTime<Utc>, f64)], threshold: f64) -> Vec<Window> {
    let mut windows: Vec<Window> = Vec::new();
    let mut open: Option<Window> = None;
    for &(time, value) in series {
        if value <= threshold {
            windows.extend(open.take());
            continue;
        }
        let window = open.get_or_insert(Window {
            start: time,
            end: time,
            peak: value,
            peak_at: time,
            readings: 0,
        });
        window.end = time;
        window.readings += 1;
        if value > window.peak {
            window.peak = value;
            window.peak_at = time;
        }
    }
    windows.extend(open);
    windows
}

/// The mean of `series` (already cut to the stretch `(after, until]`), if it has readings.
pub fn average(
    series: &[(DateTime<Utc>, f64)],
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<Average> {
    if series.is_empty() {
        return None;
    }
    let sum: f64 = series.iter().map(|(_, v)| v).sum();
    Some(Average {
        after,
        until,
        mean: sum / series.len() as f64,
        readings: series.len(),
    })
}

/// The robust outlier rule over `values`: median, `1.4826 × MAD`, threshold.
pub fn robust_rule(values: &[f64], deviations: f64) -> Option<RobustRule> {
    let centre = median(values.to_vec())?;
    let spreads: Vec<f64> = values.iter().map(|v| (v - centre).abs()).collect();
    let sigma = MAD_TO_SIGMA * median(spreads)?;
    Some(RobustRule {
        median: centre,
        sigma,
        deviations,
        threshold: centre + deviations * sigma,
    })
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 0 {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn series(values: &[f64]) -> Vec<(DateTime<Utc>, f64)> {
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        values
            .iter()
            .enumerate()
            .map(|(k, v)| (start + Duration::seconds(5 * k as i64), *v))
            .collect()
    }

    #[test]
    fn windows_are_runs_strictly_above_the_threshold() {
        let s = series(&[140.0, 151.0, 155.0, 150.0, 149.0, 152.0]);
        let windows = windows_above(&s, 150.0);
        assert_eq!(windows.len(), 2);
        assert_eq!((windows[0].start, windows[0].end), (s[1].0, s[2].0));
        assert_eq!(
            (windows[0].peak, windows[0].peak_at, windows[0].readings),
            (155.0, s[2].0, 2)
        );
        assert_eq!((windows[1].start, windows[1].end), (s[5].0, s[5].0));
        assert_eq!(windows[0].duration(), Duration::seconds(5));
        assert!(windows_above(&series(&[1.0, 2.0]), 2.0).is_empty());
    }

    #[test]
    fn after_cuts_strictly_and_average_means_the_rest() {
        let s = series(&[1.0, 2.0, 3.0, 6.0]);
        let tail = after(&s, s[1].0);
        assert_eq!(tail, &s[2..]);
        let mean = average(tail, s[1].0, s[3].0).unwrap();
        assert_eq!((mean.mean, mean.readings), (4.5, 2));
        assert!(average(&[], s[1].0, s[3].0).is_none());
    }

    #[test]
    fn the_robust_rule_ignores_the_outliers_it_finds() {
        let mut values = vec![10.0, 11.0, 9.0, 10.0, 12.0, 8.0, 10.0];
        let rule = robust_rule(&values, 5.0).unwrap();
        values.push(1_000.0);
        let with_outlier = robust_rule(&values, 5.0).unwrap();
        assert_eq!(rule.median, 10.0);
        assert!((rule.sigma - 1.4826).abs() < 1e-12);
        assert!((with_outlier.threshold - rule.threshold).abs() < 1.0);
        assert!(robust_rule(&[], 5.0).is_none());
    }
}
