//! The transform: from decoded notifications to time-series records, in the `tsi` or `data-history`
//! format. Pure: the invocation's time comes in as an argument, nothing is read or written.

mod batch;
mod change;
mod data_history;
mod members;
mod options;
mod tsi;

use std::sync::Arc;

pub use batch::{process, BatchOutcome, Summary};

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

/// One record: its twin, its place among its event's records, its timestamp. Its JSON text lives
/// in the [`Records`] that holds it (one buffer for a whole batch, so writing a record allocates
/// nothing of its own and packing copies it once, into the event body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The twin the record belongs to: the partition key.
    pub twin_id: TwinId,
    /// The record's position among its event's records.
    pub index: usize,
    /// The record's timestamp.
    pub timestamp: Timestamp,
    /// The event it came from.
    pub origin: Arc<Origin>,
    /// Where its JSON text is in the holding [`Records`].
    span: std::ops::Range<usize>,
}

impl Record {
    /// `<event id>:<index>`: the same on every redelivery.
    pub fn message_id(&self) -> String {
        let mut id = String::new();
        self.write_message_id(&mut id);
        id
    }

    /// Appends [`Record::message_id`] to `out`.
    pub fn write_message_id(&self, out: &mut String) {
        let event_id = self.origin.event_id.as_str();
        out.reserve(event_id.len() + 4);
        out.push_str(event_id);
        out.push(':');
        out.push_str(itoa::Buffer::new().format(self.index));
    }

    /// The length of the record's JSON text in bytes.
    pub fn len(&self) -> usize {
        self.span.len()
    }

    /// Whether the record's text is empty (never, for a record the transform wrote).
    pub fn is_empty(&self) -> bool {
        self.span.is_empty()
    }
}

/// A record apart from its batch, with its own text: see [`Records::to_owned_records`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRecord {
    /// The twin the record belongs to.
    pub twin_id: TwinId,
    /// `<event id>:<index>`.
    pub message_id: String,
    /// The record's timestamp.
    pub timestamp: Timestamp,
    /// The record as compact JSON.
    pub body: String,
    /// The event it came from.
    pub origin: Arc<Origin>,
}

/// A batch's records in order, and the one buffer holding their compact JSON texts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Records {
    /// Every record's JSON, back to back (UTF-8: only serde_json and ASCII punctuation write here).
    text: Vec<u8>,
    list: Vec<Record>,
}

impl Records {
    /// No records.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The records, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Record> {
        self.list.iter()
    }

    /// The record at `index`.
    pub fn get(&self, index: usize) -> Option<&Record> {
        self.list.get(index)
    }

    /// A record's JSON text as bytes. `record` must be one of these records.
    pub fn bytes(&self, record: &Record) -> &[u8] {
        &self.text[record.span.clone()]
    }

    /// A record's JSON text. `record` must be one of these records.
    pub fn body(&self, record: &Record) -> &str {
        std::str::from_utf8(self.bytes(record)).expect("records are written as UTF-8")
    }

    /// Every record with its JSON text, in order.
    pub fn with_bodies(&self) -> impl Iterator<Item = (&Record, &str)> + '_ {
        self.list
            .iter()
            .map(move |record| (record, self.body(record)))
    }

    /// Every record with its own copy of its text and message id: for inspection and tests,
    /// where holding one record apart from its batch matters more than the copies.
    pub fn to_owned_records(&self) -> Vec<OwnedRecord> {
        self.list
            .iter()
            .map(|record| OwnedRecord {
                twin_id: record.twin_id.clone(),
                message_id: record.message_id(),
                timestamp: record.timestamp,
                body: self.body(record).to_owned(),
                origin: record.origin.clone(),
            })
            .collect()
    }

    /// Appends a copy of `record`, whose text is in `from`.
    pub fn push_from(&mut self, from: &Records, record: &Record) {
        let start = self.text.len();
        self.text.extend_from_slice(from.bytes(record));
        self.list.push(Record {
            span: start..self.text.len(),
            ..record.clone()
        });
    }

    /// Appends a record given as its JSON text (the transform writes its records in place; this
    /// is for records made elsewhere, such as tests and tools).
    pub fn push_text(
        &mut self,
        twin_id: &TwinId,
        index: usize,
        timestamp: Timestamp,
        origin: &Arc<Origin>,
        text: &str,
    ) {
        self.push(twin_id, index, timestamp, origin, |out| {
            out.extend_from_slice(text.as_bytes())
        });
    }

    /// Appends a record whose JSON `write` puts at the end of the buffer.
    fn push(
        &mut self,
        twin_id: &TwinId,
        index: usize,
        timestamp: Timestamp,
        origin: &Arc<Origin>,
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        let start = self.text.len();
        write(&mut self.text);
        self.list.push(Record {
            twin_id: twin_id.clone(),
            index,
            timestamp,
            origin: origin.clone(),
            span: start..self.text.len(),
        });
    }
}

impl<'a> IntoIterator for &'a Records {
    type Item = &'a Record;
    type IntoIter = std::slice::Iter<'a, Record>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl std::ops::Index<usize> for Records {
    type Output = Record;
    fn index(&self, index: usize) -> &Record {
        &self.list[index]
    }
}

/// One event's records on their way into a batch's [`Records`].
pub(crate) struct EventWriter<'r> {
    records: &'r mut Records,
    twin_id: &'r TwinId,
    origin: Arc<Origin>,
    count: usize,
}

impl EventWriter<'_> {
    /// Appends the event's next record, written by `write`.
    pub(crate) fn record(&mut self, timestamp: Timestamp, write: impl FnOnce(&mut Vec<u8>)) {
        let index = self.count;
        self.records
            .push(self.twin_id, index, timestamp, &self.origin, write);
        self.count += 1;
    }
}

/// Turns one notification into records, appended to `records` (a batch keeps every event's
/// records in one list); returns the removes and the reserved keys dropped.
///
/// A value's timestamp is, first that exists: its `sourceTime`; its `lastUpdateTime` (twin
/// bodies); the event's time; the enqueued time; `now` (the invocation's `sys.UtcNow`).
pub(crate) fn transform_into(
    notification: &Notification,
    options: &TransformOptions,
    now: Timestamp,
    records: &mut Records,
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
    let mut out = EventWriter {
        records,
        twin_id: content.twin_id(),
        origin,
        count: 0,
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
            let dropped = tsi::render(
                content.twin_id(),
                &changes,
                keys,
                numbers,
                time_of,
                &mut out,
            );
            (dropped.removes, dropped.reserved)
        }
        RecordFormat::DataHistory => {
            data_history::render(header, content, &changes, event_time, &mut out);
            (0, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_number_the_records_of_an_event() {
        let origin = Arc::new(Origin {
            event_id: EventId::parse("evt-1").unwrap(),
            source: None,
            type_name: Arc::from("t"),
            format: RecordFormat::Tsi,
        });
        let twin = TwinId::parse("twin").unwrap();
        let now = Timestamp::parse_time("2026-05-01T12:00:00Z").unwrap();
        let mut records = Records::new();
        for index in [0, 7, 10, 12_345, usize::MAX] {
            records.push(&twin, index, now, &origin, |out| {
                out.extend_from_slice(b"{}")
            });
            let record = &records[records.len() - 1];
            assert_eq!(record.message_id(), format!("evt-1:{index}"));
            assert_eq!(records.body(record), "{}");
        }
    }
}
