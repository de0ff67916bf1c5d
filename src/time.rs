//! `Timestamp`: an instant in UTC that remembers how many fractional digits it came with.
//!
//! ADT writes seven fractional digits (`2021-12-09T20:28:52.9795363Z`), the Functions host truncates
//! top-level dates to whole seconds and drops the zone, and users' `sourceTime`s can carry any
//! offset. Records must say UTC with `Z` and keep the precision the value arrived with, so the
//! parser records the digit count and `Display` writes exactly that many.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use crate::text::truncated;

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
        parse_fixed_layout(text.as_bytes())
            .or_else(|| parse_iso(text.trim()))
            .ok_or_else(|| TimestampError(truncated(text, 64)))
    }

    /// A timestamp from an instant, printed with `digits` fractional digits (clamped to 9).
    pub fn from_instant(instant: DateTime<Utc>, digits: u8) -> Self {
        Timestamp {
            instant,
            digits: digits.min(9),
        }
    }

    /// This machine's clock, to 100 ns (ADT's precision): the fallback when the input carries
    /// no time, read only at the edges (the host, `transform-file`).
    pub fn now() -> Self {
        Self::from_instant(chrono::Utc::now(), 7)
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

    /// `text` as a time to stamp records with: readable, and not a placeholder. Every timestamp
    /// fallback (event time, enqueued time, `sourceTime`, `UtcNow`) reads its text this way.
    ///
    /// ```
    /// use adt_bridge::time::Timestamp;
    /// assert!(Timestamp::parse_time("2026-05-01T12:00:00Z").is_some());
    /// assert!(Timestamp::parse_time("0001-01-01T00:00:00Z").is_none());
    /// assert!(Timestamp::parse_time("yesterday").is_none());
    /// ```
    pub fn parse_time(text: &str) -> Option<Timestamp> {
        Timestamp::parse(text).ok().filter(|t| !t.is_placeholder())
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
        // Every record carries a timestamp, so the common case is written digit by digit;
        // chrono's `format` re-reads its format string on every call.
        match IsoText::of(self) {
            Some(text) => f.write_str(text.as_str()),
            None => self.fmt_general(f),
        }
    }
}

impl Timestamp {
    /// Appends the text `Display` writes: ASCII digits and separators, which JSON never escapes.
    pub(crate) fn append_text(&self, out: &mut Vec<u8>) {
        match IsoText::of(self) {
            Some(text) => out.extend_from_slice(text.as_bytes()),
            None => out.extend_from_slice(self.to_string().as_bytes()),
        }
    }

    /// Years outside 0..=9999 (printed with a sign) and leap seconds: chrono's formatting rules.
    fn fmt_general(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.instant.format("%Y-%m-%dT%H:%M:%S"))?;
        if self.digits > 0 {
            // In a leap second chrono counts on past 999_999_999 (`:60.5` is second 59 plus
            // 1_500_000_000 ns): the fraction written is what lies past the whole second.
            let past_the_second = self.instant.timestamp_subsec_nanos() % 1_000_000_000;
            let nanos = format!("{past_the_second:09}");
            write!(f, ".{}", &nanos[..usize::from(self.digits)])?;
        }
        f.write_str("Z")
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f]Z` on the stack: at most 19 + 1 + 9 + 1 bytes.
struct IsoText {
    bytes: [u8; 30],
    len: usize,
}

impl IsoText {
    /// The text of a timestamp with a four-digit year outside a leap second, else `None`.
    fn of(timestamp: &Timestamp) -> Option<Self> {
        let utc = timestamp.instant.naive_utc();
        let (date, time) = (utc.date(), utc.time());
        let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
        let nanos = time.nanosecond();
        if nanos >= 1_000_000_000 {
            return None;
        }
        let mut text = IsoText {
            bytes: [0; 30],
            len: 0,
        };
        text.push_digits(year, 4);
        text.push(b'-');
        text.push_digits(date.month(), 2);
        text.push(b'-');
        text.push_digits(date.day(), 2);
        text.push(b'T');
        text.push_digits(time.hour(), 2);
        text.push(b':');
        text.push_digits(time.minute(), 2);
        text.push(b':');
        text.push_digits(time.second(), 2);
        if timestamp.digits > 0 {
            let digits = u32::from(timestamp.digits);
            text.push(b'.');
            text.push_digits(nanos / 10u32.pow(9 - digits), digits);
        }
        text.push(b'Z');
        Some(text)
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// The last `width` decimal digits of `value`, zero-padded.
    fn push_digits(&mut self, mut value: u32, width: u32) {
        let width = width as usize;
        for slot in self.bytes[self.len..self.len + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += width;
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("ASCII digits and separators")
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match IsoText::of(self) {
            Some(text) => serializer.serialize_str(text.as_str()),
            None => serializer.collect_str(self),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f…][Z]`, the layout ADT, the simulator and the Functions host write,
/// read straight from the bytes: every event and most patches carry one, and chrono's parser
/// re-reads its format string each time. Any other text (offsets, other separators, leap seconds,
/// blanks around it) is left to [`parse_iso`], which reads this layout to the same result.
fn parse_fixed_layout(text: &[u8]) -> Option<Timestamp> {
    let (head, rest) = text.split_at_checked(19)?;
    let &[y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1, b':', mi0, mi1, b':', s0, s1] =
        head
    else {
        return None;
    };
    let fraction = match rest.strip_suffix(b"Z").unwrap_or(rest) {
        [] => &[][..],
        [b'.', fraction @ ..]
            if !fraction.is_empty() && fraction.iter().all(u8::is_ascii_digit) =>
        {
            fraction
        }
        _ => return None,
    };
    let kept = &fraction[..fraction.len().min(9)];
    let nanos = fixed_number(kept)? * 10u32.pow(9 - kept.len() as u32);
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(fixed_number(&[y0, y1, y2, y3])?).ok()?,
        fixed_number(&[mo0, mo1])?,
        fixed_number(&[d0, d1])?,
    )?;
    let time = NaiveTime::from_hms_nano_opt(
        fixed_number(&[h0, h1])?,
        fixed_number(&[mi0, mi1])?,
        fixed_number(&[s0, s1])?,
        nanos,
    )?;
    let instant = NaiveDateTime::new(date, time).and_utc();
    Some(Timestamp::from_instant(instant, kept.len() as u8))
}

/// The value of a run of ASCII digits (at most 9), or `None` if any byte is not a digit.
fn fixed_number(digits: &[u8]) -> Option<u32> {
    let mut value = 0;
    for byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u32::from(digit);
    }
    Some(value)
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
    let fraction = match rest.as_bytes().first() {
        Some(b'.' | b',') => &rest[1..],
        _ => return Some((0, 0, rest)),
    };
    let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
    if count == 0 {
        return None;
    }
    let kept = &fraction[..count.min(9)];
    let nanos = fixed_number(kept.as_bytes())? * 10u32.pow(9 - kept.len() as u32);
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

    /// The old way of writing a timestamp, which the digit-by-digit one must match.
    fn chrono_text(timestamp: &Timestamp) -> String {
        struct General<'a>(&'a Timestamp);
        impl fmt::Display for General<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_general(f)
            }
        }
        General(timestamp).to_string()
    }

    #[test]
    fn years_past_9999_and_leap_seconds_are_written_as_chrono_writes_them() {
        let late = Timestamp::parse("9999-12-31T23:30:00.5-01:00").unwrap();
        assert_eq!(late.to_string(), "+10000-01-01T00:30:00.5Z");
        let leap = Timestamp::parse("2016-12-31T23:59:60.25Z").unwrap();
        assert_eq!(leap.to_string(), chrono_text(&leap));
        assert_eq!(leap.to_string(), "2016-12-31T23:59:60.25Z");
    }

    proptest::proptest! {
        #[test]
        fn the_fixed_layout_reads_as_the_general_parser_does(
            y in 0u32..10_000, mo in 0u32..14, d in 0u32..33,
            h in 0u32..26, mi in 0u32..62, s in 0u32..62,
            fraction in "(\\.[0-9]{0,12})?", zone in "Z?",
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{zone}");
            let general = parse_iso(&text);
            match parse_fixed_layout(text.as_bytes()) {
                Some(fixed) => proptest::prop_assert_eq!(Some(format!("{fixed:?}")), general.map(|g| format!("{g:?}"))),
                // Only leap seconds are left to the general parser, among texts it accepts.
                None => proptest::prop_assert!(general.is_none() || s == 60, "{}", text),
            }
            let rfc3339 = DateTime::parse_from_rfc3339(&format!("{text}{}", if zone.is_empty() { "Z" } else { "" }));
            let parsed = Timestamp::parse(&text).ok();
            proptest::prop_assert_eq!(parsed.map(|t| t.instant()), rfc3339.ok().map(|t| t.to_utc()), "{}", text);
            if let Some(timestamp) = parsed {
                proptest::prop_assert_eq!(timestamp.to_string(), chrono_text(&timestamp));
            }
        }
    }

    #[test]
    fn equal_instants_are_equal_whatever_the_precision() {
        let a = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let b = Timestamp::parse("2024-05-01T12:00:00.000+00:00").unwrap();
        assert_eq!(a, b);
    }
}
