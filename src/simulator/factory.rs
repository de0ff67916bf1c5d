//! The generator: a tick at an instant gives one twin update per step.
//!
//! Every reading is a pure function of (seed, instant): smooth fractal noise keyed by the seed,
//! the twin and the property, mapped into the property's band, then blended towards the peak of
//! any incident the schedule places at that instant. A `Factory` holds no state that changes, so
//! a timer-driven process can stop and start again and its charts show no seam.

use chrono::{DateTime, Utc};
use json_patch::jsonptr::PointerBuf;
use json_patch::{Patch, PatchOperation, ReplaceOperation};
use serde_json::{json, Value};

use super::config::{millis, Band, FactoryConfig, IncidentConfig};
use super::incidents::{Incident, IncidentKind, Schedule};
use super::models::Step;
use super::noise::{fractal, key, mix};
use crate::time::Timestamp;

/// The readings of one step at one instant, as a twin update.
#[derive(Clone, Debug, PartialEq)]
pub struct StepUpdate {
    /// The step.
    pub step: Step,
    /// The step's twin id.
    pub twin_id: &'static str,
    /// The step's model id.
    pub model_id: &'static str,
    /// The JSON Patch for ADT: one `replace` per changing property, then (when asked for) one
    /// `replace` of `/$metadata/<property>/sourceTime` per property.
    pub patch: Patch,
    /// The values in the patch, in patch order (integers as whole numbers).
    pub readings: Vec<(&'static str, f64)>,
}

/// All the updates of one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    /// The instant the readings are for.
    pub time: DateTime<Utc>,
    /// One update per step, in line order.
    pub updates: Vec<StepUpdate>,
}

/// One changing property of a step.
#[derive(Clone, Debug)]
struct Signal {
    property: &'static str,
    band: Band,
    integer: bool,
    key: u64,
    /// `/<property>` as a JSON Pointer (a `~` or `/` in the name escaped), built once rather
    /// than per tick.
    path: PointerBuf,
    /// `/$metadata/<property>/sourceTime`.
    source_time_path: PointerBuf,
}

/// A step's signals and its incident schedule.
#[derive(Clone, Debug)]
struct StepPlan {
    step: Step,
    signals: Vec<Signal>,
    incidents: Schedule,
}

/// The seeded chocolate factory.
#[derive(Clone, Debug)]
pub struct Factory {
    config: FactoryConfig,
    plans: Vec<StepPlan>,
}

impl Factory {
    /// A factory for these settings. Cheap: nothing is simulated ahead.
    pub fn new(config: FactoryConfig) -> Self {
        let (r, g, m) = (&config.roasting, &config.grinding, &config.moulding);
        let plans = vec![
            plan(
                config.seed,
                Step::Roasting,
                r.overheating,
                &[
                    ("ChasisTemperature", r.chasis_temperature, false),
                    ("RoastingTime", r.roasting_time, true),
                    ("PowerUsage", r.power_usage, false),
                    ("FanSpeed", r.fan_speed, false),
                ],
            ),
            plan(
                config.seed,
                Step::Grinding,
                g.vibration_bursts,
                &[
                    ("ChasisTemperature", g.chasis_temperature, false),
                    ("GrindingTime", g.grinding_time, true),
                    ("PowerUsage", g.power_usage, false),
                    ("Force", g.force, false),
                    ("Vibration", g.vibration, false),
                ],
            ),
            plan(
                config.seed,
                Step::Moulding,
                m.temperature_excursions,
                &[
                    ("ChasisTemperature", m.chasis_temperature, false),
                    ("PowerUsage", m.power_usage, false),
                ],
            ),
        ];
        Factory { config, plans }
    }

    /// The settings.
    pub fn config(&self) -> &FactoryConfig {
        &self.config
    }

    /// The updates at `at`. With `with_source_time`, each patch also sets every property's
    /// `sourceTime` to `at` (seven fractional digits, as ADT writes).
    pub fn tick(&self, at: DateTime<Utc>, with_source_time: bool) -> Tick {
        let updates = self
            .plans
            .iter()
            .map(|plan| update(plan, at, with_source_time))
            .collect();
        Tick { time: at, updates }
    }

    /// The readings of one step at `at`, without building a patch.
    pub fn readings(&self, step: Step, at: DateTime<Utc>) -> Vec<(&'static str, f64)> {
        readings(self.plan(step), at.timestamp_millis())
    }

    /// The ground truth: every incident overlapping `[from, to)`, ordered by start.
    pub fn incidents(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Incident> {
        let mut all: Vec<Incident> = self
            .plans
            .iter()
            .flat_map(|plan| plan.incidents.between(from, to))
            .collect();
        all.sort_by_key(|incident| (incident.start, incident.step));
        all
    }

    fn plan(&self, step: Step) -> &StepPlan {
        self.plans
            .iter()
            .find(|plan| plan.step == step)
            .expect("every step has a plan")
    }
}

fn plan(
    seed: u64,
    step: Step,
    incidents: IncidentConfig,
    signals: &[(&'static str, Band, bool)],
) -> StepPlan {
    let twin = step.twin_id();
    let signals = signals
        .iter()
        .map(|&(property, band, integer)| Signal {
            property,
            band,
            integer,
            key: mix(seed, key(&format!("{twin}/{property}"))),
            path: PointerBuf::from_tokens([property]),
            source_time_path: PointerBuf::from_tokens(["$metadata", property, "sourceTime"]),
        })
        .collect();
    let incidents = Schedule {
        step,
        key: mix(seed, key(&format!("{twin}#incidents"))),
        config: incidents,
    };
    StepPlan {
        step,
        signals,
        incidents,
    }
}

fn readings(plan: &StepPlan, t_ms: i64) -> Vec<(&'static str, f64)> {
    let incident_property = IncidentKind::of(plan.step).property();
    plan.signals
        .iter()
        .map(|signal| {
            let noise = fractal(signal.key, millis(signal.band.period), t_ms);
            let mut value = signal.band.at(noise);
            if signal.property == incident_property {
                value = plan.incidents.apply(t_ms, value);
            }
            let value = if signal.integer {
                value.round()
            } else {
                (value * 100.0).round() / 100.0
            };
            (signal.property, value)
        })
        .collect()
}

fn update(plan: &StepPlan, at: DateTime<Utc>, with_source_time: bool) -> StepUpdate {
    let readings = readings(plan, at.timestamp_millis());
    let mut ops: Vec<PatchOperation> = plan
        .signals
        .iter()
        .zip(&readings)
        .map(|(signal, &(_, value))| {
            let value = if signal.integer {
                json!(value as i64)
            } else {
                json!(value)
            };
            replace(&signal.path, value)
        })
        .collect();
    if with_source_time {
        let source_time = Value::String(Timestamp::from_instant(at, 7).to_string());
        ops.extend(
            plan.signals
                .iter()
                .map(|signal| replace(&signal.source_time_path, source_time.clone())),
        );
    }
    StepUpdate {
        step: plan.step,
        twin_id: plan.step.twin_id(),
        model_id: plan.step.model_id(),
        patch: Patch(ops),
        readings,
    }
}

fn replace(path: &PointerBuf, value: Value) -> PatchOperation {
    PatchOperation::Replace(ReplaceOperation {
        path: path.clone(),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// What ADT receives for one tick of the default factory (seed 1) with source times, written
    /// out: one op per line, members in the order `op`, `path`, `value`, integers without a
    /// fraction, source times with seven fractional digits.
    const EXPECTED: [(&str, &str); 3] = [
        (
            "FanningRoastingStep",
            concat!(
                r#"[{"op":"replace","path":"/ChasisTemperature","value":136.01},"#,
                r#"{"op":"replace","path":"/RoastingTime","value":36},"#,
                r#"{"op":"replace","path":"/PowerUsage","value":77.5},"#,
                r#"{"op":"replace","path":"/FanSpeed","value":13.13},"#,
                r#"{"op":"replace","path":"/$metadata/ChasisTemperature/sourceTime","value":"2026-05-02T12:00:05.0120000Z"},"#,
                r#"{"op":"replace","path":"/$metadata/RoastingTime/sourceTime","value":"2026-05-02T12:00:05.0120000Z"},"#,
                r#"{"op":"replace","path":"/$metadata/PowerUsage/sourceTime","value":"2026-05-02T12:00:05.0120000Z"},"#,
                r#"{"op":"replace","path":"/$metadata/FanSpeed/sourceTime","value":"2026-05-02T12:00:05.0120000Z"}]"#,
            ),
        ),
        (
            "GrindingStep",
            concat!(
                r#"[{"op":"replace","path":"/ChasisTemperature","value":202.5},"#,
                r#"{"op":"replace","path":"/GrindingTime","value":35},"#,
                r#"{"op":"replace","path":"/PowerUsage","value":64.6},"#,
                r#"{"op":"replace","path":"/Force","value":307.81},"#,
                r#"{"op":"replace","path":"/Vibration","value":109.94},"#,
                r#"{"op":"replace","path":"/$metadata/ChasisTemperature/sourceTime","value":"2026-05-02T12:00:05.0120000Z"},"#,
                r#"{"op":"replace","path":"/$metadata/GrindingTime/sourceTime","value":"2026-05-02T12:00:05.0120000Z"},"#,
                r#"{"op":"replace","path":"/$metadata/PowerUsage/sourceTime","value":"2026-05-02T12:00:05.0120000Z"},"#,
                r#"{"op":"replace","path":"/$metadata/Force/sourceTime","value":"2026-05-02T12:00:05.0120000Z"},"#,
                r#"{"op":"replace","path":"/$metadata/Vibration/sourceTime","value":"2026-05-02T12:00:05.0120000Z"}]"#,
            ),
        ),
        (
            "MouldingStep",
            concat!(
                r#"[{"op":"replace","path":"/ChasisTemperature","value":87.58},"#,
                r#"{"op":"replace","path":"/PowerUsage","value":70.83},"#,
                r#"{"op":"replace","path":"/$metadata/ChasisTemperature/sourceTime","value":"2026-05-02T12:00:05.0120000Z"},"#,
                r#"{"op":"replace","path":"/$metadata/PowerUsage/sourceTime","value":"2026-05-02T12:00:05.0120000Z"}]"#,
            ),
        ),
    ];

    #[test]
    fn a_tick_serialises_to_the_json_patch_adt_receives() {
        let at = Utc.with_ymd_and_hms(2026, 5, 2, 12, 0, 5).unwrap()
            + chrono::Duration::milliseconds(12);
        let tick = Factory::new(FactoryConfig::default()).tick(at, true);
        let sent: Vec<(&str, String)> = tick
            .updates
            .iter()
            .map(|u| (u.twin_id, serde_json::to_string(&u.patch).unwrap()))
            .collect();
        let expected: Vec<(&str, String)> = EXPECTED
            .iter()
            .map(|&(id, patch)| (id, patch.to_owned()))
            .collect();
        assert_eq!(sent, expected);
    }
}
