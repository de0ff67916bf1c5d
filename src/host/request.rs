//! The invocation request the host POSTs: `{"Data": {...}, "Metadata": {...}}`, and the trigger
//! payloads read out of it.

use std::cell::OnceCell;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::encoding::{
    into_json_value, json_array, json_array_len, json_value, text, text_ref, unquoted,
};
use crate::adt::EventHubMessage;
use crate::time::Timestamp;

/// A request body that is not a usable invocation envelope. The host never sends one; a caller
/// that does gets a 400 naming the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not a JSON object with object-valued `Data` and `Metadata`.
    #[error("the request is not an invocation envelope: {0}")]
    NotAnEnvelope(String),
    /// The trigger's binding is not in `Data`.
    #[error("the request has no Data.{0}")]
    MissingBinding(&'static str),
    /// The trigger's binding holds something this function cannot read.
    #[error("Data.{binding} is not {expected}")]
    WrongBinding {
        /// The binding name.
        binding: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
}

/// An invocation request.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct InvocationRequest {
    /// Trigger and input bindings by name.
    #[serde(rename = "Data", default)]
    pub data: Map<String, Value>,
    /// Trigger metadata, `sys` and `RetryContext`.
    #[serde(rename = "Metadata", default)]
    pub metadata: Map<String, Value>,
}

/// An Event Hub trigger's batch, with a note when the metadata arrays did not line up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventHubBatch {
    /// The events, each with its own properties and enqueued time.
    pub messages: Vec<EventHubMessage>,
    /// The `*Array` metadata had a different length than the batch; missing entries are empty.
    pub misaligned: bool,
}

impl InvocationRequest {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(body).map_err(|e| EnvelopeError::NotAnEnvelope(e.to_string()))
    }

    /// `Metadata.sys.UtcNow`: the invocation's time, the last timestamp fallback. A placeholder
    /// (year 0001, or any year before 1000) is no time, like the other fallbacks' placeholders.
    pub fn utc_now(&self) -> Option<Timestamp> {
        let sys = json_value(self.metadata.get("sys")?)?;
        let now = text(sys.get("UtcNow")?)?;
        Timestamp::parse_time(&now)
    }

    /// `Metadata.RetryContext.RetryCount`, present when the function has a retry policy.
    pub fn retry_count(&self) -> Option<u64> {
        let context = json_value(self.metadata.get("RetryContext")?)?;
        text(context.get("RetryCount")?)?.parse().ok()
    }

    /// The events of an Event Hub trigger (`cardinality` many, or one), paired with metadata by position.
    pub fn event_hub_batch(&self, binding: &'static str) -> Result<EventHubBatch, EnvelopeError> {
        let value = self
            .data
            .get(binding)
            .ok_or(EnvelopeError::MissingBinding(binding))?;
        let bodies = match event_bodies(value) {
            Some(Bodies::Many(items)) => batch_bodies(items),
            Some(Bodies::One(body)) => return Ok(self.single_event(body)),
            None => {
                return Err(EnvelopeError::WrongBinding {
                    binding,
                    expected: "an array of event bodies",
                })
            }
        };
        let properties = self.metadata_array("PropertiesArray");
        let enqueued = self.metadata_array("EnqueuedTimeUtcArray");
        // The system properties only stand in for a missing enqueued time: counted for the
        // alignment check, and read only if some event needs them.
        let system_len = self
            .metadata
            .get("SystemPropertiesArray")
            .and_then(json_array_len);
        let system = OnceCell::new();
        let system_at = |n: usize| {
            system
                .get_or_init(|| self.metadata_array("SystemPropertiesArray"))
                .as_ref()?
                .get(n)
        };
        let lengths = [&properties, &enqueued].map(|array| array.as_ref().map(Vec::len));
        let misaligned = lengths
            .into_iter()
            .chain([system_len])
            .any(|len| len.is_some_and(|len| len != bodies.len()));
        // Each event's properties are taken, not copied: the n-th event takes the n-th entry.
        let mut properties = properties.map(Vec::into_iter);
        let messages = bodies
            .into_iter()
            .enumerate()
            .map(|(n, body)| EventHubMessage {
                body,
                properties: properties
                    .as_mut()
                    .and_then(Iterator::next)
                    .map(properties_object)
                    .unwrap_or_default(),
                enqueued_time: enqueued_time(properties_at(&enqueued, n), || system_at(n)),
            })
            .collect();
        Ok(EventHubBatch {
            messages,
            misaligned,
        })
    }

    /// Cardinality one: one body, singular metadata keys.
    fn single_event(&self, body: Vec<u8>) -> EventHubBatch {
        let properties = self
            .metadata
            .get("Properties")
            .and_then(json_value)
            .and_then(|v| v.as_object().cloned())
            .map(unquote_values)
            .unwrap_or_default();
        let system = self.metadata.get("SystemProperties").and_then(json_value);
        EventHubBatch {
            messages: vec![EventHubMessage {
                body,
                properties,
                enqueued_time: enqueued_time(self.metadata.get("EnqueuedTimeUtc"), || {
                    system.as_ref()
                }),
            }],
            misaligned: false,
        }
    }

    /// The Event Grid trigger's event: a real object, or a string holding one. Text that holds
    /// no event comes back as that text (a JSON string value), for the caller to judge unusable:
    /// the binding is there, its content is bad input, not a broken envelope.
    pub fn event_grid_event(&self, binding: &'static str) -> Result<Value, EnvelopeError> {
        let value = self
            .data
            .get(binding)
            .ok_or(EnvelopeError::MissingBinding(binding))?;
        Ok(match json_value(value) {
            Some(event) if !event.is_string() => event,
            _ => value.clone(),
        })
    }

    fn metadata_array(&self, key: &str) -> Option<Vec<Value>> {
        self.metadata.get(key).and_then(json_array)
    }
}

enum Bodies {
    Many(Vec<Value>),
    One(Vec<u8>),
}

/// The binding's value: an array of bodies (real, as JSON text, or as quoted JSON text), or one
/// body (cardinality one: a double-encoded string, or a plain object).
fn event_bodies(value: &Value) -> Option<Bodies> {
    let Value::String(outer) = value else {
        return match value {
            Value::Array(items) => Some(Bodies::Many(items.clone())),
            Value::Object(_) => Some(Bodies::One(serde_json::to_vec(value).ok()?)),
            _ => None,
        };
    };
    match serde_json::from_str::<Value>(outer) {
        Ok(Value::Array(items)) => Some(Bodies::Many(items)),
        Ok(Value::String(inner)) => match serde_json::from_str::<Value>(&inner) {
            Ok(Value::Array(items)) => Some(Bodies::Many(items)),
            _ => Some(Bodies::One(inner.into_bytes())),
        },
        Ok(other) => Some(Bodies::One(serde_json::to_vec(&other).ok()?)),
        Err(_) => Some(Bodies::One(outer.clone().into_bytes())),
    }
}

/// The bodies of a batch. With `dataType` binary every item is base64 of the body; with
/// `dataType` string every item is the raw body; with no `dataType` items are JSON values the
/// host re-serialized. The form belongs to the binding, so it is decided for the whole batch: a
/// raw body that happens to be valid base64 (`null`, `true`, `abcd`) is never decoded alone.
fn batch_bodies(items: Vec<Value>) -> Vec<Vec<u8>> {
    if let Some(decoded) = base64_bodies(&items) {
        return decoded;
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => s.into_bytes(),
            other => serde_json::to_vec(&other).unwrap_or_default(),
        })
        .collect()
}

/// Every item decoded from base64, if every item is a base64 string; `None` at the first that
/// is not (a raw JSON body starts with a character base64 never holds).
fn base64_bodies(items: &[Value]) -> Option<Vec<Vec<u8>>> {
    items
        .iter()
        .map(|item| {
            let text = item.as_str()?.trim();
            if text.starts_with(['{', '[', '"']) {
                return None;
            }
            base64::engine::general_purpose::STANDARD.decode(text).ok()
        })
        .collect()
}

fn properties_at(array: &Option<Vec<Value>>, n: usize) -> Option<&Value> {
    array.as_ref()?.get(n)
}

/// One event's entry of `PropertiesArray` as a map (empty unless it is an object).
fn properties_object(entry: Value) -> Map<String, Value> {
    match into_json_value(entry) {
        Some(Value::Object(map)) => unquote_values(map),
        _ => Map::new(),
    }
}

/// Property values may come quoted once more than needed; strings are unquoted, others kept.
fn unquote_values(mut map: Map<String, Value>) -> Map<String, Value> {
    for value in map.values_mut() {
        *value = unquoted(std::mem::take(value));
    }
    map
}

/// The enqueued time from `EnqueuedTimeUtc[Array]`, else from the system properties.
fn enqueued_time<'a>(
    direct: Option<&Value>,
    system: impl FnOnce() -> Option<&'a Value>,
) -> Option<Timestamp> {
    let from_system = || {
        let system = json_value(system()?)?;
        [
            "x-opt-enqueued-time",
            "EnqueuedTimeUtc",
            "iothub-enqueuedtime",
        ]
        .iter()
        .find_map(|key| system.get(*key).and_then(text))
    };
    // An entry that is there but unreadable (or year 0001) is passed over like a missing one.
    direct
        .and_then(text_ref)
        .and_then(|direct| Timestamp::parse_time(&direct))
        .or_else(|| from_system().and_then(|t| Timestamp::parse_time(&t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_placeholder_utc_now_is_no_time() {
        // Found by the request_end_to_end fuzz target: records were stamped with year 750.
        let request = |now: &str| InvocationRequest {
            metadata: json!({"sys": {"UtcNow": now}})
                .as_object()
                .cloned()
                .unwrap(),
            ..InvocationRequest::default()
        };
        assert_eq!(request("0750-10-01T12:05:00Z").utc_now(), None);
        assert_eq!(request("0001-01-01T00:00:00").utc_now(), None);
        let now = request("2026-05-01T12:05:00Z").utc_now().unwrap();
        assert_eq!(now.to_string(), "2026-05-01T12:05:00Z");
    }

    #[test]
    fn a_batch_is_base64_only_when_every_body_is() {
        // dataType binary: every item is base64 of its body.
        let binary = batch_bodies(vec![json!("eyJhIjoxfQ=="), json!("dHJ1ZQ==")]);
        assert_eq!(binary, [b"{\"a\":1}".to_vec(), b"true".to_vec()]);
        // dataType string: raw bodies, even those that happen to be valid base64.
        let raw = batch_bodies(vec![json!("{\"a\":1}"), json!("null"), json!("abcd")]);
        assert_eq!(
            raw,
            [b"{\"a\":1}".to_vec(), b"null".to_vec(), b"abcd".to_vec()]
        );
        // No dataType: JSON values as the host re-serialized them.
        assert_eq!(
            batch_bodies(vec![json!({"a": 1}), json!(null)]),
            [b"{\"a\":1}".to_vec(), b"null".to_vec()]
        );
    }
}
