//! Decoding an event delivered through an Event Hub or Service Bus endpoint (CloudEvents AMQP
//! binary mode).
//!
//! The body is only the event's `data`; the attributes are application properties named
//! `cloudEvents:<attribute>` (the AMQP binding also allows `cloudEvents_<attribute>`). A message
//! without a type property is read as a structured event: Event Grid or CloudEvents JSON in the body.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::decode::{decode, without_bom, Attributes, Data, Decoded};
use super::eventgrid::decode_structured;
use super::notification::EventKinds;
use super::unusable::Unusable;
use crate::time::Timestamp;

/// One Event Hub event as the Functions host hands it over, owned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventHubMessage {
    /// The raw body bytes.
    pub body: Vec<u8>,
    /// The application properties (for ADT: the `cloudEvents:*` attributes).
    pub properties: Map<String, Value>,
    /// When the event was enqueued, from the host's metadata.
    pub enqueued_time: Option<Timestamp>,
}

/// One message as a broker delivered it, borrowed from wherever it was read: its body, the
/// CloudEvents attributes among its application properties, and what the broker adds.
#[derive(Clone, Copy, Debug)]
pub struct BrokerMessage<'a> {
    /// The raw body bytes.
    pub body: &'a [u8],
    /// The `cloudEvents:*` application properties.
    pub attributes: &'a CloudEventAttributes<'a>,
    /// When the broker enqueued the message: the last fallback for the event's time.
    pub enqueued_time: Option<Timestamp>,
    /// The broker's own message id (Service Bus `MessageId`), the event's id when the event has
    /// no `cloudEvents:id` of its own.
    pub message_id: Option<&'a str>,
}

/// The CloudEvents attributes found in a message's application properties. Each is kept as the
/// text of its property, borrowed from it when it can be.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloudEventAttributes<'a> {
    id: Spellings<'a>,
    source: Spellings<'a>,
    type_name: Spellings<'a>,
    subject: Spellings<'a>,
    time: Spellings<'a>,
    data_schema: Spellings<'a>,
}

/// A property's value as an attribute reads it: its text, or `None` for a value that is there
/// but is not text (a number, an object...).
pub type PropertyText<'a> = Option<Cow<'a, str>>;

/// An attribute's value under each of its two property names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Spellings<'a> {
    colon: Option<PropertyText<'a>>,
    underscore: Option<PropertyText<'a>>,
}

impl Spellings<'_> {
    /// `cloudEvents:<name>` when present (even if it is not text), else `cloudEvents_<name>`.
    fn text(&self) -> Option<&str> {
        self.colon.as_ref().or(self.underscore.as_ref())?.as_deref()
    }
}

impl<'a> CloudEventAttributes<'a> {
    /// Reads the attributes out of a properties map, borrowing their text.
    pub fn of(properties: &'a Map<String, Value>) -> Self {
        let mut found = CloudEventAttributes::default();
        for (key, value) in properties {
            found.set(key, value.as_str().map(Cow::Borrowed));
        }
        found
    }

    /// Takes one application property; a later one of the same name replaces an earlier one,
    /// and properties that are not CloudEvents attributes are passed over.
    pub fn set(&mut self, key: &str, value: PropertyText<'a>) {
        if let Some(slot) = self.slot(key) {
            *slot = Some(value);
        }
    }

    /// Takes one application property whose value is text.
    pub(crate) fn set_text(&mut self, key: &str, value: &'a str) {
        self.set(key, Some(Cow::Borrowed(value)));
    }

    fn slot(&mut self, key: &str) -> Option<&mut Option<PropertyText<'a>>> {
        let rest = key.strip_prefix("cloudEvents")?;
        let (colon, name) = match rest.split_at_checked(1) {
            Some((":", name)) => (true, name),
            Some(("_", name)) => (false, name),
            _ => return None,
        };
        let spellings = match name {
            "id" => &mut self.id,
            "source" => &mut self.source,
            "type" => &mut self.type_name,
            "subject" => &mut self.subject,
            "time" => &mut self.time,
            "dataschema" => &mut self.data_schema,
            _ => return None,
        };
        Some(if colon {
            &mut spellings.colon
        } else {
            &mut spellings.underscore
        })
    }
}

/// Decodes one Event Hub event into a notification, a skip, or an unusable verdict.
pub fn decode_event_hub(message: &EventHubMessage, kinds: EventKinds) -> Decoded {
    let attributes = CloudEventAttributes::of(&message.properties);
    decode_broker_message(
        &BrokerMessage {
            body: &message.body,
            attributes: &attributes,
            enqueued_time: message.enqueued_time,
            message_id: None,
        },
        kinds,
    )
}

/// Decodes one message from a broker (Event Hubs, Service Bus) into a notification, a skip,
/// or an unusable verdict.
pub fn decode_broker_message(message: &BrokerMessage<'_>, kinds: EventKinds) -> Decoded {
    let properties = message.attributes;
    let Some(type_name) = properties.type_name.text() else {
        return match serde_json::from_slice::<Value>(without_bom(message.body)) {
            Ok(event) => {
                decode_structured(&event, message.enqueued_time, message.message_id, kinds)
            }
            Err(error) => Decoded::Unusable(Unusable::from_json_error(&error)),
        };
    };
    let attributes = Attributes {
        id: properties.id.text().or(message.message_id),
        source: properties.source.text(),
        type_name,
        subject: properties.subject.text(),
        time: properties.time.text(),
        data_schema: properties.data_schema.text(),
        enqueued_time: message.enqueued_time,
    };
    decode(&attributes, Data::Bytes(message.body), kinds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn properties(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn the_colon_spelling_wins_even_when_it_is_not_text() {
        let map = properties(json!({
            "cloudEvents_id": "underscore", "cloudEvents:id": "colon",
            "cloudEvents:source": 7, "cloudEvents_source": "ignored",
            "cloudEvents_subject": "only-underscore",
            "cloudEventsXtime": "not an attribute", "cloudEvents:times": "nor this",
        }));
        let found = CloudEventAttributes::of(&map);
        assert_eq!(found.id.text(), Some("colon"));
        assert_eq!(found.source.text(), None);
        assert_eq!(found.subject.text(), Some("only-underscore"));
        assert_eq!(found.time.text(), None);
        assert_eq!(found.type_name.text(), None);
    }
}
