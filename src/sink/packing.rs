//! Records into Event Hubs event bodies: packed JSON arrays, or one record per event. Pure.
//!
//! Both consumers of the records hub unroll an array of records into one row per element (Time
//! Series Insights Gen2; Data Explorer and Fabric Eventhouse with the `multijson` format), and
//! Event Hubs bills each event in 64 KB units, so the records one invocation sends to one
//! partition go out as few events as the bound allows. Each record's text is copied once, from
//! the batch's record buffer straight into its event's body.

use std::ops::Range;
use std::sync::Arc;

use crate::config::delivery::Packing;
use crate::records::{Origin, Record, RecordFormat, Records};

/// What every event's properties, message id and framing may add to its body, at most, when
/// ids are no longer than [`ID_ALLOWANCE`]: reserved from the bound so that a full event stays
/// within it, properties included.
const PROPERTY_ALLOWANCE: usize = 160;
/// The id lengths [`PROPERTY_ALLOWANCE`] was sized for; longer ids reserve their excess too.
const ID_ALLOWANCE: usize = 64;

/// One event's worth of records, ready to become an Event Hubs event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutEvent {
    /// The body: a JSON array of records (`array`), or one record's object (`none`).
    pub body: Vec<u8>,
    /// `<first record's message id>+<count>` when packed; `<event id>:<index>` for one record.
    pub message_id: String,
    /// Positions (in the list given to [`pack`]) of the records in the body.
    pub records: Range<usize>,
    /// The one source event every record came from, when there is one.
    pub origin: Option<Arc<Origin>>,
    /// Whether the body is an array (sets the `recordCount` property).
    pub packed: bool,
    /// The records' format (the `recordFormat` property).
    pub format: RecordFormat,
}

impl OutEvent {
    /// How many records the event holds.
    pub fn record_count(&self) -> usize {
        self.records.len()
    }
}

/// Builds the events for `positions` (indices into `records`, in order: one partition's
/// records of one invocation). With [`Packing::Array`] an event's body stays within `bound`
/// bytes, less what its properties take, unless it holds a single record that is larger.
pub fn pack(
    records: &Records,
    positions: &[usize],
    packing: Packing,
    bound: usize,
) -> Vec<OutEvent> {
    match packing {
        Packing::None => positions
            .iter()
            .enumerate()
            .map(|(at, &index)| single(records, &records[index], at))
            .collect(),
        Packing::Array { .. } => pack_arrays(records, positions, bound),
    }
}

/// One record as its own event, exactly as the bridge sent records before packing.
fn single(records: &Records, record: &Record, at: usize) -> OutEvent {
    OutEvent {
        body: records.bytes(record).to_vec(),
        message_id: record.message_id(),
        records: at..at + 1,
        origin: Some(record.origin.clone()),
        packed: false,
        format: record.origin.format,
    }
}

fn pack_arrays(records: &Records, positions: &[usize], bound: usize) -> Vec<OutEvent> {
    let mut events = Vec::new();
    // Bytes still to pack (texts and commas), so each body is sized once, never regrown.
    let mut remaining: usize = positions.iter().map(|&i| records[i].len() + 1).sum();
    let mut open: Option<(OutEvent, usize)> = None;
    for (at, &index) in positions.iter().enumerate() {
        let record = &records[index];
        let text = records.bytes(record);
        if let Some((event, limit)) = &mut open {
            // `,` before the record and `]` after it.
            if event.body.len() + text.len() + 2 <= *limit {
                event.body.push(b',');
                event.body.extend_from_slice(text);
                event.records.end = at + 1;
                if event
                    .origin
                    .as_ref()
                    .is_some_and(|origin| !Arc::ptr_eq(origin, &record.origin))
                {
                    event.origin = None;
                }
                remaining -= text.len() + 1;
                continue;
            }
        }
        if let Some((event, _)) = open.take() {
            events.push(close(event));
        }
        let limit = body_limit(bound, record);
        let mut body = Vec::with_capacity((remaining + 1).min(limit));
        body.push(b'[');
        body.extend_from_slice(text);
        remaining -= text.len() + 1;
        let mut message_id = String::with_capacity(record.origin.event_id.as_str().len() + 12);
        record.write_message_id(&mut message_id);
        let event = OutEvent {
            body,
            message_id,
            records: at..at + 1,
            origin: Some(record.origin.clone()),
            packed: true,
            format: record.origin.format,
        };
        open = Some((event, limit));
    }
    if let Some((event, _)) = open {
        events.push(close(event));
    }
    events
}

/// Closes the array and completes the message id with the record count.
fn close(mut event: OutEvent) -> OutEvent {
    event.body.push(b']');
    event.message_id.push('+');
    let count = event.records.len();
    event.message_id.push_str(itoa::Buffer::new().format(count));
    event
}

/// The most body bytes an event that starts with `first` may hold: the bound, less what its
/// properties and message id may take.
fn body_limit(bound: usize, first: &Record) -> usize {
    let origin = &first.origin;
    let ids = [
        Some(origin.event_id.as_str()),
        origin.source.as_ref().map(|s| s.as_str()),
        Some(origin.type_name.as_ref()),
    ];
    // The message id repeats the event id; every id past its allowance takes its excess.
    let excess: usize = ids
        .iter()
        .flatten()
        .map(|id| id.len().saturating_sub(ID_ALLOWANCE))
        .sum::<usize>()
        + origin.event_id.as_str().len().saturating_sub(ID_ALLOWANCE);
    bound.saturating_sub(PROPERTY_ALLOWANCE + 3 * ID_ALLOWANCE + excess)
}

/// What a list of events costs: how many, their body bytes, and Event Hubs billing units
/// (each event counts one unit per started 64 KB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCost {
    /// Events.
    pub events: usize,
    /// Body bytes in all.
    pub bytes: usize,
    /// Billable 64 KB units.
    pub units: usize,
}

impl EventCost {
    /// Adds one event of `bytes` body bytes.
    pub fn add(&mut self, bytes: usize) {
        self.events += 1;
        self.bytes += bytes;
        self.units += bytes.max(1).div_ceil(BILLING_UNIT);
    }
}

/// The size of an Event Hubs billing unit of ingress.
pub const BILLING_UNIT: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adt::{EventId, TwinId};
    use crate::time::Timestamp;
    use proptest::prelude::*;

    /// The records an event body holds: the array's elements, or the body itself when it is
    /// one record, as the consumers unroll it.
    fn unroll(body: &[u8]) -> Vec<String> {
        let text = std::str::from_utf8(body).unwrap();
        if text.starts_with('[') {
            let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(text).unwrap();
            items.iter().map(|item| item.get().to_owned()).collect()
        } else {
            vec![text.to_owned()]
        }
    }

    /// Records of `sizes` bytes each, from events of three records each, on two twins.
    fn records(sizes: &[usize]) -> Records {
        let now = Timestamp::parse_time("2026-05-01T12:00:00Z").unwrap();
        let mut records = Records::new();
        let mut origin = None;
        for (n, &size) in sizes.iter().enumerate() {
            if n % 3 == 0 {
                origin = Some(Arc::new(Origin {
                    event_id: EventId::parse(&format!("event-{n}")).unwrap(),
                    source: None,
                    type_name: Arc::from("Microsoft.DigitalTwins.Twin.Update"),
                    format: RecordFormat::Tsi,
                }));
            }
            let twin = TwinId::parse(if n % 2 == 0 { "a" } else { "b" }).unwrap();
            let head = format!("{{\"$dtId\":\"{twin}\",\"n\":{n},\"pad\":\"");
            let pad = "x".repeat(size.saturating_sub(head.len() + 2));
            let text = format!("{head}{pad}\"}}");
            records.push_text(&twin, n % 3, now, origin.as_ref().unwrap(), &text);
        }
        records
    }

    fn array(bound: usize) -> Packing {
        Packing::Array {
            max_event_bytes: bound,
        }
    }

    proptest! {
        #[test]
        fn unrolling_gives_back_every_record_in_order_and_no_event_passes_the_bound(
            sizes in prop::collection::vec(20usize..3_000, 0..60),
            bound in 1_024usize..8_192,
        ) {
            let records = records(&sizes);
            let positions: Vec<usize> = (0..records.len()).collect();
            let events = pack(&records, &positions, array(bound), bound);
            let mut unrolled = Vec::new();
            let mut next = 0;
            for event in &events {
                prop_assert_eq!(event.records.start, next, "events follow each other");
                next = event.records.end;
                prop_assert!(
                    event.body.len() <= bound || event.record_count() == 1,
                    "{} bytes of {} records over the bound {}", event.body.len(), event.record_count(), bound
                );
                let first = &records[event.records.start];
                prop_assert_eq!(&event.message_id, &format!("{}+{}", first.message_id(), event.record_count()));
                let one_source = records_of(&records, event).all(|r| Arc::ptr_eq(&r.origin, &first.origin));
                prop_assert_eq!(event.origin.is_some(), one_source);
                unrolled.extend(unroll(&event.body));
            }
            prop_assert_eq!(next, records.len());
            let texts: Vec<&str> = records.with_bodies().map(|(_, body)| body).collect();
            prop_assert_eq!(unrolled, texts);
        }

        #[test]
        fn one_record_per_event_when_packing_is_off(
            sizes in prop::collection::vec(20usize..3_000, 0..20),
        ) {
            let records = records(&sizes);
            let positions: Vec<usize> = (0..records.len()).collect();
            let events = pack(&records, &positions, Packing::None, 1_024);
            prop_assert_eq!(events.len(), records.len());
            for (event, (record, body)) in events.iter().zip(records.with_bodies()) {
                prop_assert_eq!(event.body.as_slice(), body.as_bytes());
                prop_assert_eq!(&event.message_id, &record.message_id());
                prop_assert!(!event.packed);
            }
        }
    }

    fn records_of<'r>(records: &'r Records, event: &OutEvent) -> impl Iterator<Item = &'r Record> {
        let range = event.records.clone();
        range.map(move |at| &records[at])
    }

    #[test]
    fn a_partitions_records_fill_events_in_order() {
        // 10 records of 400 bytes under a 2,048-byte bound, less the properties' room.
        let records = records(&[400; 10]);
        let positions: Vec<usize> = (0..10).collect();
        let events = pack(&records, &positions, array(2_048), 2_048);
        let counts: Vec<usize> = events.iter().map(OutEvent::record_count).collect();
        assert_eq!(counts, [4, 4, 2]);
        assert_eq!(events[0].message_id, "event-0:0+4");
        assert_eq!(events[1].message_id, "event-3:1+4");
        // A record larger than the bound goes alone.
        let records = records_with_big_middle();
        let events = pack(&records, &[0, 1, 2], array(1_024), 1_024);
        let counts: Vec<usize> = events.iter().map(OutEvent::record_count).collect();
        assert_eq!(counts, [1, 1, 1]);
        assert!(events[1].body.len() > 1_024);
    }

    fn records_with_big_middle() -> Records {
        records(&[100, 5_000, 100])
    }
}
