//! Decoding an event delivered through an Event Hub endpoint (CloudEvents AMQP binary mode).
//!
//! The body is only the event's `data`; the attributes are application properties named
//! `cloudEvents:<attribute>` (the AMQP binding also allows `cloudEvents_<attribute>`). A message
//! without a type property is read as a structured event: Event Grid or CloudEvents JSON in the body.

use serde_json::{Map, Value};

use super::decode::{decode, Attributes, Data, Decoded};
use super::eventgrid::decode_structured;
use super::notification::EventKinds;
use super::unusable::Unusable;
use crate::time::Timestamp;

/// One Event Hub event as the Functions host hands it over.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventHubMessage {
    /// The raw body bytes.
    pub body: Vec<u8>,
    /// The application properties (for ADT: the `cloudEvents:*` attributes).
    pub properties: Map<String, Value>,
    /// When the event was enqueued, from the host's metadata.
    pub enqueued_time: Option<Timestamp>,
}

impl EventHubMessage {
    /// A CloudEvents attribute from the application properties.
    fn attribute(&self, name: &str) -> Option<&str> {
        ["cloudEvents:", "cloudEvents_"]
            .iter()
            .find_map(|prefix| self.properties.get(&format!("{prefix}{name}")))
            .and_then(Value::as_str)
    }
}

/// Decodes one Event Hub event into a notification, a skip, or an unusable verdict.
pub fn decode_event_hub(message: &EventHubMessage, kinds: EventKinds) -> Decoded {
    let Some(type_name) = message.attribute("type") else {
        return match serde_json::from_slice::<Value>(&message.body) {
            Ok(event) => decode_structured(&event, message.enqueued_time, kinds),
            Err(error) => Decoded::Unusable(Unusable::from_json_error(&error)),
        };
    };
    let attributes = Attributes {
        id: message.attribute("id"),
        source: message.attribute("source"),
        type_name,
        subject: message.attribute("subject"),
        time: message.attribute("time"),
        data_schema: message.attribute("dataschema"),
        enqueued_time: message.enqueued_time,
    };
    decode(&attributes, Data::Bytes(&message.body), kinds)
}
