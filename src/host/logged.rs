//! The last resort for input that can never be delivered: written whole to the error log.
//!
//! The Event Hub trigger retries a failed invocation without end and holds its partition while it
//! does, so a failure that repeats on every attempt (a dead-letter hub that is missing, a request
//! that cannot be read) must stop failing at some point. From the `BRIDGE_DEADLETTER_ATTEMPTS`-th
//! attempt on, such input is written here, whole and bounded, and the invocation succeeds: the
//! data is in the log, and the partition moves on.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use base64::Engine;
use serde_json::Value;
use tracing::error;

use super::encoding::text;
use crate::sink::DeadLetter;

/// The most of a body or request written to the log.
pub const LOGGED_BYTES: usize = 256 * 1024;

/// Writes an unusable event to the error log whole: reason, properties and raw body (base64 when
/// it is not UTF-8), cut at [`LOGGED_BYTES`].
pub fn log_event(index: usize, letter: &DeadLetter, why: &str) {
    let (encoding, body) = printable(&letter.body);
    let properties = Value::Object(letter.properties.clone()).to_string();
    // Debug-formatted: the body, detail and properties come from the input, and a raw newline
    // in them would forge a log line of its own.
    error!(
        event = index,
        reason = %letter.reason,
        detail = ?letter.detail,
        properties = ?properties,
        bytes = letter.body.len(),
        body_encoding = encoding,
        body = ?body,
        why,
        "unusable event kept in the log"
    );
}

/// Writes a request that cannot be read as an invocation to the error log, cut at [`LOGGED_BYTES`].
pub fn log_request(function: &str, request: &[u8], problem: &str) {
    let (encoding, body) = printable(request);
    error!(
        function,
        problem,
        bytes = request.len(),
        body_encoding = encoding,
        body = ?body,
        "unreadable request kept in the log"
    );
}

/// The body as text: itself when it is UTF-8, else base64; at most [`LOGGED_BYTES`] of it.
fn printable(body: &[u8]) -> (&'static str, String) {
    match std::str::from_utf8(body) {
        Ok(text) => {
            let mut end = text.len().min(LOGGED_BYTES);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            ("utf8", text[..end].to_owned())
        }
        Err(_) => (
            "base64",
            base64::engine::general_purpose::STANDARD.encode(&body[..body.len().min(LOGGED_BYTES)]),
        ),
    }
}

/// Counts the attempts at requests that cannot be read. The attempt number comes from the
/// request's `Metadata.RetryContext.RetryCount` when that much of it can be read; otherwise each
/// request body is counted here (the host sends the same body again on a retry).
#[derive(Debug, Default)]
pub struct UnreadableAttempts {
    seen: Mutex<HashMap<u64, u64>>,
}

/// How many distinct unreadable bodies are remembered before the memory starts afresh.
const REMEMBERED: usize = 4096;

impl UnreadableAttempts {
    /// The attempt (0 for the first) of this unreadable request.
    pub fn attempt(&self, request: &[u8]) -> u64 {
        if let Some(count) = retry_count(request) {
            return count;
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        request.hash(&mut hasher);
        let key = hasher.finish();
        let mut seen = self.seen.lock().expect("not poisoned");
        if seen.len() >= REMEMBERED && !seen.contains_key(&key) {
            seen.clear();
        }
        let count = seen.entry(key).or_default();
        let attempt = *count;
        *count += 1;
        attempt
    }
}

/// `Metadata.RetryContext.RetryCount` of a request that is JSON but no usable envelope.
fn retry_count(request: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(request).ok()?;
    let context = value.get("Metadata")?.get("RetryContext")?;
    let context = super::encoding::json_value(context)?;
    text(context.get("RetryCount")?)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_print_as_text_or_base64() {
        assert_eq!(printable(b"{\"a\":1}"), ("utf8", "{\"a\":1}".to_owned()));
        assert_eq!(printable(&[0xff, 0x00]), ("base64", "/wA=".to_owned()));
        let long = "é".repeat(LOGGED_BYTES);
        let (encoding, text) = printable(long.as_bytes());
        assert_eq!(encoding, "utf8");
        assert_eq!(text.len(), LOGGED_BYTES);
    }

    #[test]
    fn attempts_come_from_the_retry_context_or_are_counted() {
        let attempts = UnreadableAttempts::default();
        let with_context = br#"{"Data": 5, "Metadata": {"RetryContext": {"RetryCount": "7"}}}"#;
        assert_eq!(attempts.attempt(with_context), 7);
        assert_eq!(attempts.attempt(with_context), 7);
        assert_eq!(attempts.attempt(b"not json"), 0);
        assert_eq!(attempts.attempt(b"not json"), 1);
        assert_eq!(attempts.attempt(b"other"), 0);
        assert_eq!(attempts.attempt(b"not json"), 2);
    }
}
