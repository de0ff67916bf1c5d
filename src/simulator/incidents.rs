//! The incident schedule: a pure function of the seed and the hour.
//!
//! Time is cut into UTC hours. For each hour and step, a hash of (seed, step, hour) decides
//! whether an incident starts in that hour (probability `per_day / 24`), and if so its duration,
//! its start within the hour (the whole incident fits inside it) and its peak. Any process can
//! therefore list the incidents of any window, or tell whether an instant is inside one, without
//! having simulated what came before.

use chrono::{DateTime, TimeZone, Utc};

use super::config::{millis, IncidentConfig};
use super::models::Step;
use super::noise::{fractal, mix, smoothstep, unit};

/// Length of a scheduling bucket: one hour.
const BUCKET_MS: i64 = 3_600_000;
/// Period of the wobble below the peak while an incident lasts.
const WOBBLE_PERIOD_MS: i64 = 40_000;

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentKind {
    /// Roasting `ChasisTemperature` above 150 °F.
    Overheating,
    /// Grinding `Vibration` above 180 Hz.
    VibrationBurst,
    /// Moulding `ChasisTemperature` far above its normal spread.
    TemperatureExcursion,
}

impl IncidentKind {
    /// The incident kind of a step (each step has one).
    pub fn of(step: Step) -> Self {
        match step {
            Step::Roasting => IncidentKind::Overheating,
            Step::Grinding => IncidentKind::VibrationBurst,
            Step::Moulding => IncidentKind::TemperatureExcursion,
        }
    }

    /// The property the incident drives.
    pub fn property(self) -> &'static str {
        match self {
            IncidentKind::VibrationBurst => "Vibration",
            IncidentKind::Overheating | IncidentKind::TemperatureExcursion => "ChasisTemperature",
        }
    }
}

/// One incident of the ground truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Incident {
    /// The step it happened at.
    pub step: Step,
    /// What happened.
    pub kind: IncidentKind,
    /// When the reading starts to leave its normal course.
    pub start: DateTime<Utc>,
    /// When it is back on its normal course.
    pub end: DateTime<Utc>,
    /// The level the reading rises to: it stays within `wobble` below it between the ramps.
    pub peak: f64,
}

/// The incidents of one step, as scheduled from a seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schedule {
    pub step: Step,
    pub key: u64,
    pub config: IncidentConfig,
}

/// An incident in milliseconds since the epoch, for evaluation.
#[derive(Clone, Copy, Debug)]
struct Planned {
    start_ms: i64,
    end_ms: i64,
    peak: f64,
}

impl Schedule {
    /// The incident planned in the hour `bucket`, if any.
    fn planned(&self, bucket: i64) -> Option<Planned> {
        let config = &self.config;
        let hash = mix(self.key, bucket as u64);
        if unit(mix(hash, 0)) >= config.per_day / 24.0 {
            return None;
        }
        let shortest = millis(config.shortest).min(BUCKET_MS);
        let longest = millis(config.longest).clamp(shortest, BUCKET_MS);
        let duration = shortest + whole_seconds(unit(mix(hash, 1)) * (longest - shortest) as f64);
        let offset = whole_seconds(unit(mix(hash, 2)) * (BUCKET_MS - duration) as f64);
        let peak = config.peak_low + unit(mix(hash, 3)) * (config.peak_high - config.peak_low);
        let start_ms = bucket * BUCKET_MS + offset;
        Some(Planned {
            start_ms,
            end_ms: start_ms + duration,
            peak,
        })
    }

    /// Every incident overlapping `[from, to)`, in time order.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Incident> {
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        (from_ms.div_euclid(BUCKET_MS)..=to_ms.div_euclid(BUCKET_MS))
            .filter_map(|bucket| self.planned(bucket))
            .filter(|p| p.end_ms > from_ms && p.start_ms < to_ms)
            .map(|p| Incident {
                step: self.step,
                kind: IncidentKind::of(self.step),
                start: instant(p.start_ms),
                end: instant(p.end_ms),
                peak: p.peak,
            })
            .collect()
    }

    /// The reading at `t_ms`: `normal` outside incidents, blended towards the peak inside one.
    ///
    /// Inside an incident the target is `peak − wobble·w(t)` with `w` smooth noise in `[0, 1]`;
    /// the blend weight rises from 0 to 1 over the ramp (a smoothstep), so the reading stays
    /// continuous and between `normal` and `peak`.
    pub fn apply(&self, t_ms: i64, normal: f64) -> f64 {
        let Some(incident) = self.planned(t_ms.div_euclid(BUCKET_MS)) else {
            return normal;
        };
        if t_ms <= incident.start_ms || t_ms >= incident.end_ms {
            return normal;
        }
        let ramp = millis(self.config.ramp) as f64;
        let inside = (t_ms - incident.start_ms).min(incident.end_ms - t_ms) as f64;
        let weight = smoothstep(inside / ramp);
        let wobble = (fractal(mix(self.key, 0x0B), WOBBLE_PERIOD_MS, t_ms) + 1.0) / 2.0;
        let target = incident.peak - self.config.wobble * wobble;
        normal + weight * (target - normal)
    }
}

fn whole_seconds(ms: f64) -> i64 {
    (ms / 1000.0).floor() as i64 * 1000
}

fn instant(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .expect("incident times are within chrono's range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::config::FactoryConfig;

    fn roasting(seed: u64) -> Schedule {
        Schedule {
            step: Step::Roasting,
            key: mix(seed, 1),
            config: FactoryConfig::default().roasting.overheating,
        }
    }

    #[test]
    fn incidents_fit_their_documented_shape() {
        let schedule = roasting(3);
        let from = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        let incidents = schedule.between(from, from + chrono::Duration::days(30));
        assert!(!incidents.is_empty());
        for incident in incidents {
            let minutes = (incident.end - incident.start).num_seconds() as f64 / 60.0;
            assert!((2.0..=10.0).contains(&minutes), "{minutes} min");
            assert!((154.0..=162.0).contains(&incident.peak));
        }
    }

    #[test]
    fn the_reading_is_normal_at_the_edges_and_near_the_peak_in_the_middle() {
        let schedule = roasting(3);
        let from = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        let incident = schedule.between(from, from + chrono::Duration::days(2))[0];
        let (start, end) = (
            incident.start.timestamp_millis(),
            incident.end.timestamp_millis(),
        );
        assert_eq!(schedule.apply(start, 140.0), 140.0);
        assert_eq!(schedule.apply(end, 140.0), 140.0);
        let middle = schedule.apply((start + end) / 2, 140.0);
        assert!(
            middle <= incident.peak && middle >= incident.peak - 2.0,
            "{middle}"
        );
    }
}
