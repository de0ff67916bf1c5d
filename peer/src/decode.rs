//! From one transfer to the events it carries. Pure: no I/O, no clock.
//!
//! The SDK sends a batch as one message with format `0x80013700` whose body is one data section per
//! event, each a whole serialized AMQP message; its envelope repeats the first event's properties
//! and is otherwise ignored. Any other format is a single event.

use std::fmt::Write as _;

use fe2o3_amqp::types::messaging::annotations::OwnedKey;
use fe2o3_amqp::types::messaging::message::DecodeIntoMessage;
use fe2o3_amqp::types::messaging::{Body, Message, MessageId};
use fe2o3_amqp::types::primitives::{SimpleValue, Value};
use serde_amqp::read::SliceReader;

use crate::record::ReceivedEvent;

/// The message format of an Event Hubs batch (Microsoft's vendor prefix `0x80013700`).
pub const BATCH_MESSAGE_FORMAT: u32 = 0x8001_3700;

/// The message annotation holding an event's partition key.
pub const PARTITION_KEY_ANNOTATION: &str = "x-opt-partition-key";

/// A transfer the peer cannot turn into events; it is rejected with `amqp:decode-error`.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A batch whose body is not data sections.
    #[error("a batch (format 0x80013700) must carry data sections, found a {found} body")]
    BatchWithoutData {
        /// The kind of body found instead.
        found: &'static str,
    },
    /// A data section of a batch that is not a serialized AMQP message.
    #[error("event {index} of the batch is not a serialized AMQP message")]
    Event {
        /// The position of the data section in the batch.
        index: usize,
        /// Why it could not be decoded.
        #[source]
        source: serde_amqp::Error,
    },
}

/// Where a transfer arrived: the hub and, for a partition link, the partition.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// The configured hub name.
    pub hub: &'a str,
    /// The partition of a `.../Partitions/<n>` link.
    pub partition_id: Option<&'a str>,
}

/// The events carried by one transfer of `message_format`, in order.
pub fn decode_events(
    arrival: Arrival<'_>,
    message_format: u32,
    message: &Message<Body<Value>>,
) -> Result<Vec<ReceivedEvent>, DecodeError> {
    if message_format != BATCH_MESSAGE_FORMAT {
        return Ok(vec![event_from_message(arrival, message)]);
    }
    let sections = match &message.body {
        Body::Data(sections) => sections,
        other => {
            return Err(DecodeError::BatchWithoutData {
                found: body_kind(other),
            })
        }
    };
    sections
        .iter()
        .enumerate()
        .map(|(index, section)| {
            Body::<Value>::decode_message_from_reader(SliceReader::new(&section.0))
                .map(|inner| event_from_message(arrival, &inner))
                .map_err(|source| DecodeError::Event { index, source })
        })
        .collect()
}

/// One event from one (unbatched or unpacked) message.
pub fn event_from_message(arrival: Arrival<'_>, message: &Message<Body<Value>>) -> ReceivedEvent {
    let properties = message.properties.as_ref();
    ReceivedEvent {
        hub: arrival.hub.to_string(),
        partition_id: arrival.partition_id.map(str::to_string),
        partition_key: partition_key(message),
        message_id: properties
            .and_then(|p| p.message_id.as_ref())
            .map(render_message_id),
        content_type: properties
            .and_then(|p| p.content_type.as_ref())
            .map(|symbol| symbol.as_str().to_string()),
        properties: message
            .application_properties
            .as_ref()
            .map(|props| {
                props
                    .0
                    .iter()
                    .map(|(key, value)| (key.clone(), render_simple_value(value)))
                    .collect()
            })
            .unwrap_or_default(),
        body: body_bytes(&message.body),
    }
}

fn partition_key(message: &Message<Body<Value>>) -> Option<String> {
    let key = OwnedKey::Symbol(PARTITION_KEY_ANNOTATION.into());
    message
        .message_annotations
        .as_ref()
        .and_then(|annotations| annotations.0.get(&key))
        .map(render_value)
}

/// The body as bytes: data sections concatenated, an amqp-value string or binary as its bytes,
/// anything else as its debug rendering.
fn body_bytes(body: &Body<Value>) -> Vec<u8> {
    match body {
        Body::Data(sections) => sections
            .iter()
            .flat_map(|section| section.0.iter().copied())
            .collect(),
        Body::Value(value) => match &value.0 {
            Value::Binary(bytes) => bytes.to_vec(),
            other => render_value(other).into_bytes(),
        },
        Body::Sequence(sequences) => format!("{sequences:?}").into_bytes(),
        Body::Empty => Vec::new(),
    }
}

fn body_kind(body: &Body<Value>) -> &'static str {
    match body {
        Body::Data(_) => "data",
        Body::Value(_) => "amqp-value",
        Body::Sequence(_) => "amqp-sequence",
        Body::Empty => "empty",
    }
}

/// A message id as text: strings as is, numbers in decimal, UUIDs hyphenated, binary as hex.
pub fn render_message_id(id: &MessageId) -> String {
    match id {
        MessageId::String(text) => text.clone(),
        MessageId::Ulong(number) => number.to_string(),
        MessageId::Uuid(uuid) => render_uuid(uuid.as_inner()),
        MessageId::Binary(bytes) => hex(bytes),
    }
}

/// An application property value as text.
pub fn render_simple_value(value: &SimpleValue) -> String {
    match value {
        SimpleValue::String(text) => text.clone(),
        SimpleValue::Symbol(symbol) => symbol.as_str().to_string(),
        SimpleValue::Bool(b) => b.to_string(),
        SimpleValue::Ubyte(n) => n.to_string(),
        SimpleValue::Ushort(n) => n.to_string(),
        SimpleValue::Uint(n) => n.to_string(),
        SimpleValue::Ulong(n) => n.to_string(),
        SimpleValue::Byte(n) => n.to_string(),
        SimpleValue::Short(n) => n.to_string(),
        SimpleValue::Int(n) => n.to_string(),
        SimpleValue::Long(n) => n.to_string(),
        SimpleValue::Float(n) => n.to_string(),
        SimpleValue::Double(n) => n.to_string(),
        SimpleValue::Char(c) => c.to_string(),
        SimpleValue::Timestamp(t) => t.milliseconds().to_string(),
        SimpleValue::Uuid(uuid) => render_uuid(uuid.as_inner()),
        SimpleValue::Binary(bytes) => hex(bytes),
        SimpleValue::Null => String::new(),
        other => format!("{other:?}"),
    }
}

/// Any AMQP value as text, with the same renderings as [`render_simple_value`] for scalars.
fn render_value(value: &Value) -> String {
    match SimpleValue::try_from(value.clone()) {
        Ok(simple) => render_simple_value(&simple),
        Err(other) => format!("{other:?}"),
    }
}

fn render_uuid(bytes: &[u8; 16]) -> String {
    let hex = hex(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

#[cfg(test)]
mod tests;
