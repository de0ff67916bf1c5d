//! The `data-history` format: one long row per property change, shaped like the rows ADT's managed
//! data history connection writes, so the two can be queried together.

use serde::Serialize;
use serde_json::Value;

use super::change::{Action, Change};
use super::EventWriter;
use crate::adt::{Content, Header};
use crate::time::Timestamp;

/// One row; field names are the data history table's column names.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row<'a> {
    time_stamp: &'a Timestamp,
    source_time_stamp: Option<&'a Timestamp>,
    service_id: Option<&'a str>,
    id: &'a str,
    model_id: Option<&'a str>,
    key: String,
    value: &'a Value,
    relationship_target: Option<&'a str>,
    relationship_id: Option<&'a str>,
    action: &'static str,
}

/// Renders each change as a row, written as compact JSON into the event's records;
/// `event_time` is the event's time after the usual fallbacks.
pub(crate) fn render(
    header: &Header,
    content: &Content,
    changes: &[Change<'_>],
    event_time: Timestamp,
    out: &mut EventWriter<'_>,
) {
    let relationship_id = match content {
        Content::RelationshipUpdate {
            relationship_id, ..
        } => Some(relationship_id.as_str()),
        _ => None,
    };
    for change in changes {
        let (value, action) = match change.action {
            Action::Set(value) => (value, set_action(content)),
            Action::Remove => (&Value::Null, "Delete"),
        };
        let row = Row {
            time_stamp: &event_time,
            source_time_stamp: change.source_time.as_ref(),
            service_id: header.source.as_ref().map(|s| s.as_str()),
            id: content.twin_id().as_str(),
            model_id: content.model_id().map(|m| m.as_str()),
            key: change.path.join("."),
            value,
            relationship_target: None,
            relationship_id,
            action,
        };
        out.record(event_time, |text| {
            serde_json::to_writer(text, &row).expect("a row always serializes")
        });
    }
}

fn set_action(content: &Content) -> &'static str {
    match content {
        Content::TwinCreate { .. } => "Create",
        Content::Telemetry { .. } => "Telemetry",
        _ => "Update",
    }
}
