//! A trigger's batch of broker messages (Event Hubs, Service Bus): the bodies in `Data`, paired
//! by position with the metadata arrays that describe them.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::sync::OnceLock;

use serde::de::DeserializeSeed;
use serde_json::{Map, Value};

use super::bodies::Bodies;
use super::encoding::{into_json_value, text, text_ref, unquoted};
use super::items::{array_of, attributes_of_map, AttributesItem, TextItem, TimeItem};
use super::members::{Member, Members};
use super::quoted;
use crate::adt::{BrokerMessage, CloudEventAttributes, EventHubMessage};
use crate::time::Timestamp;

/// The metadata keys a trigger describes its messages with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchKeys {
    /// Application properties, one object per message (the first key present is read).
    pub properties: &'static [&'static str],
    /// The same, for a single message.
    pub single_properties: &'static [&'static str],
    /// System properties per message, read only for a missing enqueued time.
    pub system: Option<&'static str>,
    /// The same, for a single message.
    pub single_system: Option<&'static str>,
    /// The broker's message ids, per message and single.
    pub message_ids: Option<(&'static str, &'static str)>,
    /// A single body that is no JSON but base64 is read as base64 (`dataType: binary`).
    pub single_base64: bool,
}

/// A batch of messages, with a note when the metadata arrays did not line up.
#[derive(Debug)]
pub struct MessageBatch<'r> {
    bodies: Bodies,
    attributes: Vec<CloudEventAttributes<'r>>,
    enqueued: Vec<Option<Timestamp>>,
    message_ids: Vec<Option<Cow<'r, str>>>,
    properties: Properties<'r>,
    /// The `*Array` metadata had a different length than the batch; missing entries are empty.
    pub misaligned: bool,
}

/// Where each message's properties come from, to hand them over whole (for a dead letter).
#[derive(Debug)]
enum Properties<'r> {
    Array(Option<&'r Member<'r>>, OnceLock<Option<Vec<Value>>>),
    Single(Map<String, Value>),
}

impl<'r> MessageBatch<'r> {
    /// How many messages.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    /// The `n`-th message, for the decoder.
    pub fn message(&self, n: usize) -> BrokerMessage<'_> {
        BrokerMessage {
            body: self.bodies.get(n),
            attributes: &self.attributes[n],
            enqueued_time: self.enqueued[n],
            message_id: self.message_ids.get(n).and_then(Option::as_deref),
        }
    }

    /// Every message, in order.
    pub fn messages(&self) -> impl ExactSizeIterator<Item = BrokerMessage<'_>> + '_ {
        (0..self.len()).map(|n| self.message(n))
    }

    /// The `n`-th message's body.
    pub fn body(&self, n: usize) -> &[u8] {
        self.bodies.get(n)
    }

    /// The `n`-th message's application properties, whole (string values unquoted).
    pub fn properties(&self, n: usize) -> Map<String, Value> {
        match &self.properties {
            Properties::Single(map) => map.clone(),
            Properties::Array(member, entries) => entries
                .get_or_init(|| member.and_then(|m| m.json_array()))
                .as_ref()
                .and_then(|entries| entries.get(n))
                .map(|entry| properties_object(entry.clone()))
                .unwrap_or_default(),
        }
    }

    /// Every message as an owned [`EventHubMessage`].
    pub fn to_messages(&self) -> Vec<EventHubMessage> {
        (0..self.len())
            .map(|n| EventHubMessage {
                body: self.body(n).to_vec(),
                properties: self.properties(n),
                enqueued_time: self.enqueued[n],
            })
            .collect()
    }

    /// The batch described by `metadata` whose binding held `bodies`.
    pub(crate) fn many(bodies: Bodies, metadata: &'r Members<'r>, keys: BatchKeys) -> Self {
        let count = bodies.len();
        let properties_member = metadata.first_of(keys.properties);
        let attributes = properties_member.and_then(|member| {
            let sent = |raw| quoted::objects(raw, count, CloudEventAttributes::set_text);
            read_items(member, count, sent, AttributesItem, slow_attributes)
        });
        let enqueued_member = metadata.get("EnqueuedTimeUtcArray");
        let direct = enqueued_member.and_then(|member| {
            let sent = |raw| quoted::strings(raw, count, Timestamp::parse_time);
            read_items(member, count, sent, TimeItem, slow_time)
        });
        let id_member = keys.message_ids.and_then(|(many, _)| metadata.get(many));
        let message_ids = id_member.and_then(|member| {
            let sent = |raw| quoted::strings(raw, count, |id| Some(Cow::Borrowed(id)));
            read_items(member, count, sent, TextItem, slow_text)
        });
        let system_member = keys.system.and_then(|key| metadata.get(key));
        // The arrays read here are checked; the system properties are not read unless an
        // enqueued time is missing, so their length is not worth a parse of their own.
        let lengths = [
            attributes.as_ref().map(Vec::len),
            direct.as_ref().map(Vec::len),
            message_ids.as_ref().map(Vec::len),
        ];
        let misaligned = lengths
            .into_iter()
            .any(|len| len.is_some_and(|len| len != count));
        // The system properties only stand in for a missing enqueued time: read only if some
        // event needs them.
        let system = OnceCell::new();
        let system_at = |n: usize| {
            system
                .get_or_init(|| system_member.and_then(Member::json_array))
                .as_ref()
                .and_then(|entries: &Vec<Value>| entries.get(n).cloned())
        };
        let enqueued = (0..count)
            .map(|n| {
                let direct = direct
                    .as_ref()
                    .and_then(|times| times.get(n).copied().flatten());
                direct.or_else(|| system_at(n).as_ref().and_then(system_enqueued_time))
            })
            .collect();
        let mut attributes = attributes.unwrap_or_default();
        attributes.resize_with(count, CloudEventAttributes::default);
        let mut message_ids = message_ids.unwrap_or_default();
        message_ids.resize(count, None);
        MessageBatch {
            bodies,
            attributes,
            enqueued,
            message_ids,
            properties: Properties::Array(properties_member, OnceLock::new()),
            misaligned,
        }
    }

    /// Cardinality one: one body, singular metadata keys.
    pub(crate) fn single(body: Vec<u8>, metadata: &'r Members<'r>, keys: BatchKeys) -> Self {
        let body = if keys.single_base64 {
            single_base64(body)
        } else {
            body
        };
        let properties = metadata
            .first_of(keys.single_properties)
            .and_then(Member::json_value)
            .and_then(|v| match v {
                Value::Object(map) => Some(unquote_values(map)),
                _ => None,
            })
            .unwrap_or_default();
        let direct = metadata
            .get("EnqueuedTimeUtc")
            .and_then(|member| member.text())
            .and_then(|time| Timestamp::parse_time(&time));
        let enqueued = direct.or_else(|| {
            let system = metadata.get(keys.single_system?)?.json_value()?;
            system_enqueued_time(&system)
        });
        let message_id = keys
            .message_ids
            .and_then(|(_, single)| metadata.get(single))
            .and_then(|member| member.text().map(|id| Cow::Owned(id.into_owned())));
        MessageBatch {
            bodies: Bodies::from_each([body]),
            attributes: vec![attributes_of_map(&properties)],
            enqueued: vec![enqueued],
            message_ids: vec![message_id],
            properties: Properties::Single(properties),
            misaligned: false,
        }
    }
}

/// A single body with `dataType: binary` is base64 text: decoded when it is no JSON (a JSON
/// body's first character is never base64) and is valid base64.
fn single_base64(body: Vec<u8>) -> Vec<u8> {
    use base64::Engine;
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
        return body;
    }
    let text = String::from_utf8_lossy(&body);
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or(body)
}

/// The items of an array member (`count` expected): read by `sent` from the member as sent when
/// it can ([`quoted`]), else straight from its text when it is held as text encoded once (the
/// common form), else from its decoded `Value`.
fn read_items<'r, S, T>(
    member: &'r Member<'r>,
    count: usize,
    sent: impl FnOnce(&'r str) -> Option<Vec<T>>,
    seed: S,
    slow: fn(&Value) -> T,
) -> Option<Vec<T>>
where
    S: DeserializeSeed<'r, Value = T> + Copy,
{
    member
        .as_sent()
        .and_then(sent)
        .or_else(|| array_of(member.array_text()?, seed, count))
        .or_else(|| Some(member.json_array()?.iter().map(slow).collect()))
}

fn slow_attributes(entry: &Value) -> CloudEventAttributes<'static> {
    attributes_of_map(&properties_object(entry.clone()))
}

fn slow_time(entry: &Value) -> Option<Timestamp> {
    text_ref(entry).and_then(|time| Timestamp::parse_time(&time))
}

fn slow_text(entry: &Value) -> Option<Cow<'static, str>> {
    text(entry).map(Cow::Owned)
}

/// One message's entry of a properties array as a map (empty unless it is an object).
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

/// The enqueued time among a message's system properties.
fn system_enqueued_time(system: &Value) -> Option<Timestamp> {
    let system = super::encoding::json_value(system)?;
    let time = [
        "x-opt-enqueued-time",
        "EnqueuedTimeUtc",
        "iothub-enqueuedtime",
    ]
    .iter()
    .find_map(|key| system.get(*key).and_then(text))?;
    Timestamp::parse_time(&time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::literal::as_sent;
    use crate::host::members::Escaped;
    use proptest::prelude::*;
    use serde_json::json;

    /// The metadata of a batch with these arrays, each member in the form `form` makes of the
    /// array's JSON text.
    fn metadata<'a>(
        arrays: &'a [(&str, String)],
        form: impl Fn(&'a str) -> Member<'a>,
    ) -> Members<'a> {
        let mut metadata = Members::default();
        for (name, text) in arrays {
            metadata.push(Cow::Borrowed(*name), form(text));
        }
        metadata
    }

    /// What a batch's metadata gives each message.
    fn described(metadata: &Members<'_>, count: usize) -> Vec<String> {
        let bodies = Bodies::from_each((0..count).map(|_| b"{}".to_vec()));
        let batch = MessageBatch::many(bodies, metadata, SERVICE_BUS_LIKE);
        let mut described: Vec<_> = batch
            .messages()
            .map(|m| {
                format!(
                    "{:?} {:?} {:?}",
                    m.attributes, m.enqueued_time, m.message_id
                )
            })
            .collect();
        described.push(batch.misaligned.to_string());
        described
    }

    const SERVICE_BUS_LIKE: BatchKeys = BatchKeys {
        properties: &["PropertiesArray"],
        single_properties: &["Properties"],
        system: None,
        single_system: None,
        message_ids: Some(("MessageIdArray", "MessageId")),
        single_base64: false,
    };

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            r#"[a-z "\\/é:]{0,8}"#,
            Just("2026-05-01T12:00:07.5Z".to_owned()),
            Just("2026-05-01T12:00:07.5".to_owned()),
            Just("\"quoted\"".to_owned()),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "id",
                "source",
                "type",
                "subject",
                "time",
                "dataschema"
            ])
            .prop_flat_map(|name| prop::sample::select(vec![":", "_"])
                .prop_map(move |mark| format!("cloudEvents{mark}{name}"))),
            r#"[a-z:"\\]{0,6}"#,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn arrays_read_as_sent_describe_messages_as_read_the_long_way(
            properties in prop::collection::vec(prop::collection::vec((key(), text()), 0..5), 0..4),
            times in prop::collection::vec(text(), 0..4),
            ids in prop::collection::vec(text(), 0..4),
            count in 0usize..4,
        ) {
            let objects: Vec<String> = properties
                .iter()
                .map(|members| {
                    let inner: Vec<_> = members.iter().map(|(k, v)| format!("{}:{}", json!(k), json!(v))).collect();
                    format!("{{{}}}", inner.join(","))
                })
                .collect();
            let arrays = [
                ("PropertiesArray", format!("[{}]", objects.join(","))),
                ("EnqueuedTimeUtcArray", json!(times).to_string()),
                ("MessageIdArray", json!(ids).to_string()),
            ];
            let sent: Vec<(&str, String)> = arrays
                .iter()
                .map(|(name, text)| (*name, as_sent(text)))
                .collect();
            let read_as_sent = described(&metadata(&sent, |raw| Member::Escaped(Escaped::new(raw))), count);
            let as_text = described(&metadata(&arrays, |text| Member::Text(Cow::Borrowed(text))), count);
            let as_values = described(
                &metadata(&arrays, |text| Member::Json(serde_json::from_str(text).unwrap())),
                count,
            );
            prop_assert_eq!(&read_as_sent, &as_text);
            prop_assert_eq!(&read_as_sent, &as_values);
        }
    }
}
