//! The invocation request the host POSTs: `{"Data": {...}, "Metadata": {...}}`, read once into
//! members borrowed from the body, and the trigger payloads read out of it.

use serde::Deserialize;
use serde_json::Value;

use super::batch::{BatchKeys, MessageBatch};
use super::bodies::Bodies;
use super::encoding::{read_in_place, text, InPlace, Skipped};
use super::envelope;
use super::members::{Member, Members};
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

/// An invocation request, borrowed from the request body.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct InvocationRequest<'a> {
    /// Trigger and input bindings by name.
    #[serde(rename = "Data", default, borrow)]
    data: Members<'a>,
    /// Trigger metadata, `sys` and `RetryContext`.
    #[serde(rename = "Metadata", default, borrow)]
    metadata: Members<'a>,
}

/// An Event Hub trigger's metadata keys.
const EVENT_HUB_KEYS: BatchKeys = BatchKeys {
    properties: &["PropertiesArray"],
    single_properties: &["Properties"],
    system: Some("SystemPropertiesArray"),
    single_system: Some("SystemProperties"),
    message_ids: None,
    single_base64: false,
};

/// A Service Bus trigger's metadata keys: the application properties are sent twice, under
/// their current and their older name.
const SERVICE_BUS_KEYS: BatchKeys = BatchKeys {
    properties: &["ApplicationPropertiesArray", "UserPropertiesArray"],
    single_properties: &["ApplicationProperties", "UserProperties"],
    system: None,
    single_system: None,
    message_ids: Some(("MessageIdArray", "MessageId")),
    single_base64: true,
};

impl<'a> InvocationRequest<'a> {
    /// Parses a request body as sent. A body of the shape hosts send is read where it is, its
    /// strings kept as sent until read ([`super::envelope`]). Any other is read with simd-json
    /// from a copy in `buffer` (see [`read_in_place`]), else, where it holds a `-0` simd-json
    /// reads as 0, with serde_json, which keeps its sign. As simd-json does, serde_json first
    /// checks every value of the body, also in members no function reads.
    pub fn parse(sent: &'a [u8], buffer: &'a mut Vec<u8>) -> Result<Self, EnvelopeError> {
        if let Some((data, metadata)) = envelope::read(sent) {
            return Ok(InvocationRequest { data, metadata });
        }
        match read_in_place(sent, buffer).map_err(not_an_envelope)? {
            InPlace::Read(request) => Ok(request),
            InPlace::NeedsExact => {
                serde_json::from_slice::<Skipped>(sent).map_err(not_an_envelope)?;
                serde_json::from_slice(sent).map_err(not_an_envelope)
            }
        }
    }

    /// The bindings in `Data`.
    pub fn data(&self) -> &Members<'a> {
        &self.data
    }

    /// The members of `Metadata`.
    pub fn metadata(&self) -> &Members<'a> {
        &self.metadata
    }

    /// `Metadata.sys.UtcNow`: the invocation's time, the last timestamp fallback. A placeholder
    /// (year 0001, or any year before 1000) is no time, like the other fallbacks' placeholders.
    pub fn utc_now(&self) -> Option<Timestamp> {
        let sys = self.metadata.get("sys")?.json_value()?;
        let now = text(sys.get("UtcNow")?)?;
        Timestamp::parse_time(&now)
    }

    /// The invocation's time: [`InvocationRequest::utc_now`], else this machine's clock.
    pub fn now(&self) -> Timestamp {
        self.utc_now().unwrap_or_else(Timestamp::now)
    }

    /// Which attempt at its input this invocation is (0 for the first), when the host tells:
    /// the retry count of a retry policy (Event Hubs, counted from 0), or Service Bus's delivery
    /// count (counted from 1). Event Grid tells nothing.
    pub fn attempt(&self) -> Option<u64> {
        self.retry_count().or_else(|| {
            self.delivery_count()
                .map(|deliveries| deliveries.saturating_sub(1))
        })
    }

    /// `Metadata.RetryContext.RetryCount`, present when the function has a retry policy.
    pub fn retry_count(&self) -> Option<u64> {
        retry_count(&self.metadata)
    }

    /// The retry count of a body that is not a usable envelope but whose `Metadata` can still
    /// be read (`Data` of the wrong kind, say), so that the attempt at it is known.
    pub fn retry_count_of_body(body: &'a [u8]) -> Option<u64> {
        #[derive(Deserialize)]
        struct MetadataOnly<'a> {
            #[serde(rename = "Metadata", borrow)]
            metadata: Members<'a>,
        }
        let only: MetadataOnly = serde_json::from_slice(body).ok()?;
        retry_count(&only.metadata)
    }

    /// How many times Service Bus has delivered this invocation's messages: the largest
    /// `DeliveryCountArray` entry, or `DeliveryCount` for a single message.
    pub fn delivery_count(&self) -> Option<u64> {
        let count = |value: &Value| text(value)?.trim().parse::<u64>().ok();
        match self.metadata.get("DeliveryCountArray") {
            Some(array) => array.json_array()?.iter().filter_map(count).max(),
            None => count(&self.metadata.get("DeliveryCount")?.to_value()),
        }
    }

    /// The events of an Event Hub trigger (`cardinality` many, or one), paired with metadata by position.
    pub fn event_hub_batch(
        &self,
        binding: &'static str,
    ) -> Result<MessageBatch<'_>, EnvelopeError> {
        self.batch(binding, EVENT_HUB_KEYS)
    }

    /// The messages of a Service Bus trigger (`cardinality` many, or one), paired with metadata
    /// by position.
    pub fn service_bus_batch(
        &self,
        binding: &'static str,
    ) -> Result<MessageBatch<'_>, EnvelopeError> {
        self.batch(binding, SERVICE_BUS_KEYS)
    }

    fn batch(
        &self,
        binding: &'static str,
        keys: BatchKeys,
    ) -> Result<MessageBatch<'_>, EnvelopeError> {
        let member = self
            .data
            .get(binding)
            .ok_or(EnvelopeError::MissingBinding(binding))?;
        match binding_bodies(member) {
            Some(EventBodies::Many(bodies)) => Ok(MessageBatch::many(bodies, &self.metadata, keys)),
            Some(EventBodies::One(body)) => Ok(MessageBatch::single(body, &self.metadata, keys)),
            None => Err(EnvelopeError::WrongBinding {
                binding,
                expected: "an array of event bodies",
            }),
        }
    }

    /// The Event Grid trigger's event: a real object, or a string holding one. Text that holds
    /// no event comes back as that text (a JSON string value), for the caller to judge unusable:
    /// the binding is there, its content is bad input, not a broken envelope.
    pub fn event_grid_event(&self, binding: &'static str) -> Result<Value, EnvelopeError> {
        let member = self
            .data
            .get(binding)
            .ok_or(EnvelopeError::MissingBinding(binding))?;
        Ok(match member.json_value() {
            Some(event) if !event.is_string() => event,
            _ => member.to_value(),
        })
    }
}

fn not_an_envelope(error: impl std::fmt::Display) -> EnvelopeError {
    EnvelopeError::NotAnEnvelope(error.to_string())
}

fn retry_count(metadata: &Members<'_>) -> Option<u64> {
    let context = metadata.get("RetryContext")?.json_value()?;
    text(context.get("RetryCount")?)?.parse().ok()
}

/// The binding's bodies: read straight from the text of an array encoded once or twice (what
/// hosts send; as sent, where the member is), else the long way through a `Value`.
fn binding_bodies(member: &Member<'_>) -> Option<EventBodies> {
    if let Some(bodies) = member.as_sent().and_then(Bodies::read_sent) {
        return Some(EventBodies::Many(bodies));
    }
    if let Some(outer) = member.string() {
        let fast = match member.array_text() {
            Some(array) => Bodies::read(array),
            None if outer.trim_start().starts_with('"') => serde_json::from_str::<String>(outer)
                .ok()
                .filter(|inner| inner.trim_start().starts_with('['))
                .and_then(|inner| Bodies::read(&inner)),
            None => None,
        };
        if let Some(bodies) = fast {
            return Some(EventBodies::Many(bodies));
        }
    }
    event_bodies(&member.to_value())
}

/// A binding's bodies: a batch, or one body (cardinality one).
enum EventBodies {
    Many(Bodies),
    One(Vec<u8>),
}

/// The binding's value: an array of bodies (real, as JSON text, or as quoted JSON text), or one
/// body (cardinality one: a double-encoded string, or a plain object).
fn event_bodies(value: &Value) -> Option<EventBodies> {
    let many = |items| Some(EventBodies::Many(Bodies::from_values(items)));
    let Value::String(outer) = value else {
        return match value {
            Value::Array(items) => many(items.clone()),
            Value::Object(_) => Some(EventBodies::One(serde_json::to_vec(value).ok()?)),
            _ => None,
        };
    };
    match serde_json::from_str::<Value>(outer) {
        Ok(Value::Array(items)) => many(items),
        Ok(Value::String(inner)) => match serde_json::from_str::<Value>(&inner) {
            Ok(Value::Array(items)) => many(items),
            _ => Some(EventBodies::One(inner.into_bytes())),
        },
        Ok(other) => Some(EventBodies::One(serde_json::to_vec(&other).ok()?)),
        Err(_) => Some(EventBodies::One(outer.clone().into_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_placeholder_utc_now_is_no_time() {
        // Found by the request_end_to_end fuzz target: records were stamped with year 750.
        let body = |now: &str| json!({"Metadata": {"sys": {"UtcNow": now}}}).to_string();
        let utc_now = |now: &str| {
            InvocationRequest::parse(body(now).as_bytes(), &mut Vec::new())
                .unwrap()
                .utc_now()
        };
        assert_eq!(utc_now("0750-10-01T12:05:00Z"), None);
        assert_eq!(utc_now("0001-01-01T00:00:00"), None);
        let now = utc_now("2026-05-01T12:05:00Z").unwrap();
        assert_eq!(now.to_string(), "2026-05-01T12:05:00Z");
    }

    #[test]
    fn the_system_properties_stand_in_for_a_missing_enqueued_time() {
        // No EnqueuedTimeUtcArray: the enqueued time comes from the system properties.
        let system = json!([{"x-opt-enqueued-time": "2026-05-01T12:00:07.5+00:00"}]).to_string();
        let body = json!({
            "Data": {"events": json!(["{}"]).to_string()},
            "Metadata": {"SystemPropertiesArray": system, "OffsetArray": "[\"4096\"]"}
        })
        .to_string();
        let mut buffer = Vec::new();
        let request = InvocationRequest::parse(body.as_bytes(), &mut buffer).unwrap();
        let member = request.metadata().get("SystemPropertiesArray").unwrap();
        assert_eq!(member.json_array().map(|items| items.len()), Some(1));
        let offsets = request.metadata().get("OffsetArray").unwrap();
        assert_eq!(offsets.json_array(), Some(vec![json!("4096")]));
        let batch = request.event_hub_batch("events").unwrap();
        let time = batch.message(0).enqueued_time.unwrap();
        assert_eq!(time.to_string(), "2026-05-01T12:00:07.5Z");
    }

    #[test]
    fn a_zero_written_minus_zero_keeps_its_sign() {
        // Found by the envelope fuzz target: simd-json reads `-0` as the integer 0, so a retry
        // count of -0 was read as 0 where serde_json (the reference) reads -0.0, no count.
        let read = |body: &str| {
            let mut buffer = Vec::new();
            let request = InvocationRequest::parse(body.as_bytes(), &mut buffer).unwrap();
            let retry = request.retry_count();
            let event = request.event_grid_event("event").ok();
            let first = request
                .event_hub_batch("events")
                .ok()
                .map(|batch| String::from_utf8(batch.body(0).to_vec()).unwrap());
            (retry, event, first)
        };
        let (retry, _, first) =
            read(r#"{"Data":{"events":[{"v":-0}]},"Metadata":{"RetryContext":{"RetryCount":-0}}}"#);
        assert_eq!(retry, None);
        assert_eq!(first.as_deref(), Some(r#"{"v":-0.0}"#));
        // The bodies' array as text, with an item that is a value.
        let (_, _, first) = read(r#"{"Data":{"events":"[{\"v\":-0}]"}}"#);
        assert_eq!(first.as_deref(), Some(r#"{"v":-0.0}"#));
        // An Event Grid event as an object: a patch value.
        let (_, event, _) = read(r#"{"Data":{"event":{"data":{"patch":[{"value":-0}]}}}}"#);
        assert_eq!(
            event.unwrap()["data"]["patch"][0]["value"].to_string(),
            "-0.0"
        );
        // A plain zero stays the integer, read the fast way.
        let (retry, _, _) = read(r#"{"Metadata":{"RetryContext":{"RetryCount":0}}}"#);
        assert_eq!(retry, Some(0));
    }

    #[test]
    fn a_batch_is_base64_only_when_every_body_is() {
        let batch_bodies = |items: Vec<Value>| {
            let bodies = Bodies::from_values(items);
            (0..bodies.len())
                .map(|n| bodies.get(n).to_vec())
                .collect::<Vec<_>>()
        };
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
