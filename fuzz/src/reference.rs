//! The envelope decoder as it was before it read borrowed, typed members: every `Data` and
//! `Metadata` value read into a `serde_json::Value`, then taken apart. Slow and simple, it is the
//! reference the fast decoder must agree with on any input (see `envelope` in `lib.rs`).

use adt_bridge::adt::EventHubMessage;
use adt_bridge::host::encoding::{json_array, json_value, text, Skipped};
use adt_bridge::host::EnvelopeError;
use adt_bridge::time::Timestamp;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A request read the old way.
#[derive(Deserialize)]
pub struct Envelope {
    #[serde(rename = "Data", default)]
    pub data: Map<String, Value>,
    #[serde(rename = "Metadata", default)]
    pub metadata: Map<String, Value>,
}

/// The metadata keys of a trigger's batch: properties (many, single), system properties (many,
/// single), message ids (many, single).
pub struct Keys {
    pub properties: &'static [&'static str],
    pub single_properties: &'static [&'static str],
    pub system: Option<(&'static str, &'static str)>,
    pub message_ids: Option<(&'static str, &'static str)>,
    pub single_base64: bool,
}

pub const EVENT_HUB: Keys = Keys {
    properties: &["PropertiesArray"],
    single_properties: &["Properties"],
    system: Some(("SystemPropertiesArray", "SystemProperties")),
    message_ids: None,
    single_base64: false,
};

pub const SERVICE_BUS: Keys = Keys {
    properties: &["ApplicationPropertiesArray", "UserPropertiesArray"],
    single_properties: &["ApplicationProperties", "UserProperties"],
    system: None,
    message_ids: Some(("MessageIdArray", "MessageId")),
    single_base64: true,
};

/// A batch read the old way: owned messages, each message's broker id, and the alignment note.
#[derive(Debug, PartialEq)]
pub struct Batch {
    pub messages: Vec<EventHubMessage>,
    pub message_ids: Vec<Option<String>>,
    pub misaligned: bool,
}

impl Envelope {
    pub fn parse(body: &[u8]) -> Option<Envelope> {
        // The envelope is JSON text as a whole, in the members no function reads too: UTF-8
        // (RFC 8259 section 8.1), numbers a double can hold, nesting within the parser's limit.
        // `Skipped` reads every string and number as a value would be (so they are checked,
        // which skipping does not do), and unlike a `Value` gives no key a meaning of its own
        // (serde_json's `raw_value` does).
        serde_json::from_slice::<Skipped>(body).ok()?;
        serde_json::from_slice(body).ok()
    }

    pub fn utc_now(&self) -> Option<Timestamp> {
        let sys = json_value(self.metadata.get("sys")?)?;
        Timestamp::parse_time(&text(sys.get("UtcNow")?)?)
    }

    pub fn retry_count(&self) -> Option<u64> {
        let context = json_value(self.metadata.get("RetryContext")?)?;
        text(context.get("RetryCount")?)?.parse().ok()
    }

    pub fn batch(&self, binding: &'static str, keys: &Keys) -> Result<Batch, EnvelopeError> {
        let value = self
            .data
            .get(binding)
            .ok_or(EnvelopeError::MissingBinding(binding))?;
        let bodies = match event_bodies(value) {
            Some(Bodies::Many(items)) => batch_bodies(items),
            Some(Bodies::One(body)) if keys.single_base64 => {
                let decoded = match serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
                    Ok(_) => None,
                    Err(_) => {
                        let text = String::from_utf8_lossy(&body).trim().to_owned();
                        base64::engine::general_purpose::STANDARD.decode(text).ok()
                    }
                };
                return Ok(self.single(decoded.unwrap_or(body), keys));
            }
            Some(Bodies::One(body)) => return Ok(self.single(body, keys)),
            None => {
                return Err(EnvelopeError::WrongBinding {
                    binding,
                    expected: "an array of event bodies",
                })
            }
        };
        let array = |key: &str| self.metadata.get(key).and_then(json_array);
        let properties = keys
            .properties
            .iter()
            .find_map(|key| self.metadata.get(*key));
        let properties = properties.and_then(json_array);
        let enqueued = array("EnqueuedTimeUtcArray");
        let system = keys.system.and_then(|(many, _)| array(many));
        let ids = keys.message_ids.and_then(|(many, _)| array(many));
        // The system properties are read only for a missing enqueued time, so their length is
        // not checked: only the arrays every message reads are.
        let misaligned = [&properties, &enqueued, &ids]
            .into_iter()
            .map(|array| array.as_ref().map(Vec::len))
            .any(|len| len.is_some_and(|len| len != bodies.len()));
        let at =
            |array: &Option<Vec<Value>>, n: usize| array.as_ref().and_then(|a| a.get(n)).cloned();
        let messages = bodies
            .into_iter()
            .enumerate()
            .map(|(n, body)| EventHubMessage {
                body,
                properties: at(&properties, n)
                    .map(properties_object)
                    .unwrap_or_default(),
                enqueued_time: enqueued_time(at(&enqueued, n), at(&system, n)),
            })
            .collect::<Vec<_>>();
        let message_ids = (0..messages.len())
            .map(|n| at(&ids, n).as_ref().and_then(text))
            .collect();
        Ok(Batch {
            messages,
            message_ids: if keys.message_ids.is_some() {
                message_ids
            } else {
                vec![None; 0]
            },
            misaligned,
        })
    }

    fn single(&self, body: Vec<u8>, keys: &Keys) -> Batch {
        let properties = keys
            .single_properties
            .iter()
            .find_map(|key| self.metadata.get(*key))
            .and_then(json_value)
            .and_then(|v| v.as_object().cloned())
            .map(unquote_values)
            .unwrap_or_default();
        let system = keys
            .system
            .and_then(|(_, single)| self.metadata.get(single))
            .and_then(json_value);
        let message_id = keys
            .message_ids
            .and_then(|(_, single)| self.metadata.get(single))
            .and_then(text);
        Batch {
            messages: vec![EventHubMessage {
                body,
                properties,
                enqueued_time: enqueued_time(self.metadata.get("EnqueuedTimeUtc").cloned(), system),
            }],
            message_ids: if keys.message_ids.is_some() {
                vec![message_id]
            } else {
                Vec::new()
            },
            misaligned: false,
        }
    }
}

enum Bodies {
    Many(Vec<Value>),
    One(Vec<u8>),
}

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

fn batch_bodies(items: Vec<Value>) -> Vec<Vec<u8>> {
    let base64 = items
        .iter()
        .map(|item| {
            let text = item.as_str()?.trim();
            if text.starts_with(['{', '[', '"']) {
                return None;
            }
            base64::engine::general_purpose::STANDARD.decode(text).ok()
        })
        .collect::<Option<Vec<_>>>();
    if let Some(decoded) = base64 {
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

fn properties_object(entry: Value) -> Map<String, Value> {
    match json_value(&entry) {
        Some(Value::Object(map)) => unquote_values(map),
        _ => Map::new(),
    }
}

fn unquote_values(mut map: Map<String, Value>) -> Map<String, Value> {
    for value in map.values_mut() {
        if value.is_string() {
            *value = Value::String(text(value).expect("a string has text"));
        }
    }
    map
}

fn enqueued_time(direct: Option<Value>, system: Option<Value>) -> Option<Timestamp> {
    let from_system = || {
        let system = json_value(&system?)?;
        [
            "x-opt-enqueued-time",
            "EnqueuedTimeUtc",
            "iothub-enqueuedtime",
        ]
        .iter()
        .find_map(|key| system.get(*key).and_then(text))
    };
    direct
        .as_ref()
        .and_then(text)
        .and_then(|direct| Timestamp::parse_time(&direct))
        .or_else(|| from_system().and_then(|t| Timestamp::parse_time(&t)))
}
