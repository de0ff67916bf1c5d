//! The `tsi` format: one wide record per twin and timestamp.
//!
//! `{"$dtId": ..., "timestamp": ..., <properties>}`; values of one event that share a timestamp
//! share a record, in the order their timestamps first appear.

use serde_json::{Map, Value};

use super::change::{Action, Change};
use super::options::{Numbers, TsiKeys};
use crate::adt::TwinId;
use crate::time::Timestamp;

/// The record's own keys; a property with one of these names would collide with them.
pub(crate) const TWIN_ID_KEY: &str = "$dtId";
pub(crate) const TIMESTAMP_KEY: &str = "timestamp";

/// What rendering one event's changes produced.
pub(crate) struct WideRecords {
    /// (timestamp, compact JSON body) per record.
    pub records: Vec<(Timestamp, String)>,
    /// Removes, which a wide record cannot express.
    pub removes: usize,
    /// Values dropped because their key collides with `$dtId` or `timestamp`.
    pub reserved: usize,
}

/// Renders changes as wide records; `time_of` resolves each value's timestamp.
pub(crate) fn render(
    twin_id: &TwinId,
    changes: &[Change<'_>],
    keys: TsiKeys,
    numbers: Numbers,
    time_of: impl Fn(&Change<'_>) -> Timestamp,
) -> WideRecords {
    let mut groups: Vec<(Timestamp, Map<String, Value>)> = Vec::new();
    let (mut removes, mut reserved) = (0, 0);
    for change in changes {
        let Action::Set(value) = change.action else {
            removes += 1;
            continue;
        };
        if is_reserved(&change.path, keys) {
            reserved += 1;
            continue;
        }
        let time = time_of(change);
        let index = match groups.iter().position(|(t, _)| *t == time) {
            Some(index) => index,
            None => {
                groups.push((time, record_head(twin_id, &time)));
                groups.len() - 1
            }
        };
        let value = convert(value, numbers);
        let record = &mut groups[index].1;
        match keys {
            TsiKeys::Nested => insert_nested(record, &change.path, value),
            TsiKeys::Dotted => insert_dotted(record, change.path.join("."), value),
        }
    }
    let records = groups
        .into_iter()
        .map(|(time, record)| {
            let body = serde_json::to_string(&record).expect("a JSON map always serializes");
            (time, body)
        })
        .collect();
    WideRecords {
        records,
        removes,
        reserved,
    }
}

fn record_head(twin_id: &TwinId, time: &Timestamp) -> Map<String, Value> {
    let mut record = Map::with_capacity(8);
    record.insert(
        TWIN_ID_KEY.to_owned(),
        Value::String(twin_id.as_str().to_owned()),
    );
    record.insert(TIMESTAMP_KEY.to_owned(), Value::String(time.to_string()));
    record
}

fn is_reserved(path: &[&str], keys: TsiKeys) -> bool {
    let top = match keys {
        TsiKeys::Nested => path[0].to_owned(),
        TsiKeys::Dotted => path.join("."),
    };
    top == TWIN_ID_KEY || top == TIMESTAMP_KEY
}

/// Numbers become doubles (recursively) unless asked to stay as they came.
fn convert(value: &Value, numbers: Numbers) -> Value {
    match (numbers, value) {
        (Numbers::AsIs, _) => value.clone(),
        (Numbers::Double, Value::Number(n)) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| value.clone(), Value::Number),
        (Numbers::Double, Value::Array(items)) => {
            Value::Array(items.iter().map(|v| convert(v, numbers)).collect())
        }
        (Numbers::Double, Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), convert(v, numbers)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// Sets `value` at `path` inside `record`, making objects on the way; an object value merges into
/// what is there, anything else replaces it.
fn insert_nested(record: &mut Map<String, Value>, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().expect("a path has a segment");
    let mut node = record;
    for segment in parents {
        let slot = node
            .entry(*segment)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        node = slot.as_object_mut().expect("made an object above");
    }
    match (node.get_mut(*last), value) {
        (Some(Value::Object(existing)), Value::Object(incoming)) => merge(existing, incoming),
        (_, value) => {
            node.insert((*last).to_owned(), value);
        }
    }
}

fn merge(existing: &mut Map<String, Value>, incoming: Map<String, Value>) {
    for (key, value) in incoming {
        match (existing.get_mut(&key), value) {
            (Some(Value::Object(inner)), Value::Object(more)) => merge(inner, more),
            (_, value) => {
                existing.insert(key, value);
            }
        }
    }
}

/// Sets flat keys: an object value spreads into one key per leaf (`GeoLocation.Latitude`).
fn insert_dotted(record: &mut Map<String, Value>, key: String, value: Value) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (inner, value) in map {
                insert_dotted(record, format!("{key}.{inner}"), value);
            }
        }
        value => {
            record.insert(key, value);
        }
    }
}
