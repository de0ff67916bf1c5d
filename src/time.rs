//! `Timestamp`: an instant in UTC that remembers how many fractional digits it came with.
//!
//! ADT writes seven fractional digits (`2021-12-09T20:28:52.9795363Z`), the Functions host truncates
//! top-level dates to whole seconds and drops the zone, and users' `sourceTime`s can carry any
//! offset. Records must say UTC with `Z` and keep the precision the value arrived with, so the
//! parser records the digit count and `Display` writes exactly that many.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// An instant in UTC plus the number of fractional-second digits to print (0 to 9).
///
/// Equality, ordering and hashing look at the instant only: two spellings of the same moment
/// group into one record, which keeps the precision of the first one seen.
#[derive(Clone, Copy, Debug)]
pub struct Timestamp {
    instant: DateTime<Utc>,
    digits: u8,
}

/// Why a text is not a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO 8601 date and time: {0:?}")]
pub struct TimestampError(String);

impl Timestamp {
    /// Parses ISO 8601 / RFC 3339 date-times in the forms ADT, Event Grid and the Functions host use.
    ///
    /// Accepts `T`, `t` or a space between date and time, up to nine fractional digits (more are
    /// truncated), and a zone of `Z`, `±HH:MM`, `±HHMM`, `±HH` or none (read as UTC).
    ///
    /// ```
    /// use adt_bridge::time::Timestamp;
    /// let t = Timestamp::parse("2026-05-01T14:00:00.1234567+02:00").unwrap();
    /// assert_eq!(t.to_string(), "2026-05-01T12:00:00.1234567Z");
    /// assert_eq!(Timestamp::parse("2024-05-01T12:00:00").unwrap().to_string(), "2024-05-01T12:00:00Z");
    /// assert!(Timestamp::parse("yesterday").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        parse_iso(text.trim()).ok_or_else(|| TimestampError(truncate(text, 64)))
    }

    /// A timestamp from an instant, printed with `digits` fractional digits (clamped to 9).
    pub fn from_instant(instant: DateTime<Utc>, digits: u8) -> Self {
        Timestamp {
            instant,
            digits: digits.min(9),
        }
    }

    /// The instant.
    pub fn instant(&self) -> DateTime<Utc> {
        self.instant
    }

    /// The .NET `DateTime.MinValue` (year 1) and other dates before year 1000 are placeholders,
    /// not times: Event Grid sends `0001-01-01T00:00:00Z` as `eventTime` for telemetry.
    pub fn is_placeholder(&self) -> bool {
        self.instant.year() < 1000
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.instant.cmp(&other.instant)
    }
}
impl std::hash::Hash for Timestamp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.instant.hash(state)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.instant.format("%Y-%m-%dT%H:%M:%S"))?;
        if self.digits > 0 {
            let nanos = format!("{:09}", self.instant.timestamp_subsec_nanos());
            write!(f, ".{}", &nanos[..usize::from(self.digits)])?;
        }
        f.write_str("Z")
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn parse_iso(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || !text.is_ascii() {
        return None;
    }
    let date = NaiveDate::parse_from_str(&text[..10], "%Y-%m-%d").ok()?;
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let hms = NaiveTime::parse_from_str(&text[11..19], "%H:%M:%S").ok()?;
    let rest = &text[19..];
    let (nanos, digits, zone) = split_fraction(rest)?;
    let offset_seconds = parse_zone(zone)?;
    let local = NaiveDateTime::new(date, hms) + chrono::Duration::nanoseconds(i64::from(nanos));
    let utc = local - chrono::Duration::seconds(i64::from(offset_seconds));
    Some(Timestamp::from_instant(utc.and_utc(), digits))
}

/// Splits `.fffffff<zone>` into nanoseconds, the digit count kept (at most 9) and the zone text.
fn split_fraction(rest: &str) -> Option<(u32, u8, &str)> {
    let Some(fraction) = rest.strip_prefix(['.', ',']) else {
        return Some((0, 0, rest));
    };
    let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
    if count == 0 {
        return None;
    }
    let kept = &fraction[..count.min(9)];
    let nanos = kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32);
    Some((nanos, kept.len() as u8, &fraction[count..]))
}

/// The zone's offset east of UTC in seconds; no zone means UTC.
fn parse_zone(zone: &str) -> Option<i32> {
    match zone {
        "" | "Z" | "z" => return Some(0),
        _ => {}
    }
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_in_use() {
        let cases = [
            (
                "2021-12-09T20:28:52.9795363Z",
                "2021-12-09T20:28:52.9795363Z",
            ),
            ("2024-05-01T12:00:00", "2024-05-01T12:00:00Z"),
            ("2024-05-01T12:00:00.5+00:00", "2024-05-01T12:00:00.5Z"),
            ("2024-05-01T00:30:00-01:00", "2024-05-01T01:30:00Z"),
            ("2024-05-01T00:30:00+0130", "2024-04-30T23:00:00Z"),
            ("2024-05-01 12:00:00.123", "2024-05-01T12:00:00.123Z"),
            ("2024-05-01t12:00:00z", "2024-05-01T12:00:00Z"),
            (
                "2024-05-01T12:00:00.1234567891234Z",
                "2024-05-01T12:00:00.123456789Z",
            ),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Timestamp::parse(input).unwrap().to_string(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_date_time() {
        for input in [
            "",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2024-05-01T25:00:00Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00+25:00",
            "2024-05-01T12:00:00 UTC",
            "1714564800",
            "2024-05-01T12:00:00Zjunk",
        ] {
            assert!(Timestamp::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn year_one_is_a_placeholder() {
        assert!(Timestamp::parse("0001-01-01T00:00:00Z")
            .unwrap()
            .is_placeholder());
        assert!(!Timestamp::parse("2024-01-01T00:00:00Z")
            .unwrap()
            .is_placeholder());
    }

    #[test]
    fn equal_instants_are_equal_whatever_the_precision() {
        let a = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let b = Timestamp::parse("2024-05-01T12:00:00.000+00:00").unwrap();
        assert_eq!(a, b);
    }
}
