//! The transform: from decoded notifications to time-series records, in the `tsi` or `data-history`
//! format. Pure: the invocation's time comes in as an argument, nothing is read or written.

mod batch;
mod change;
mod data_history;
mod members;
mod options;
mod tsi;

use std::sync::Arc;

pub use batch::{transform_batch, BatchOutcome, Summary};

use change::Change;
pub use options::{Numbers, RecordFormat, TransformOptions, TsiKeys, UnknownChoice};

use crate::adt::{EventId, Notification, Source, TwinId};
use crate::time::Timestamp;

/// The source event of a record, shared by all records of that event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The event id (or its stable stand-in).
    pub event_id: EventId,
    /// The event's source, when sent.
    pub source: Option<Source>,
    /// The event's type as sent.
    pub type_name: Arc<str>,
    /// The format of the records.
    pub format: RecordFormat,
}

/// One record, ready to send as one Event Hubs event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The twin the record belongs to: the partition key.
    pub twin_id: TwinId,
    /// `<event id>:<index of the record within the event>`: the same on every redelivery.
    pub message_id: String,
    /// The record's timestamp.
    pub timestamp: Timestamp,
    /// The record as compact JSON.
    pub body: String,
    /// The event it came from.
    pub origin: Arc<Origin>,
}

/// The records of one notification and what could not be expressed in them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventRecords {
    /// The records, in order.
    pub records: Vec<Record>,
    /// Remove ops, which `tsi` records cannot express.
    pub removes: usize,
    /// Values dropped because their key is `$dtId` or `timestamp`, the record's own keys.
    pub reserved_keys: usize,
}

/// Turns one notification into records.
///
/// A value's timestamp is, first that exists: its `sourceTime`; its `lastUpdateTime` (twin
/// bodies); the event's time; the enqueued time; `now` (the invocation's `sys.UtcNow`).
pub fn transform(
    notification: &Notification,
    options: &TransformOptions,
    now: Timestamp,
) -> EventRecords {
    let mut records = Vec::new();
    let (removes, reserved_keys) = transform_into(notification, options, now, &mut records);
    EventRecords {
        records,
        removes,
        reserved_keys,
    }
}

/// [`transform`], appending the records to `records` (a batch keeps every event's records in
/// one list); returns the removes and the reserved keys dropped.
pub(crate) fn transform_into(
    notification: &Notification,
    options: &TransformOptions,
    now: Timestamp,
    records: &mut Vec<Record>,
) -> (usize, usize) {
    let header = &notification.header;
    let content = &notification.content;
    let event_time = header.time.or(header.enqueued_time).unwrap_or(now);
    let changes = change::changes(content);
    let origin = Arc::new(Origin {
        event_id: header.id.clone(),
        source: header.source.clone(),
        type_name: header.type_name.clone(),
        format: options.format,
    });
    let first = records.len();
    let emit = |timestamp, body| {
        let index = records.len() - first;
        records.push(Record {
            twin_id: content.twin_id().clone(),
            message_id: message_id(&header.id, index),
            timestamp,
            body,
            origin: origin.clone(),
        });
    };
    match options.format {
        RecordFormat::Tsi => {
            let time_of = |change: &Change<'_>| {
                change
                    .source_time
                    .or(change.update_time)
                    .unwrap_or(event_time)
            };
            let (keys, numbers) = (options.tsi_keys, options.numbers);
            let dropped = tsi::render(content.twin_id(), &changes, keys, numbers, time_of, emit);
            (dropped.removes, dropped.reserved)
        }
        RecordFormat::DataHistory => {
            data_history::render(header, content, &changes, event_time, emit);
            (0, 0)
        }
    }
}

/// `<event id>:<index>`, built without the formatting machinery: one per record.
fn message_id(event_id: &EventId, index: usize) -> String {
    let mut id = String::with_capacity(event_id.as_str().len() + 4);
    id.push_str(event_id.as_str());
    id.push(':');
    push_decimal(&mut id, index);
    id
}

fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_number_the_records_of_an_event() {
        let id = EventId::parse("evt-1").unwrap();
        for index in [0, 7, 10, 12_345, usize::MAX] {
            assert_eq!(message_id(&id, index), format!("evt-1:{index}"));
        }
    }
}
