//! Text cut to a bound, for log lines and error messages that quote their input.

/// The first `max` characters of `text` (whole characters, never a split one).
///
/// ```
/// use adt_bridge::text::truncated;
/// assert_eq!(truncated("Grinding", 5), "Grind");
/// assert_eq!(truncated("née", 2), "né");
/// assert_eq!(truncated("ok", 10), "ok");
/// ```
pub fn truncated(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
