//! From a transport's attributes and body to a `Notification`: the part every transport shares.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::ids::{EventId, ModelId, Source, TwinId};
use super::notification::{Content, EventKinds, EventType, Header, Notification};
use super::unusable::{Unusable, UnusableReason};
use super::update_body::UpdateBody;
use crate::text::hex;
use crate::time::Timestamp;

/// The outcome of decoding one event.
// Built once and consumed once per event: boxing the large variant would cost an allocation on
// the hot path for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A notification of a kind that produces records.
    Notification(Notification),
    /// A type that produces no records (or is switched off): counted by type name.
    Skipped {
        /// The type as sent (empty if none).
        type_name: Arc<str>,
    },
    /// An event that can never produce records.
    Unusable(Unusable),
}

/// The attributes of an event as its transport delivered them, before validation.
#[derive(Default)]
pub(crate) struct Attributes<'a> {
    pub id: Option<&'a str>,
    pub source: Option<&'a str>,
    pub type_name: &'a str,
    pub subject: Option<&'a str>,
    pub time: Option<&'a str>,
    pub data_schema: Option<&'a str>,
    pub enqueued_time: Option<Timestamp>,
}

/// The event's data: raw bytes (Event Hub body) or an already parsed value (Event Grid).
#[derive(Clone, Copy)]
pub(crate) enum Data<'a> {
    Bytes(&'a [u8]),
    Json(&'a Value),
}

impl<'a> Data<'a> {
    fn parse<T: Deserialize<'a>>(self) -> Result<T, Unusable> {
        match self {
            Data::Bytes(bytes) => {
                // Known to be UTF-8 now: reading it as text spares the parser checking each string.
                serde_json::from_str(text(bytes)?).map_err(|e| Unusable::from_json_error(&e))
            }
            Data::Json(value) => T::deserialize(value).map_err(|e| Unusable::from_json_error(&e)),
        }
    }

    /// The data as the body of a twin or relationship update.
    fn update_body(self) -> Result<UpdateBody, Unusable> {
        match self {
            Data::Bytes(bytes) => {
                UpdateBody::read(text(bytes)?).map_err(|e| Unusable::from_json_error(&e))
            }
            Data::Json(_) => self.parse(),
        }
    }

    fn hash_into(self, hasher: &mut Sha256) {
        match self {
            Data::Bytes(bytes) => hasher.update(bytes),
            Data::Json(value) => hasher.update(value.to_string().as_bytes()),
        }
    }
}

/// An event body as text, without a byte order mark.
fn text(bytes: &[u8]) -> Result<&str, Unusable> {
    std::str::from_utf8(without_bom(bytes))
        .map_err(|error| Unusable::new(UnusableReason::BodyNotUtf8, error.to_string()))
}

/// `bytes` without a leading UTF-8 byte order mark, which RFC 8259 lets a parser ignore and
/// which .NET writers put before JSON text.
pub(crate) fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Decodes one event from its attributes and data, for the kinds in `kinds`.
pub(crate) fn decode(attributes: &Attributes<'_>, data: Data<'_>, kinds: EventKinds) -> Decoded {
    if attributes.type_name.trim().is_empty() {
        // CloudEvents requires a non-empty type: a blank one is no type, not an unknown one.
        return Decoded::Unusable(Unusable::new(
            UnusableReason::NoEventType,
            "the event's type is blank",
        ));
    }
    let event_type = EventType::parse(attributes.type_name);
    if !event_type.kind().is_some_and(|kind| kinds.contains(kind)) {
        return Decoded::Skipped {
            type_name: Arc::from(attributes.type_name),
        };
    }
    let header = header(attributes, event_type, data);
    match content(&header, attributes, data) {
        Ok(content) => Decoded::Notification(Notification { header, content }),
        Err(unusable) => Decoded::Unusable(unusable),
    }
}

fn header(attributes: &Attributes<'_>, event_type: EventType, data: Data<'_>) -> Header {
    let time = attributes.time.and_then(Timestamp::parse_time);
    let id = attributes
        .id
        .and_then(EventId::parse)
        .unwrap_or_else(|| derived_id(attributes, data));
    Header {
        id,
        source: attributes.source.and_then(Source::parse),
        type_name: Arc::from(attributes.type_name),
        event_type,
        subject: attributes.subject.map(str::to_owned),
        time,
        enqueued_time: attributes.enqueued_time,
    }
}

/// A stable stand-in id for an event without one: a hash of source, subject, time and body.
fn derived_id(attributes: &Attributes<'_>, data: Data<'_>) -> EventId {
    let mut hasher = Sha256::new();
    for part in [attributes.source, attributes.subject, attributes.time] {
        hasher.update(part.unwrap_or("").as_bytes());
        hasher.update([0]);
    }
    data.hash_into(&mut hasher);
    let digest = hasher.finalize();
    EventId::parse(&format!("sha256-{}", hex(&digest[..16]))).expect("a hex digest is a valid id")
}

fn content(
    header: &Header,
    attributes: &Attributes<'_>,
    data: Data<'_>,
) -> Result<Content, Unusable> {
    match header.event_type {
        EventType::TwinUpdate => {
            let (model_id, patch) = data.update_body()?.into_parts()?;
            let twin_id = header_twin(header).ok_or_else(no_twin_id)?;
            Ok(Content::TwinUpdate {
                twin_id,
                model_id,
                patch,
            })
        }
        EventType::RelationshipUpdate => {
            let (model_id, patch) = data.update_body()?.into_parts()?;
            let (twin, relationship) = header
                .subject
                .as_deref()
                .and_then(|s| s.split_once("/relationships/"))
                .ok_or_else(no_twin_id)?;
            Ok(Content::RelationshipUpdate {
                twin_id: TwinId::parse(twin).ok_or_else(no_twin_id)?,
                relationship_id: relationship.to_owned(),
                model_id,
                patch,
            })
        }
        EventType::TwinCreate => {
            let twin: Map<String, Value> = data.parse()?;
            let twin_id = header_twin(header)
                .or_else(|| {
                    twin.get("$dtId")
                        .and_then(Value::as_str)
                        .and_then(TwinId::parse)
                })
                .ok_or_else(no_twin_id)?;
            let model_id = twin
                .get("$metadata")
                .and_then(|m| m.get("$model"))
                .and_then(Value::as_str)
                .and_then(ModelId::parse);
            Ok(Content::TwinCreate {
                twin_id,
                model_id,
                twin,
            })
        }
        EventType::Telemetry => {
            let fields: Map<String, Value> = data.parse()?;
            let twin_id = header
                .source
                .as_ref()
                .and_then(|s| twin_in_source(s.as_str()))
                .or_else(|| header.subject.as_deref().and_then(TwinId::parse))
                .ok_or_else(no_twin_id)?;
            Ok(Content::Telemetry {
                twin_id,
                model_id: attributes.data_schema.and_then(ModelId::parse),
                fields,
            })
        }
        EventType::SensorChange | EventType::SpaceChange => legacy(data),
        _ => unreachable!("only record-producing types are decoded"),
    }
}

fn no_twin_id() -> Unusable {
    Unusable::new(
        UnusableReason::NoTwinId,
        "no twin id in the subject, body or source",
    )
}

/// The twin named by the subject, else by a source ending in `/digitaltwins/<id>`.
fn header_twin(header: &Header) -> Option<TwinId> {
    header
        .subject
        .as_deref()
        .and_then(TwinId::parse)
        .or_else(|| {
            header
                .source
                .as_ref()
                .and_then(|s| twin_in_source(s.as_str()))
        })
}

/// `myinstance.api.weu.digitaltwins.azure.net/digitaltwins/thermostat1` names `thermostat1`.
fn twin_in_source(source: &str) -> Option<TwinId> {
    let (_, twin) = source.rsplit_once("/digitaltwins/")?;
    TwinId::parse(twin.trim_end_matches('/'))
}

/// The 2018 preview's SensorChange / SpaceChange: `Id`, `DataType`, `Value`, `EventTimestamp`.
fn legacy(data: Data<'_>) -> Result<Content, Unusable> {
    let body: Map<String, Value> = data.parse()?;
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let twin_id = text("Id").and_then(TwinId::parse).ok_or_else(no_twin_id)?;
    let data_type = text("DataType")
        .filter(|t| !t.is_empty())
        .unwrap_or("Value");
    let value = match body.get("Value") {
        Some(Value::String(text)) => legacy_value(text),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    Ok(Content::Legacy {
        twin_id,
        data_type: data_type.to_owned(),
        value,
        time: text("EventTimestamp").and_then(Timestamp::parse_time),
    })
}

/// The preview sent every value as text: `True`/`False` become booleans, numeric text a number.
fn legacy_value(text: &str) -> Value {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if trimmed.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    trimmed
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(text.to_owned()), Value::Number)
}
