//! The simulator's settings: the seed, each reading's band and baseline, and the incident rates.
//! Defaults are the ranges of the factory spec (`chocolate-factory.md`).

use std::time::Duration;

use super::noise::fractal_max_step;

/// Where one reading wanders when nothing is wrong: within `[low, high]`, around `baseline`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// The lowest normal value.
    pub low: f64,
    /// The value the reading reverts to.
    pub baseline: f64,
    /// The highest normal value.
    pub high: f64,
    /// How long a typical swing takes (the period of the slowest noise octave). Longer is calmer.
    pub period: Duration,
}

impl Band {
    /// A band with the given bounds, baseline and swing period in minutes.
    pub const fn new(low: f64, baseline: f64, high: f64, period_minutes: u64) -> Self {
        Band {
            low,
            baseline,
            high,
            period: Duration::from_secs(period_minutes * 60),
        }
    }

    /// The largest change of the normal reading over `dt` (before rounding), anywhere in time.
    pub fn max_step(&self, dt: Duration) -> f64 {
        let half = (self.high - self.baseline).max(self.baseline - self.low);
        half * fractal_max_step(millis(self.period), millis(dt))
    }

    /// The reading for a noise value in `[-1, 1]`: `-1` is `low`, `0` the baseline, `1` `high`.
    pub(crate) fn at(&self, noise: f64) -> f64 {
        if noise >= 0.0 {
            self.baseline + noise * (self.high - self.baseline)
        } else {
            self.baseline + noise * (self.baseline - self.low)
        }
    }
}

/// A kind of incident: how often it starts, how long it lasts, how high it peaks.
///
/// Incidents are scheduled per hour (at most one per hour and step, fully inside its hour), so
/// `per_day` is at most 24 and `longest` at most an hour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncidentConfig {
    /// Expected incidents per day.
    pub per_day: f64,
    /// Shortest incident, ramps included.
    pub shortest: Duration,
    /// Longest incident, ramps included.
    pub longest: Duration,
    /// Lowest peak level.
    pub peak_low: f64,
    /// Highest peak level.
    pub peak_high: f64,
    /// How far below its peak the reading wobbles while the incident lasts.
    pub wobble: f64,
    /// Time to rise to the peak level (and to fall back): quick, but not a jump.
    pub ramp: Duration,
}

/// The roasting (fanning) step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoastingConfig {
    /// `ChasisTemperature`, °F: around 140.
    pub chasis_temperature: Band,
    /// `RoastingTime`, minutes (an integer): 30 to 130.
    pub roasting_time: Band,
    /// `PowerUsage`, kW: 60 to 80.
    pub power_usage: Band,
    /// `FanSpeed`: 10 to 14.
    pub fan_speed: Band,
    /// Overheating above 150 °F for 2 to 10 minutes, about 4 times a day.
    pub overheating: IncidentConfig,
}

/// The grinding step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrindingConfig {
    /// `ChasisTemperature`, °F: 200 to 210.
    pub chasis_temperature: Band,
    /// `GrindingTime`, minutes (an integer): 20 to 40 (the spec gives no range).
    pub grinding_time: Band,
    /// `PowerUsage`, kW: 60 to 80.
    pub power_usage: Band,
    /// `Force`, lb: 300 to 310.
    pub force: Band,
    /// `Vibration`, Hz: around 110, within 80 to 160.
    pub vibration: Band,
    /// Vibration bursts above 180 Hz for 1 to 3 minutes, about 6 times a day.
    pub vibration_bursts: IncidentConfig,
}

/// The moulding step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MouldingConfig {
    /// `ChasisTemperature`, °F: around 88.
    pub chasis_temperature: Band,
    /// `PowerUsage`, kW: 60 to 80.
    pub power_usage: Band,
    /// Rare excursions 15 to 25 °F above the baseline for 5 to 15 minutes, about one in 2 days.
    pub temperature_excursions: IncidentConfig,
}

/// Everything the generator needs: the seed and each step's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FactoryConfig {
    /// The seed: the same seed gives the same readings at the same instants.
    pub seed: u64,
    /// The roasting step.
    pub roasting: RoastingConfig,
    /// The grinding step.
    pub grinding: GrindingConfig,
    /// The moulding step.
    pub moulding: MouldingConfig,
}

impl FactoryConfig {
    /// The default factory with another seed.
    pub fn with_seed(seed: u64) -> Self {
        FactoryConfig {
            seed,
            ..FactoryConfig::default()
        }
    }
}

impl Default for FactoryConfig {
    fn default() -> Self {
        FactoryConfig {
            seed: 1,
            roasting: RoastingConfig::default(),
            grinding: GrindingConfig::default(),
            moulding: MouldingConfig::default(),
        }
    }
}

impl Default for RoastingConfig {
    fn default() -> Self {
        RoastingConfig {
            chasis_temperature: Band::new(135.0, 140.0, 145.0, 45),
            roasting_time: Band::new(30.0, 80.0, 130.0, 360),
            power_usage: Band::new(60.0, 70.0, 80.0, 30),
            fan_speed: Band::new(10.0, 12.0, 14.0, 20),
            overheating: IncidentConfig {
                per_day: 4.0,
                shortest: minutes(2),
                longest: minutes(10),
                peak_low: 154.0,
                peak_high: 162.0,
                wobble: 2.0,
                ramp: Duration::from_secs(30),
            },
        }
    }
}

impl Default for GrindingConfig {
    fn default() -> Self {
        GrindingConfig {
            chasis_temperature: Band::new(200.0, 205.0, 210.0, 45),
            grinding_time: Band::new(20.0, 30.0, 40.0, 360),
            power_usage: Band::new(60.0, 70.0, 80.0, 30),
            force: Band::new(300.0, 305.0, 310.0, 20),
            vibration: Band::new(80.0, 110.0, 160.0, 15),
            vibration_bursts: IncidentConfig {
                per_day: 6.0,
                shortest: minutes(1),
                longest: minutes(3),
                peak_low: 185.0,
                peak_high: 215.0,
                wobble: 4.0,
                ramp: Duration::from_secs(15),
            },
        }
    }
}

impl Default for MouldingConfig {
    fn default() -> Self {
        MouldingConfig {
            chasis_temperature: Band::new(86.0, 88.0, 90.0, 45),
            power_usage: Band::new(60.0, 70.0, 80.0, 30),
            temperature_excursions: IncidentConfig {
                per_day: 0.5,
                shortest: minutes(5),
                longest: minutes(15),
                peak_low: 103.0,
                peak_high: 113.0,
                wobble: 1.5,
                ramp: Duration::from_secs(60),
            },
        }
    }
}

const fn minutes(count: u64) -> Duration {
    Duration::from_secs(count * 60)
}

/// A duration in whole milliseconds, at least 1 (periods divide by it).
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}
