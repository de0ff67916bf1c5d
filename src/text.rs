//! Small text helpers every layer shares: input cut to a bound for log lines and error messages,
//! and bytes as hex for ids made from digests.

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

/// `bytes` as lowercase hex, two digits a byte.
///
/// ```
/// use adt_bridge::text::hex;
/// assert_eq!(hex(&[0x00, 0x0f, 0xa5]), "000fa5");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        write!(out, "{byte:02x}").expect("writing to a String cannot fail");
    }
    out
}
