//! Invariants that hold for any input, asserted on every execution so that the fuzzer finds wrong
//! answers as well as panics.

use std::collections::HashSet;
use std::fmt;

use adt_bridge::adt::{Content, Decoded, EventKinds, Notification, TwinId};
use adt_bridge::records::{
    process, BatchOutcome, Numbers, OwnedRecord, RecordFormat, TransformOptions, TsiKeys,
};
use adt_bridge::time::Timestamp;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The invocation's time when the request carries none.
pub const NOW: &str = "2026-05-01T12:05:00.1234567Z";

pub fn now() -> Timestamp {
    Timestamp::parse(NOW).expect("a valid time")
}

/// Both formats, both key styles and both number rules, each at least once.
pub fn option_sets(event_kinds: EventKinds) -> [TransformOptions; 3] {
    let options = |format, tsi_keys, numbers| TransformOptions {
        format,
        tsi_keys,
        numbers,
        event_kinds,
    };
    [
        options(RecordFormat::Tsi, TsiKeys::Nested, Numbers::Double),
        options(RecordFormat::Tsi, TsiKeys::Dotted, Numbers::AsIs),
        options(RecordFormat::DataHistory, TsiKeys::Nested, Numbers::Double),
    ]
}

/// A timestamp is written in UTC with `Z`, the same by `Display` and serde, and (for years
/// 1000 to 9999, the ones written without a sign) reads back to the same instant and text.
pub fn timestamp(time: &Timestamp) {
    let text = time.to_string();
    assert!(text.ends_with('Z'), "{text:?} is not UTC");
    let serialized = serde_json::to_string(time).expect("a timestamp serializes");
    assert_eq!(serialized, Value::String(text.clone()).to_string());
    if time.is_placeholder() || text.starts_with('+') {
        return;
    }
    let back =
        Timestamp::parse(&text).unwrap_or_else(|e| panic!("{text:?} does not read back: {e}"));
    assert_eq!(
        back.instant(),
        time.instant(),
        "{text:?} reads back as another instant"
    );
    assert_eq!(
        back.to_string(),
        text,
        "{text:?} reads back with other digits"
    );
}

/// The batch's counts and lists agree with its events, and its records are each event's records
/// in order, each of them well formed.
pub fn outcome(
    decoded: &[Decoded],
    outcome: &BatchOutcome,
    options: &TransformOptions,
    now: Timestamp,
) {
    let summary = &outcome.summary;
    assert_eq!(summary.events, decoded.len());
    assert_eq!(summary.records, outcome.records.len());
    let unusable: Vec<_> = decoded
        .iter()
        .enumerate()
        .filter_map(|(index, event)| match event {
            Decoded::Unusable(unusable) => Some((index, unusable.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcome.unusable, unusable,
        "every unusable event is reported"
    );
    assert_eq!(summary.unusable.values().sum::<usize>(), unusable.len());
    let skipped = decoded
        .iter()
        .filter(|event| matches!(event, Decoded::Skipped { .. }))
        .count();
    assert_eq!(summary.skipped.values().sum::<usize>(), skipped);
    assert_eq!(summary.invalid_ops, outcome.invalid_ops.len());
    let all = outcome.records.to_owned_records();
    let (mut rest, mut removes) = (&all[..], 0);
    for (index, event) in decoded.iter().enumerate() {
        let Decoded::Notification(notification) = event else {
            continue;
        };
        let own = process([Decoded::Notification(notification.clone())], options, now);
        let own_records = own.records.to_owned_records();
        assert!(
            rest.starts_with(&own_records),
            "event {index}'s records are not the batch's next records"
        );
        rest = &rest[own.records.len()..];
        removes += own.summary.removes;
        records_of_event(notification, &own_records, options);
    }
    assert!(rest.is_empty(), "the batch has records no event made");
    assert_eq!(summary.removes, removes);
    for (index, twin_id, _) in &outcome.invalid_ops {
        match &decoded[*index] {
            Decoded::Notification(n) => assert_eq!(n.content.twin_id(), twin_id),
            other => panic!("an invalid op of an event that is no notification: {other:?}"),
        }
    }
}

/// Each record of one event carries its twin, event, numbered message id and timestamp, and its
/// body is a JSON object of the format's shape without duplicate keys.
pub fn records_of_event(
    notification: &Notification,
    records: &[OwnedRecord],
    options: &TransformOptions,
) {
    let header = &notification.header;
    let twin_id = notification.content.twin_id();
    let mut times = Vec::new();
    for (index, record) in records.iter().enumerate() {
        assert_eq!(&record.twin_id, twin_id);
        assert!(TwinId::parse(record.twin_id.as_str()).is_some());
        assert_eq!(record.message_id, format!("{}:{index}", header.id));
        assert_eq!(record.origin.event_id, header.id);
        assert_eq!(record.origin.source, header.source);
        assert_eq!(record.origin.type_name, header.type_name);
        assert_eq!(record.origin.format, options.format);
        timestamp(&record.timestamp);
        assert!(
            !record.timestamp.is_placeholder(),
            "a record timestamped with a placeholder: {}",
            record.body
        );
        let body = object(&record.body);
        match options.format {
            RecordFormat::Tsi => {
                wide_record(&body, record, options.numbers);
                assert!(
                    !times.contains(&record.timestamp),
                    "two records of one event share {}",
                    record.timestamp
                );
                times.push(record.timestamp);
            }
            RecordFormat::DataHistory => history_row(&body, record, notification),
        }
    }
}

fn wide_record(body: &Map<String, Value>, record: &OwnedRecord, numbers: Numbers) {
    let mut members = body.iter();
    let (Some(("$dtId", id)), Some(("timestamp", time))) = (
        members.next().map(|(k, v)| (k.as_str(), v)),
        members.next().map(|(k, v)| (k.as_str(), v)),
    ) else {
        panic!(
            "a tsi record starts with $dtId and timestamp: {}",
            record.body
        );
    };
    assert_eq!(id.as_str(), Some(record.twin_id.as_str()));
    assert_eq!(time.as_str(), Some(record.timestamp.to_string().as_str()));
    assert!(
        body.len() > 2,
        "a tsi record without values: {}",
        record.body
    );
    if numbers == Numbers::Double {
        for (_, value) in members {
            assert!(all_doubles(value), "a whole number in {}", record.body);
        }
    }
}

fn all_doubles(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().all(all_doubles),
        Value::Object(map) => map.values().all(all_doubles),
        _ => true,
    }
}

const COLUMNS: [&str; 10] = [
    "TimeStamp",
    "SourceTimeStamp",
    "ServiceId",
    "Id",
    "ModelId",
    "Key",
    "Value",
    "RelationshipTarget",
    "RelationshipId",
    "Action",
];

fn history_row(row: &Map<String, Value>, record: &OwnedRecord, notification: &Notification) {
    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
    assert_eq!(keys, COLUMNS, "{}", record.body);
    let text = |key: &str| row[key].as_str();
    assert_eq!(text("Id"), Some(record.twin_id.as_str()));
    assert_eq!(
        text("TimeStamp"),
        Some(record.timestamp.to_string().as_str())
    );
    if let Some(source_time) = text("SourceTimeStamp") {
        timestamp(&Timestamp::parse(source_time).expect("a SourceTimeStamp reads back"));
    } else {
        assert!(row["SourceTimeStamp"].is_null());
    }
    let header = &notification.header;
    assert_eq!(
        text("ServiceId"),
        header.source.as_ref().map(|s| s.as_str())
    );
    let content = &notification.content;
    assert_eq!(text("ModelId"), content.model_id().map(|m| m.as_str()));
    let relationship = match content {
        Content::RelationshipUpdate {
            relationship_id, ..
        } => Some(relationship_id.as_str()),
        _ => None,
    };
    assert_eq!(text("RelationshipId"), relationship);
    assert!(row["RelationshipTarget"].is_null());
    let action = text("Action").expect("an Action");
    assert!(
        ["Update", "Delete", "Create", "Telemetry"].contains(&action),
        "{action}"
    );
    if action == "Delete" {
        assert!(row["Value"].is_null());
    }
    assert!(row["Key"].is_string());
}

/// The body as a JSON object, after checking that no object in it repeats a key.
fn object(body: &str) -> Map<String, Value> {
    if let Err(e) = serde_json::from_str::<UniqueKeys>(body) {
        panic!("{e}: {body}");
    }
    match serde_json::from_str(body) {
        Ok(Value::Object(map)) => map,
        other => panic!("a record body that is not a JSON object ({other:?}): {body}"),
    }
}

/// Any JSON value, read and dropped, failing on an object with a repeated key.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E: de::Error>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
}
