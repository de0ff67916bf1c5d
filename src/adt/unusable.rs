//! Unusable input: events that can never become records, with a typed reason.
//!
//! Unusable events are never retried and never fail an invocation: they are reported, logged and
//! dead-lettered, and the rest of their batch goes on.

use std::fmt;

/// Why an event can never produce records. The code is what logs, `Logs` summaries and the
/// dead-letter hub's `deadLetterReason` property carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnusableReason {
    /// The body is not UTF-8.
    BodyNotUtf8,
    /// The body is not JSON (or not JSON this decoder can read: too deep, truncated).
    BodyNotJson,
    /// The body (or event) is JSON but not an object of the expected shape.
    BodyNotObject,
    /// A twin or relationship update without a `patch` member.
    MissingPatch,
    /// A `patch` that is not an array.
    PatchNotArray,
    /// No twin id after every fallback (subject, body, source).
    NoTwinId,
    /// A structured event (Event Grid or CloudEvents JSON) without a type.
    NoEventType,
    /// A record larger than the records hub accepts in one event.
    RecordTooLarge,
}

impl UnusableReason {
    /// The stable, kebab-case code of the reason.
    pub fn code(self) -> &'static str {
        match self {
            UnusableReason::BodyNotUtf8 => "body-not-utf8",
            UnusableReason::BodyNotJson => "body-not-json",
            UnusableReason::BodyNotObject => "body-not-object",
            UnusableReason::MissingPatch => "missing-patch",
            UnusableReason::PatchNotArray => "patch-not-array",
            UnusableReason::NoTwinId => "no-twin-id",
            UnusableReason::NoEventType => "no-event-type",
            UnusableReason::RecordTooLarge => "record-too-large",
        }
    }
}

impl fmt::Display for UnusableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An unusable event's reason and a short human detail (never the body itself).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Unusable {
    /// The typed reason.
    pub reason: UnusableReason,
    /// What exactly was wrong, for the log line.
    pub detail: String,
}

impl Unusable {
    /// An unusable-input verdict.
    pub fn new(reason: UnusableReason, detail: impl Into<String>) -> Self {
        Unusable {
            reason,
            detail: detail.into(),
        }
    }

    /// Classifies a JSON parse failure of a body.
    pub(crate) fn from_json_error(error: &serde_json::Error) -> Self {
        let reason = match error.classify() {
            serde_json::error::Category::Data => UnusableReason::BodyNotObject,
            _ => UnusableReason::BodyNotJson,
        };
        Unusable::new(reason, error.to_string())
    }
}
