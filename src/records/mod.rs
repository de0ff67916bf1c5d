//! The transform: from decoded notifications to time-series records, in the `tsi` or `data-history`
//! format. Pure: the invocation's time comes in as an argument, nothing is read or written.

mod batch;
mod change;
mod data_history;
mod options;
mod tsi;

use std::sync::Arc;

pub use batch::{transform_batch, BatchOutcome, Summary};
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
    let header = &notification.header;
    let content = &notification.content;
    let event_time = header.time.or(header.enqueued_time).unwrap_or(now);
    let changes = change::changes(content);
    let (rendered, removes, reserved_keys) = match options.format {
        RecordFormat::Tsi => {
            let wide = tsi::render(
                content.twin_id(),
                &changes,
                options.tsi_keys,
                options.numbers,
                |change| {
                    change
                        .source_time
                        .or(change.update_time)
                        .unwrap_or(event_time)
                },
            );
            (wide.records, wide.removes, wide.reserved)
        }
        RecordFormat::DataHistory => (
            data_history::render(header, content, &changes, event_time),
            0,
            0,
        ),
    };
    let origin = Arc::new(Origin {
        event_id: header.id.clone(),
        source: header.source.clone(),
        type_name: header.type_name.clone(),
        format: options.format,
    });
    let records = rendered
        .into_iter()
        .enumerate()
        .map(|(index, (timestamp, body))| Record {
            twin_id: content.twin_id().clone(),
            message_id: format!("{}:{index}", header.id),
            timestamp,
            body,
            origin: origin.clone(),
        })
        .collect();
    EventRecords {
        records,
        removes,
        reserved_keys,
    }
}
