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

use super::request::InvocationRequest;
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

/// Counts attempts where the host gives no attempt number: requests that cannot be read, and
/// Event Grid deliveries (which carry no retry context). The same input coming again is the same
/// bytes, so each is counted by a hash of them.
#[derive(Debug, Default)]
pub struct Attempts {
    seen: Mutex<HashMap<u64, u64>>,
}

/// How many distinct unreadable bodies are remembered before the memory starts afresh.
const REMEMBERED: usize = 4096;

impl Attempts {
    /// The attempt (0 for the first) of this unreadable request: its
    /// `Metadata.RetryContext.RetryCount` when that much of it can be read, else counted here.
    pub fn of_request(&self, request: &[u8]) -> u64 {
        InvocationRequest::retry_count_of_body(request).unwrap_or_else(|| self.count([request]))
    }

    /// How many times these parts were counted before (0 the first time), counting this one.
    pub fn count<'p>(&self, parts: impl IntoIterator<Item = &'p [u8]>) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for part in parts {
            part.hash(&mut hasher);
        }
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
        let attempts = Attempts::default();
        let with_context = br#"{"Data": 5, "Metadata": {"RetryContext": {"RetryCount": "7"}}}"#;
        assert_eq!(attempts.of_request(with_context), 7);
        assert_eq!(attempts.of_request(with_context), 7);
        assert_eq!(attempts.of_request(b"not json"), 0);
        assert_eq!(attempts.of_request(b"not json"), 1);
        assert_eq!(attempts.of_request(b"other"), 0);
        assert_eq!(attempts.of_request(b"not json"), 2);
        // Parts are counted as a whole: the same letters again, not their concatenation.
        assert_eq!(attempts.count([&b"ab"[..], b"c"]), 0);
        assert_eq!(attempts.count([&b"ab"[..], b"c"]), 1);
        assert_eq!(attempts.count([&b"a"[..], b"bc"]), 0);
    }
}
