//! The generator: deterministic per seed, in bounds, continuous, with incidents at their rates.
//!
//! Readings are a pure function of (seed, instant), so "a restart does not glitch" is the same
//! statement as "a fresh factory computes the same tick as an old one".

use std::time::Duration as StdDuration;

use adt_bridge::simulator::{
    Band, Factory, FactoryConfig, IncidentConfig, IncidentKind, Step, StepUpdate,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

const DT: StdDuration = StdDuration::from_secs(5);

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 0, 0, 0).unwrap()
}

/// What the spec says about one property: its band, whether it is an integer, and the incident
/// that can drive it above the band.
struct Spec {
    step: Step,
    property: &'static str,
    band: Band,
    integer: bool,
    incident: Option<IncidentConfig>,
}

fn specs(config: &FactoryConfig) -> Vec<Spec> {
    let (r, g, m) = (&config.roasting, &config.grinding, &config.moulding);
    let spec = |step, property, band, integer, incident| Spec {
        step,
        property,
        band,
        integer,
        incident,
    };
    vec![
        spec(
            Step::Roasting,
            "ChasisTemperature",
            r.chasis_temperature,
            false,
            Some(r.overheating),
        ),
        spec(Step::Roasting, "RoastingTime", r.roasting_time, true, None),
        spec(Step::Roasting, "PowerUsage", r.power_usage, false, None),
        spec(Step::Roasting, "FanSpeed", r.fan_speed, false, None),
        spec(
            Step::Grinding,
            "ChasisTemperature",
            g.chasis_temperature,
            false,
            None,
        ),
        spec(Step::Grinding, "GrindingTime", g.grinding_time, true, None),
        spec(Step::Grinding, "PowerUsage", g.power_usage, false, None),
        spec(Step::Grinding, "Force", g.force, false, None),
        spec(
            Step::Grinding,
            "Vibration",
            g.vibration,
            false,
            Some(g.vibration_bursts),
        ),
        spec(
            Step::Moulding,
            "ChasisTemperature",
            m.chasis_temperature,
            false,
            Some(m.temperature_excursions),
        ),
        spec(Step::Moulding, "PowerUsage", m.power_usage, false, None),
    ]
}

/// The spec range, widened above only by the incident's documented highest peak.
fn bounds(spec: &Spec) -> (f64, f64) {
    let high = spec
        .incident
        .map_or(spec.band.high, |i| spec.band.high.max(i.peak_high));
    (spec.band.low, high)
}

fn reading(factory: &Factory, step: Step, property: &str, at: DateTime<Utc>) -> f64 {
    factory
        .readings(step, at)
        .into_iter()
        .find(|(name, _)| *name == property)
        .map(|(_, value)| value)
        .unwrap()
}

fn week_at(step: StdDuration) -> impl Iterator<Item = DateTime<Utc>> {
    let step = Duration::from_std(step).unwrap();
    (0..(7 * 86_400 / step.num_seconds())).map(move |k| monday() + step * k as i32)
}

#[test]
fn the_same_seed_gives_the_same_updates_and_another_seed_others() {
    let a = Factory::new(FactoryConfig::with_seed(7));
    let b = Factory::new(FactoryConfig::with_seed(7));
    let c = Factory::new(FactoryConfig::with_seed(8));
    for hours in [0, 1, 13, 200] {
        let at = monday() + Duration::hours(hours) + Duration::milliseconds(1234);
        assert_eq!(a.tick(at, true), b.tick(at, true));
        assert_eq!(a.tick(at, false), b.tick(at, false));
        assert_ne!(a.tick(at, false).updates, c.tick(at, false).updates);
    }
}

#[test]
fn a_restarted_factory_continues_exactly_where_the_old_one_was() {
    let old = Factory::new(FactoryConfig::with_seed(3));
    let mut previous = old.tick(monday(), true);
    for k in 1..720 {
        let at = monday() + Duration::seconds(5 * k);
        let continued = old.tick(at, true);
        // A process restart: a new factory from the same settings, mid-stretch.
        let restarted = Factory::new(*old.config()).tick(at, true);
        assert_eq!(continued, restarted);
        assert_ne!(previous.time, continued.time);
        previous = continued;
    }
}

#[test]
fn readings_stay_in_bounds_and_use_their_band_over_a_week_of_5_s_ticks() {
    let config = FactoryConfig::with_seed(11);
    let specs = specs(&config);
    let week = week_of_readings(&Factory::new(config), &specs);
    for (index, spec) in specs.iter().enumerate() {
        let (low, high) = bounds(spec);
        let (mut least, mut most) = (f64::MAX, f64::MIN);
        for (at, values) in &week {
            let value = values[index];
            assert!(
                (low..=high).contains(&value),
                "{} {} = {value} at {at}",
                spec.step.name(),
                spec.property
            );
            assert!(
                !spec.integer || value.fract() == 0.0,
                "{} = {value}",
                spec.property
            );
            (least, most) = (least.min(value), most.max(value));
        }
        // A random walk over the band, not a constant: each reading covers most of its band.
        let covered = most.min(spec.band.high) - least;
        let width = spec.band.high - spec.band.low;
        assert!(
            covered > 0.6 * width,
            "{} {} only spans {least}..{most}",
            spec.step.name(),
            spec.property
        );
    }
}

/// Every reading of every property over a week at 5 s, as (spec index, value) rows per tick.
fn week_of_readings(factory: &Factory, specs: &[Spec]) -> Vec<(DateTime<Utc>, Vec<f64>)> {
    week_at(DT)
        .map(|at| {
            let by_step: Vec<_> = Step::ALL
                .iter()
                .map(|s| (*s, factory.readings(*s, at)))
                .collect();
            let values = specs
                .iter()
                .map(|spec| {
                    let (_, readings) = by_step.iter().find(|(s, _)| *s == spec.step).unwrap();
                    readings
                        .iter()
                        .find(|(p, _)| *p == spec.property)
                        .unwrap()
                        .1
                })
                .collect();
            (at, values)
        })
        .collect()
}

#[test]
fn consecutive_ticks_change_little_outside_incidents_and_ramp_inside_them() {
    let config = FactoryConfig::with_seed(5);
    let factory = Factory::new(config);
    let specs = specs(&config);
    let incidents = factory.incidents(monday(), monday() + Duration::days(7));
    let in_incident = |step: Step, at: DateTime<Utc>| {
        incidents
            .iter()
            .any(|i| i.step == step && i.start <= at && at <= i.end)
    };
    let limits: Vec<(f64, f64)> = specs.iter().map(step_limits).collect();
    let week = week_of_readings(&factory, &specs);
    for pair in week.windows(2) {
        let ((before, last), (at, now)) = (&pair[0], &pair[1]);
        for (index, spec) in specs.iter().enumerate() {
            let (calm, ramp) = limits[index];
            let change = (now[index] - last[index]).abs();
            let eventful = spec.incident.is_some()
                && (in_incident(spec.step, *before) || in_incident(spec.step, *at));
            let limit = if eventful { ramp } else { calm };
            assert!(
                change <= limit,
                "{} {} jumps {} → {} at {at}",
                spec.step.name(),
                spec.property,
                last[index],
                now[index]
            );
        }
    }
}

/// The largest change between two ticks: outside incidents (small: the noise's Lipschitz bound
/// plus rounding) and inside one (the ramp spread over several ticks, never one jump).
fn step_limits(spec: &Spec) -> (f64, f64) {
    if spec.integer {
        return (1.0, 1.0);
    }
    let calm = spec.band.max_step(DT) + 0.011;
    let width = spec.band.high - spec.band.low;
    assert!(
        calm < 0.12 * width,
        "{} {}: a step of {calm} is not small",
        spec.step.name(),
        spec.property
    );
    let Some(incident) = spec.incident else {
        return (calm, calm);
    };
    // The smoothstep's steepest slope is 1.875 / ramp; the wobble and the walk add a little.
    let rise = incident.peak_high - spec.band.low;
    let ramp =
        rise * 1.875 * DT.as_secs_f64() / incident.ramp.as_secs_f64() + incident.wobble + calm;
    assert!(ramp < 0.8 * rise, "{}: the ramp is a jump", spec.property);
    (calm, ramp)
}

#[test]
fn incidents_start_at_their_configured_rates() {
    // 20 seeds × 7 days = 3,360 hourly buckets per step, each starting an incident with
    // probability per_day / 24. The count is binomial; 4 standard deviations either side keeps
    // this test's false-alarm rate below 1e-4 while catching a rate off by about 15 %.
    let config = FactoryConfig::default();
    let buckets = 20.0 * 7.0 * 24.0;
    for (kind, per_day) in [
        (
            IncidentKind::Overheating,
            config.roasting.overheating.per_day,
        ),
        (
            IncidentKind::VibrationBurst,
            config.grinding.vibration_bursts.per_day,
        ),
        (
            IncidentKind::TemperatureExcursion,
            config.moulding.temperature_excursions.per_day,
        ),
    ] {
        let count: usize = (0..20)
            .map(|seed| {
                let factory = Factory::new(FactoryConfig::with_seed(seed));
                let week = factory.incidents(monday(), monday() + Duration::days(7));
                week.iter().filter(|i| i.kind == kind).count()
            })
            .sum();
        let p = per_day / 24.0;
        let (mean, sd) = (buckets * p, (buckets * p * (1.0 - p)).sqrt());
        let count = count as f64;
        assert!(
            (count - mean).abs() <= 4.0 * sd,
            "{kind:?}: {count} incidents, expected {mean} ± {}",
            4.0 * sd
        );
    }
}

#[test]
fn incidents_have_their_documented_shape_and_are_the_only_excursions() {
    let config = FactoryConfig::with_seed(1);
    let factory = Factory::new(config);
    let incidents = factory.incidents(monday(), monday() + Duration::days(7));
    for spec in specs(&config).iter().filter(|s| s.incident.is_some()) {
        let settings = spec.incident.unwrap();
        let kind = IncidentKind::of(spec.step);
        let mine: Vec<_> = incidents.iter().filter(|i| i.kind == kind).collect();
        assert!(!mine.is_empty(), "{kind:?}");
        for incident in &mine {
            let length = (incident.end - incident.start).to_std().unwrap();
            assert!(
                settings.shortest <= length && length <= settings.longest,
                "{incident:?}"
            );
            assert!((settings.peak_low..=settings.peak_high).contains(&incident.peak));
            // Midway, the reading sits just under the peak.
            let middle = incident.start + (incident.end - incident.start) / 2;
            let value = reading(&factory, spec.step, spec.property, middle);
            assert!(
                value <= incident.peak + 0.005 && value >= incident.peak - settings.wobble - 0.005,
                "{incident:?}: {value}"
            );
        }
        // Sampled every 30 s: above the band only inside an incident.
        for at in week_at(StdDuration::from_secs(30)) {
            let value = reading(&factory, spec.step, spec.property, at);
            if value > spec.band.high {
                assert!(
                    mine.iter().any(|i| i.start < at && at < i.end),
                    "{} {value} at {at}",
                    spec.property
                );
            }
        }
    }
}

#[test]
fn listing_incidents_is_the_same_whatever_the_window_cuts() {
    let factory = Factory::new(FactoryConfig::with_seed(4));
    let (a, c) = (monday(), monday() + Duration::days(3));
    let whole = factory.incidents(a, c);
    let mut parts = factory.incidents(a, a + Duration::hours(31));
    parts.extend(factory.incidents(a + Duration::hours(31), c));
    parts.dedup();
    assert_eq!(whole, parts);
    assert!(whole.windows(2).all(|w| w[0].start <= w[1].start));
}

fn check_patch(update: &StepUpdate, at: DateTime<Utc>, with_source_time: bool) {
    let patch = serde_json::to_value(&update.patch).unwrap();
    let ops = patch.as_array().unwrap();
    let values = &ops[..update.readings.len()];
    for (op, (property, value)) in values.iter().zip(&update.readings) {
        assert_eq!(op["op"], "replace");
        assert_eq!(op["path"], format!("/{property}"));
        let integer = property.ends_with("Time");
        assert_eq!(op["value"].is_i64(), integer, "{property}");
        assert_eq!(op["value"].as_f64().unwrap(), *value);
    }
    let times = &ops[update.readings.len()..];
    assert_eq!(
        times.len(),
        if with_source_time {
            update.readings.len()
        } else {
            0
        }
    );
    let expected = format!(
        "{}.{:07}Z",
        at.format("%Y-%m-%dT%H:%M:%S"),
        at.timestamp_subsec_nanos() / 100
    );
    for (op, (property, _)) in times.iter().zip(&update.readings) {
        assert_eq!(op["path"], format!("/$metadata/{property}/sourceTime"));
        assert_eq!(op["value"], expected);
    }
}

#[test]
fn patches_replace_each_changing_property_and_carry_source_times_when_asked() {
    let factory = Factory::new(FactoryConfig::default());
    let at = monday() + Duration::milliseconds(5_123);
    for with_source_time in [false, true] {
        let tick = factory.tick(at, with_source_time);
        assert_eq!(tick.time, at);
        let twins: Vec<&str> = tick.updates.iter().map(|u| u.twin_id).collect();
        assert_eq!(
            twins,
            ["FanningRoastingStep", "GrindingStep", "MouldingStep"]
        );
        for update in &tick.updates {
            assert_eq!(update.model_id, update.step.model_id());
            check_patch(update, at, with_source_time);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn readings_are_in_bounds_at_any_time_for_any_seed(seed: u64, ms in 946_684_800_000i64..4_102_444_800_000) {
        let config = FactoryConfig::with_seed(seed);
        let factory = Factory::new(config);
        let at = Utc.timestamp_millis_opt(ms).unwrap();
        let tick = factory.tick(at, true);
        for spec in specs(&config) {
            let update = tick.updates.iter().find(|u| u.step == spec.step).unwrap();
            let (_, value) = update.readings.iter().find(|(p, _)| *p == spec.property).unwrap();
            let (low, high) = bounds(&spec);
            prop_assert!((low..=high).contains(value), "{} {} = {}", spec.step.name(), spec.property, value);
        }
        prop_assert_eq!(Factory::new(config).tick(at, true), tick);
    }
}
