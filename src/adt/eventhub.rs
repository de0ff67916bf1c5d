//! Decoding an event delivered through an Event Hub endpoint (CloudEvents AMQP binary mode).
//!
//! The body is only the event's `data`; the attributes are application properties named
//! `cloudEvents:<attribute>` (the AMQP binding also allows `cloudEvents_<attribute>`). A message
//! without a type property is read as a structured event: Event Grid or CloudEvents JSON in the body.

use serde_json::{Map, Value};

use super::decode::{decode, without_bom, Attributes, Data, Decoded};
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

/// The CloudEvents attributes found in a message's application properties.
#[derive(Default)]
struct CloudEventProperties<'a> {
    id: Spellings<'a>,
    source: Spellings<'a>,
    type_name: Spellings<'a>,
    subject: Spellings<'a>,
    time: Spellings<'a>,
    data_schema: Spellings<'a>,
}

/// An attribute's value under each of its two property names.
#[derive(Default)]
struct Spellings<'a> {
    colon: Option<&'a Value>,
    underscore: Option<&'a Value>,
}

impl<'a> Spellings<'a> {
    /// `cloudEvents:<name>` when present (even if it is not text), else `cloudEvents_<name>`.
    fn text(&self) -> Option<&'a str> {
        self.colon.or(self.underscore).and_then(Value::as_str)
    }
}

impl<'a> CloudEventProperties<'a> {
    /// Reads every attribute in one pass over the properties: cheaper than one lookup per
    /// attribute and spelling, each of which would build its key.
    fn of(properties: &'a Map<String, Value>) -> Self {
        let mut found = CloudEventProperties::default();
        for (key, value) in properties {
            let Some(rest) = key.strip_prefix("cloudEvents") else {
                continue;
            };
            let (colon, name) = match rest.split_at_checked(1) {
                Some((":", name)) => (true, name),
                Some(("_", name)) => (false, name),
                _ => continue,
            };
            let spellings = match name {
                "id" => &mut found.id,
                "source" => &mut found.source,
                "type" => &mut found.type_name,
                "subject" => &mut found.subject,
                "time" => &mut found.time,
                "dataschema" => &mut found.data_schema,
                _ => continue,
            };
            if colon {
                spellings.colon = Some(value);
            } else {
                spellings.underscore = Some(value);
            }
        }
        found
    }
}

/// Decodes one Event Hub event into a notification, a skip, or an unusable verdict.
pub fn decode_event_hub(message: &EventHubMessage, kinds: EventKinds) -> Decoded {
    let properties = CloudEventProperties::of(&message.properties);
    let Some(type_name) = properties.type_name.text() else {
        return match serde_json::from_slice::<Value>(without_bom(&message.body)) {
            Ok(event) => decode_structured(&event, message.enqueued_time, kinds),
            Err(error) => Decoded::Unusable(Unusable::from_json_error(&error)),
        };
    };
    let attributes = Attributes {
        id: properties.id.text(),
        source: properties.source.text(),
        type_name,
        subject: properties.subject.text(),
        time: properties.time.text(),
        data_schema: properties.data_schema.text(),
        enqueued_time: message.enqueued_time,
    };
    decode(&attributes, Data::Bytes(&message.body), kinds)
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
        let found = CloudEventProperties::of(&map);
        assert_eq!(found.id.text(), Some("colon"));
        assert_eq!(found.source.text(), None);
        assert_eq!(found.subject.text(), Some("only-underscore"));
        assert_eq!(found.time.text(), None);
        assert_eq!(found.type_name.text(), None);
    }
}
