//! Seeded, stateless randomness: a 64-bit mixer and smooth fractal value noise over time.
//!
//! Everything here is a pure function of a key and a time in milliseconds, so a reading can be
//! recomputed at any instant by any process: there is no state to lose between invocations and
//! nothing to jump when a process restarts.

/// Octaves of value noise summed into one signal; each halves the period and the weight.
const OCTAVES: u32 = 5;
/// Gain of the soft clamp that spreads the summed noise over its band while keeping it in `[-1, 1]`.
const SHAPE_GAIN: f64 = 2.0;

/// Mixes two words into one well-distributed word (the SplitMix64 finaliser over `a ^ f(b)`).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` from a hash word.
pub(crate) fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// A stable 64-bit key for a name (FNV-1a), so signals keep their noise across builds.
pub(crate) fn key(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// The quintic smoothstep: 0 at 0, 1 at 1, flat first and second derivatives at both ends.
pub(crate) fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * x * (x * (x * 6.0 - 15.0) + 10.0)
}

/// One octave: values uniform in `[-1, 1]` on a grid of `period_ms`, blended smoothly between.
fn value_noise(key: u64, period_ms: i64, t_ms: i64) -> f64 {
    let cell = t_ms.div_euclid(period_ms);
    let fraction = t_ms.rem_euclid(period_ms) as f64 / period_ms as f64;
    let at = |cell: i64| unit(mix(key, cell as u64)) * 2.0 - 1.0;
    let (left, right) = (at(cell), at(cell + 1));
    left + (right - left) * smoothstep(fraction)
}

/// Smooth, bounded, mean-reverting noise in `[-1, 1]`, centred on 0.
///
/// `period_ms` is the period of the slowest octave: the time a typical swing takes. The sum of
/// octaves is a convex combination (so in `[-1, 1]`), then spread by `tanh(g·x)/tanh(g)`.
pub(crate) fn fractal(key: u64, period_ms: i64, t_ms: i64) -> f64 {
    let mut sum = 0.0;
    let mut total_weight = 0.0;
    let mut weight = 1.0;
    for octave in 0..OCTAVES {
        let period = (period_ms >> octave).max(1);
        sum += weight * value_noise(mix(key, u64::from(octave)), period, t_ms);
        total_weight += weight;
        weight *= 0.5;
    }
    (SHAPE_GAIN * sum / total_weight).tanh() / SHAPE_GAIN.tanh()
}

/// The largest change of [`fractal`] over `dt_ms`, for any key and time (a Lipschitz bound).
///
/// Each octave's slope is at most `2 · 1.875 / period` (value step times the quintic's steepest
/// slope); weights and periods halve together, so each octave contributes `weight/period = 1/P`.
pub(crate) fn fractal_max_step(period_ms: i64, dt_ms: i64) -> f64 {
    let total_weight: f64 = (0..OCTAVES).map(|o| 0.5f64.powi(o as i32)).sum();
    let per_octave = 2.0 * 1.875 * dt_ms as f64 / period_ms as f64;
    let shape_slope = SHAPE_GAIN / SHAPE_GAIN.tanh();
    per_octave * f64::from(OCTAVES) / total_weight * shape_slope
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractal_noise_is_bounded_and_uses_its_range() {
        let (mut low, mut high) = (0.0f64, 0.0f64);
        for t in (0..30 * 86_400_000i64).step_by(60_000) {
            let n = fractal(key("test"), 3_600_000, t);
            assert!((-1.0..=1.0).contains(&n), "{n} at {t}");
            low = low.min(n);
            high = high.max(n);
        }
        assert!(low < -0.8 && high > 0.8, "spread {low}..{high}");
    }

    #[test]
    fn fractal_noise_changes_no_faster_than_its_bound() {
        let bound = fractal_max_step(600_000, 5_000);
        let mut previous = fractal(7, 600_000, -86_400_000);
        for t in (-86_400_000i64..86_400_000).step_by(5_000).skip(1) {
            let n = fractal(7, 600_000, t);
            assert!(
                (n - previous).abs() <= bound,
                "step {} > {bound}",
                n - previous
            );
            previous = n;
        }
    }

    #[test]
    fn fractal_noise_averages_near_zero() {
        let samples: Vec<f64> = (0..200_000i64)
            .map(|i| fractal(key("mean"), 600_000, i * 30_000))
            .collect();
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn keys_and_mixing_are_stable() {
        assert_eq!(key(""), 0xCBF2_9CE4_8422_2325);
        assert_ne!(mix(1, 2), mix(2, 1));
        assert_eq!(mix(42, 7), mix(42, 7));
    }
}
