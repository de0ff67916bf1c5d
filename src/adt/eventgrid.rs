//! Decoding an event in Event Grid schema or CloudEvents 1.0 JSON (structured) form.
//!
//! In Event Grid schema ADT nests the payload one level deeper than expected:
//! `data` = `{"data": {"modelId", "patch"}, "contenttype", "traceparent"}`. Both that and the
//! flat form are accepted.

use serde_json::Value;

use super::decode::{decode, Attributes, Data, Decoded};
use super::notification::EventKinds;
use super::unusable::{Unusable, UnusableReason};
use crate::time::Timestamp;

/// Decodes one event delivered by Event Grid, in either schema.
pub fn decode_event_grid(event: &Value, kinds: EventKinds) -> Decoded {
    decode_structured(event, None, None, kinds)
}

/// Decodes a structured event; `enqueued_time` is set when a broker carried it, and
/// `message_id` when the broker gave the message an id that stands in for a missing event id.
pub(crate) fn decode_structured(
    event: &Value,
    enqueued_time: Option<Timestamp>,
    message_id: Option<&str>,
    kinds: EventKinds,
) -> Decoded {
    let Some(object) = event.as_object() else {
        return Decoded::Unusable(Unusable::new(
            UnusableReason::BodyNotObject,
            "the event is not a JSON object",
        ));
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let cloud_events = object.contains_key("specversion");
    let type_name = if cloud_events {
        text("type")
    } else {
        text("eventType")
    };
    let Some(type_name) = type_name else {
        return Decoded::Unusable(Unusable::new(
            UnusableReason::NoEventType,
            "the event has no 'type' or 'eventType'",
        ));
    };
    let id = text("id").or(message_id);
    let attributes = if cloud_events {
        Attributes {
            id,
            source: text("source"),
            type_name,
            subject: text("subject"),
            time: text("time"),
            data_schema: text("dataschema"),
            enqueued_time,
        }
    } else {
        Attributes {
            id,
            source: text("topic"),
            type_name,
            subject: text("subject"),
            time: text("eventTime"),
            data_schema: text("dataschema"),
            enqueued_time,
        }
    };
    let data = object.get("data").unwrap_or(&Value::Null);
    decode(&attributes, Data::Json(unwrap_adt_nesting(data)), kinds)
}

/// `{"data": {...}, "contenttype": ..., "traceparent": ...}` holds the real payload in `data`.
fn unwrap_adt_nesting(data: &Value) -> &Value {
    match data.as_object() {
        Some(outer)
            if !outer.contains_key("patch")
                && !outer.contains_key("$dtId")
                && (outer.contains_key("contenttype")
                    || outer.contains_key("traceparent")
                    || outer.len() == 1) =>
        {
            outer.get("data").unwrap_or(data)
        }
        _ => data,
    }
}
