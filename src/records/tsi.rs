//! The `tsi` format: one wide record per twin and timestamp.
//!
//! `{"$dtId": ..., "timestamp": ..., <properties>}`; values of one event that share a timestamp
//! share a record, in the order their timestamps first appear.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::change::{Action, Change};
use super::members::{Members, Node};
use super::options::{Numbers, TsiKeys};
use super::EventWriter;
use crate::adt::TwinId;
use crate::time::Timestamp;

/// The record's own keys; a property with one of these names would collide with them.
pub(crate) const TWIN_ID_KEY: &str = "$dtId";
pub(crate) const TIMESTAMP_KEY: &str = "timestamp";

// The keys as JSON with the punctuation around them, written as they are into every record
// (neither key has a character JSON escapes; a test holds them to the keys above).
const OPEN_TWIN_ID: &[u8] = b"{\"$dtId\":";
const THEN_TIMESTAMP: &[u8] = b",\"timestamp\":";

/// What the records of one event could not hold.
pub(crate) struct Dropped {
    /// Removes, which a wide record cannot express.
    pub removes: usize,
    /// Values dropped because their key collides with `$dtId` or `timestamp`.
    pub reserved: usize,
}

/// One record being assembled: its head and its properties, borrowed from the notification.
struct WideRecord<'a> {
    twin_id: &'a TwinId,
    time: Timestamp,
    properties: Members<'a>,
    numbers: Numbers,
}

impl WideRecord<'_> {
    /// Appends the compact JSON text. The punctuation is written here and every name and value by
    /// serde_json, into a buffer sized for a typical record so that it is rarely regrown.
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(OPEN_TWIN_ID);
        write_json(out, self.twin_id.as_str());
        out.extend_from_slice(THEN_TIMESTAMP);
        out.push(b'"');
        self.time.append_text(out);
        out.push(b'"');
        // No property is named like the head: `is_reserved` turned those away.
        for (name, value) in self.properties.iter() {
            out.push(b',');
            write_json(out, name);
            out.push(b':');
            write_json(out, &value.written(self.numbers));
        }
        out.push(b'}');
    }
}

fn write_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("a record's parts always serialize");
}

/// Renders changes as wide records, written as compact JSON into the event's records;
/// `time_of` resolves each value's timestamp.
pub(crate) fn render(
    twin_id: &TwinId,
    changes: &[Change<'_>],
    keys: TsiKeys,
    numbers: Numbers,
    time_of: impl Fn(&Change<'_>) -> Timestamp,
    out: &mut EventWriter<'_>,
) -> Dropped {
    let mut groups = Groups::default();
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
        let properties = &mut groups
            .record(time, || WideRecord {
                twin_id,
                time,
                properties: Members::default(),
                numbers,
            })
            .properties;
        match keys {
            TsiKeys::Nested => insert_nested(properties, &change.path, value),
            TsiKeys::Dotted => insert_dotted(properties, dotted_key(&change.path), value),
        }
    }
    for record in &groups.records {
        out.record(record.time, |text| record.write_json(text));
    }
    Dropped { removes, reserved }
}

/// Events with more distinct timestamps than this find their records through a map.
const GROUP_SCAN_LIMIT: usize = 16;

/// The records of one event, in the order their timestamps first appear.
#[derive(Default)]
struct Groups<'a> {
    records: Vec<WideRecord<'a>>,
    /// Position by timestamp, once the records outgrow a scan: an event whose every value has
    /// its own `sourceTime` would otherwise scan every record for every value.
    index: HashMap<Timestamp, usize>,
}

impl<'a> Groups<'a> {
    /// The record for `time`, appending `make()` first when there is none.
    fn record(
        &mut self,
        time: Timestamp,
        make: impl FnOnce() -> WideRecord<'a>,
    ) -> &mut WideRecord<'a> {
        let found = if self.records.len() > GROUP_SCAN_LIMIT {
            self.index.get(&time).copied()
        } else {
            self.records.iter().position(|record| record.time == time)
        };
        let position = found.unwrap_or_else(|| {
            self.records.push(make());
            let position = self.records.len() - 1;
            if position == GROUP_SCAN_LIMIT {
                let times = self.records.iter().map(|record| record.time);
                self.index = times.zip(0..).collect();
            } else if position > GROUP_SCAN_LIMIT {
                self.index.insert(time, position);
            }
            position
        });
        &mut self.records[position]
    }
}

fn is_reserved(path: &[&str], keys: TsiKeys) -> bool {
    let reserved = |name: &str| name == TWIN_ID_KEY || name == TIMESTAMP_KEY;
    match keys {
        TsiKeys::Nested => reserved(path[0]),
        // A key joined from two or more segments has a dot, which neither reserved name has.
        TsiKeys::Dotted => path.len() == 1 && reserved(path[0]),
    }
}

fn dotted_key<'a>(path: &[&'a str]) -> Cow<'a, str> {
    match path {
        [single] => Cow::Borrowed(single),
        _ => Cow::Owned(path.join(".")),
    }
}

/// Sets `value` at `path` inside `record`, making objects on the way; an object value merges into
/// what is there, anything else replaces it.
fn insert_nested<'a>(record: &mut Members<'a>, path: &[&'a str], value: &'a Value) {
    let (last, parents) = path.split_last().expect("a path has a segment");
    let mut node = record;
    for segment in parents {
        let slot = node.get_or_insert(Cow::Borrowed(segment), new_object);
        if !slot.is_object() {
            *slot = new_object();
        }
        node = slot.members().expect("made an object above");
    }
    match (node.get_mut(last), value) {
        (Some(existing), Value::Object(incoming)) if existing.is_object() => {
            merge(existing.members().expect("an object"), incoming);
        }
        _ => node.insert(Cow::Borrowed(last), Node::Value(value)),
    }
}

fn new_object<'a>() -> Node<'a> {
    Node::Object(Members::default())
}

fn merge<'a>(existing: &mut Members<'a>, incoming: &'a Map<String, Value>) {
    for (key, value) in incoming {
        match (existing.get_mut(key), value) {
            (Some(inner), Value::Object(more)) if inner.is_object() => {
                merge(inner.members().expect("an object"), more);
            }
            _ => existing.insert(Cow::Borrowed(key), Node::Value(value)),
        }
    }
}

/// Sets flat keys: an object value spreads into one key per leaf (`GeoLocation.Latitude`).
fn insert_dotted<'a>(record: &mut Members<'a>, key: Cow<'a, str>, value: &'a Value) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (inner, value) in map {
                insert_dotted(record, Cow::Owned(format!("{key}.{inner}")), value);
            }
        }
        value => record.insert(key, Node::Value(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adt::Segments;
    use proptest::prelude::*;
    use serde_json::json;

    /// The renderer as first written, on `serde_json::Map`s: the direct writer must match it.
    mod reference {
        use super::super::*;

        pub fn render(
            twin_id: &TwinId,
            changes: &[Change<'_>],
            keys: TsiKeys,
            numbers: Numbers,
        ) -> Vec<String> {
            let mut groups: Vec<(Timestamp, Map<String, Value>)> = Vec::new();
            for change in changes {
                let Action::Set(value) = change.action else {
                    continue;
                };
                if is_reserved(&change.path, keys) {
                    continue;
                }
                let time = change.source_time.unwrap();
                let index = match groups.iter().position(|(t, _)| *t == time) {
                    Some(index) => index,
                    None => {
                        let mut record = Map::new();
                        record.insert(TWIN_ID_KEY.into(), twin_id.as_str().into());
                        record.insert(TIMESTAMP_KEY.into(), time.to_string().into());
                        groups.push((time, record));
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
            groups
                .into_iter()
                .map(|(_, record)| Value::Object(record).to_string())
                .collect()
        }

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

        fn insert_nested(record: &mut Map<String, Value>, path: &[&str], value: Value) {
            let (last, parents) = path.split_last().unwrap();
            let mut node = record;
            for segment in parents {
                let slot = node
                    .entry(*segment)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                node = slot.as_object_mut().unwrap();
            }
            match (node.get_mut(*last), value) {
                (Some(Value::Object(existing)), Value::Object(incoming)) => {
                    merge(existing, incoming)
                }
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
    }

    #[test]
    fn the_head_is_written_with_the_record_keys() {
        let key = |name| serde_json::to_string(name).unwrap();
        assert_eq!(OPEN_TWIN_ID, format!("{{{}:", key(TWIN_ID_KEY)).as_bytes());
        assert_eq!(
            THEN_TIMESTAMP,
            format!(",{}:", key(TIMESTAMP_KEY)).as_bytes()
        );
    }

    const NAMES: [&str; 24] = [
        "a",
        "b",
        "c.d",
        "$dtId",
        "timestamp",
        "é\"/",
        "p0",
        "p1",
        "p2",
        "p3",
        "p4",
        "p5",
        "p6",
        "p7",
        "p8",
        "p9",
        "q0",
        "q1",
        "q2",
        "q3",
        "q4",
        "q5",
        "q6",
        "q7",
    ];

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            Just(Value::Null),
            Just(json!("text")),
            Just(json!({})),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec((0..NAMES.len(), inner), 1..4).prop_map(|members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(name, value)| (NAMES[name].to_owned(), value))
                            .collect(),
                    )
                }),
            ]
        })
    }

    fn change() -> impl Strategy<Value = (Vec<usize>, Value, u32)> {
        (
            prop::collection::vec(0..NAMES.len(), 1..4),
            value(),
            // Up to 24 distinct timestamps: past the scan limit of the groups.
            0u32..24,
        )
    }

    proptest! {
        #[test]
        fn records_are_written_as_the_map_based_renderer_wrote_them(
            raw in prop::collection::vec(change(), 1..40),
            dotted in any::<bool>(),
            as_is in any::<bool>(),
        ) {
            let keys = if dotted { TsiKeys::Dotted } else { TsiKeys::Nested };
            let numbers = if as_is { Numbers::AsIs } else { Numbers::Double };
            let twin = TwinId::parse("t\"1").unwrap();
            let changes: Vec<Change<'_>> = raw
                .iter()
                .map(|(path, value, second)| Change {
                    path: Segments::collect(path.iter().map(|n| NAMES[*n])).unwrap(),
                    action: Action::Set(value),
                    source_time: Timestamp::parse(&format!("2026-05-01T12:00:{second:02}.5Z")).ok(),
                    update_time: None,
                })
                .collect();
            let mut records = crate::records::Records::new();
            let mut out = EventWriter {
                records: &mut records,
                twin_id: &twin,
                origin: std::sync::Arc::new(crate::records::Origin {
                    event_id: crate::adt::EventId::parse("e").unwrap(),
                    source: None,
                    type_name: std::sync::Arc::from("t"),
                    format: crate::records::RecordFormat::Tsi,
                }),
                count: 0,
            };
            let time_of = |c: &Change<'_>| c.source_time.unwrap();
            render(&twin, &changes, keys, numbers, time_of, &mut out);
            let bodies: Vec<String> = records.with_bodies().map(|(_, b)| b.to_owned()).collect();
            prop_assert_eq!(bodies, reference::render(&twin, &changes, keys, numbers));
        }
    }
}
