//! The transform table (`tests/fixtures/transform`) as host requests for the end-to-end tests, and
//! the records the table says the peer must then hold: the expectations are the table's
//! hand-written records and message ids, never the crate's own transform.
//!
//! A case is sent when an Event Hub delivers it with its CloudEvents attributes as `cloudEvents:*`
//! properties, under the default settings, and its table entry says which records come out (or
//! that none do, or that the event is skipped). Unusable input is left out: it goes to the
//! dead-letter hub, which has tests of its own.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::support::{event_hub_request, HubEvent, HubRequestOptions};
use crate::transform_case::{read_table, Case, Expect};

/// A record the peer must hold, as the table writes it.
#[derive(Clone)]
pub struct Expected {
    pub message_id: String,
    /// The table's record as compact JSON, members in the order the table writes them.
    pub body: String,
    /// The twin the record is about (`$dtId` in tsi, `Id` in data-history): its partition key.
    pub twin_id: String,
    /// The application properties the record's event must carry.
    pub properties: BTreeMap<String, String>,
}

/// One request of table events, and what the peer must hold once it is delivered.
pub struct TableBatch {
    pub request: Value,
    pub expected: Vec<Expected>,
}

impl TableBatch {
    /// Every case that can be sent, in table order, `copies` times over. Event ids get `tag` and
    /// the copy's number appended (the first copy of an empty tag keeps the table's ids), so
    /// copies and batches can be told apart; the table's message ids follow them.
    pub fn new(format: &str, copies: usize, tag: &str) -> TableBatch {
        let table = read_table();
        let sent: Vec<(&Case, &Expect)> = table
            .iter()
            .filter_map(|(_, case)| Some((case, sendable(case, format)?)))
            .collect();
        let now = &sent[0].0.now;
        assert!(
            sent.iter().all(|(case, _)| &case.now == now),
            "one request has one invocation time"
        );
        let (mut events, mut enqueued, mut expected) = (Vec::new(), Vec::new(), Vec::new());
        for copy in 0..copies {
            let suffix = if tag.is_empty() && copy == 0 {
                String::new()
            } else {
                format!(".{tag}{copy}")
            };
            for (case, expect) in &sent {
                let mut properties = case.properties();
                let event_id = format!("{}{suffix}", text(&properties, "cloudEvents:id"));
                properties.insert("cloudEvents:id".into(), json!(event_id));
                expected.extend(expected_records(case, expect, format, &properties));
                events.push(HubEvent {
                    body: String::from_utf8(case.body()).unwrap(),
                    properties: Value::Object(properties),
                });
                enqueued.push(case.enqueued_time());
            }
        }
        let request = event_hub_request(&events, HubRequestOptions::default());
        TableBatch {
            request: with_times(request, &enqueued, now),
            expected,
        }
    }
}

/// The case's expectation for `format`, when the case can be sent end to end.
fn sendable<'c>(case: &'c Case, format: &str) -> Option<&'c Expect> {
    let expect = case.expect.get(format)?;
    if case.transport != "eventhub" || !case.settings.is_empty() {
        return None;
    }
    let properties = case.properties();
    let fits = properties.contains_key("cloudEvents:id")
        && properties.contains_key("cloudEvents:type")
        && expect.unusable.is_none()
        && (expect.records.is_some() || expect.skipped.is_some())
        && std::str::from_utf8(&case.body()).is_ok();
    fits.then_some(expect)
}

/// The records the table gives for `case`, sent with `properties` (its own but for the event id).
fn expected_records(
    case: &Case,
    expect: &Expect,
    format: &str,
    properties: &Map<String, Value>,
) -> Vec<Expected> {
    let records = expect.records.as_deref().unwrap_or_default();
    let ids = expect.message_ids.as_deref().unwrap_or_default();
    assert_eq!(
        ids.len(),
        records.len(),
        "{}: the table gives a message id for each record",
        case.name
    );
    // The event's CloudEvents attributes travel with each of its records, and the format.
    let mut event_properties: BTreeMap<String, String> =
        ["cloudEvents:id", "cloudEvents:type", "cloudEvents:source"]
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), properties.get(name)?.as_str()?.to_owned())))
            .collect();
    event_properties.insert("recordFormat".to_owned(), format.to_owned());
    let twin_member = if format == "tsi" { "$dtId" } else { "Id" };
    records
        .iter()
        .zip(ids)
        .map(|(record, id)| {
            // The table's message id is its event id and the record's place: keep the place.
            let place = id
                .strip_prefix(text(&case.properties(), "cloudEvents:id"))
                .unwrap_or_else(|| panic!("{}: message id {id} is not of its event", case.name));
            Expected {
                message_id: format!("{}{place}", text(properties, "cloudEvents:id")),
                body: record.to_string(),
                twin_id: record[twin_member].as_str().unwrap().to_owned(),
                properties: event_properties.clone(),
            }
        })
        .collect()
}

fn text<'p>(properties: &'p Map<String, Value>, name: &str) -> &'p str {
    properties[name].as_str().unwrap()
}

/// `request` with each event's enqueued time as the table gives it (or none at all: the system
/// properties stand in for a missing one, so theirs go too) and the invocation's time `now`,
/// quoted as current hosts send them.
fn with_times(mut request: Value, enqueued: &[Option<&str>], now: &str) -> Value {
    let metadata = &mut request["Metadata"];
    let system = metadata["SystemPropertiesArray"].as_str().unwrap();
    let mut system: Vec<Value> = serde_json::from_str(system).unwrap();
    for (properties, time) in system.iter_mut().zip(enqueued) {
        let properties = properties.as_object_mut().unwrap();
        for key in ["x-opt-enqueued-time", "EnqueuedTimeUtc"] {
            match time {
                Some(time) => properties.insert(key.into(), json!(time)),
                None => properties.remove(key),
            };
        }
    }
    metadata["SystemPropertiesArray"] = json!(Value::from(system).to_string());
    metadata["EnqueuedTimeUtcArray"] = json!(json!(enqueued).to_string());
    metadata["sys"]["UtcNow"] = json!(json!(now).to_string());
    request
}
