//! Host-shaped `POST /TwinUpdatesEventHub` bodies, rendered once as a template and stamped with
//! each batch's number, so the generator spends its time waiting on the server, not building JSON.
//!
//! The batch number goes into every event id (`evt-<batch>-<event>`) and into every event's time,
//! which becomes its record's `timestamp`: `2026-05-01T12:<mm>:<ss>.1<batch, 6 digits>Z`, where
//! `mm:ss` counts the event's place in the batch. A record is then known by its twin and
//! timestamp alone, whatever event carried it ([`RecordKey`]).

use serde_json::json;

use crate::support::{event_hub_request, twin_update, HubRequestOptions};

/// Digits of the batch number inside every event id (`evt-<batch>-<event>`).
const BATCH_DIGITS: usize = 12;
/// The batch number the template is rendered with; every copy overwrites it.
const PLACEHOLDER: &str = "evt-000000000000-";
/// Digits of the batch number in every event time's fraction (after a leading `1`).
const TIME_BATCH_DIGITS: usize = 6;
/// The fraction every event time is rendered with; every copy overwrites its last six digits.
const TIME_PLACEHOLDER: &str = ".1000000Z";
/// Events per batch with times of their own (`mm:ss` within one hour).
const MAX_BATCH_SIZE: usize = 3600;

/// A request body with the places of its batch numbers.
pub struct BatchTemplate {
    body: Vec<u8>,
    /// Offsets of the first batch digit of every event id in `body`.
    digits_at: Vec<usize>,
    /// Offsets of the first batch digit of every event time in `body`.
    time_digits_at: Vec<usize>,
    size: usize,
    twins: usize,
}

/// What identifies one record in a run: its twin and its timestamp, as `<twin> <timestamp>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey(String);

impl RecordKey {
    pub fn new(twin: &str, timestamp: &str) -> Self {
        RecordKey(format!("{twin} {timestamp}"))
    }

    /// The twin and the timestamp.
    #[cfg(test)]
    pub fn parts(&self) -> (&str, &str) {
        self.0.split_once(' ').expect("made by new")
    }
}

/// The id of event `event` of batch `batch`.
pub fn event_id(batch: u64, event: usize) -> String {
    format!("evt-{batch:0width$}-{event:04}", width = BATCH_DIGITS)
}

/// The twin event `event` of every batch updates.
fn twin_of(event: usize, twins: usize) -> String {
    format!("GrindingStep-{}", event % twins.max(1))
}

/// The time of event `event` of batch `batch`, which its record keeps as its `timestamp`.
fn event_time(batch: u64, event: usize) -> String {
    format!(
        "2026-05-01T12:{:02}:{:02}.1{batch:0width$}Z",
        event / 60,
        event % 60,
        width = TIME_BATCH_DIGITS
    )
}

impl BatchTemplate {
    /// `size` twin updates (two properties each) spread over `twins` twins, in the host's current
    /// encoding (metadata arrays as JSON text).
    pub fn new(size: usize, twins: usize) -> Self {
        assert!(
            size <= MAX_BATCH_SIZE,
            "at most {MAX_BATCH_SIZE} events per batch"
        );
        let events: Vec<_> = (0..size)
            .map(|i| {
                let twin = twin_of(i, twins);
                let patch = json!([
                    {"op": "replace", "path": "/ChasisTemperature", "value": 200.0 + (i % 10) as f64},
                    {"op": "replace", "path": "/PowerUsage", "value": 70}
                ]);
                let mut event = twin_update(i, &twin, patch);
                event.properties["cloudEvents:id"] = json!(event_id(0, i));
                event.properties["cloudEvents:time"] = json!(event_time(0, i));
                event
            })
            .collect();
        let body = event_hub_request(&events, HubRequestOptions::default())
            .to_string()
            .into_bytes();
        let digits_at = find(&body, PLACEHOLDER, "evt-".len());
        assert_eq!(digits_at.len(), size, "every event id appears once");
        let time_digits_at = find(&body, TIME_PLACEHOLDER, ".1".len());
        assert_eq!(time_digits_at.len(), size, "every event time appears once");
        BatchTemplate {
            body,
            digits_at,
            time_digits_at,
            size,
            twins,
        }
    }

    /// The records the handler makes of batch `batch`: one per event (each updates one twin).
    pub fn expected_records(&self, batch: u64) -> impl Iterator<Item = RecordKey> + '_ {
        (0..self.size).map(move |event| {
            RecordKey::new(&twin_of(event, self.twins), &event_time(batch, event))
        })
    }

    /// Events per batch.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The body of batch `batch`.
    pub fn render(&self, batch: u64) -> Vec<u8> {
        let mut body = self.body.clone();
        let digits = format!("{batch:0width$}", width = BATCH_DIGITS);
        assert_eq!(digits.len(), BATCH_DIGITS, "batch number too large");
        for &at in &self.digits_at {
            body[at..at + BATCH_DIGITS].copy_from_slice(digits.as_bytes());
        }
        let digits = format!("{batch:0width$}", width = TIME_BATCH_DIGITS);
        assert_eq!(digits.len(), TIME_BATCH_DIGITS, "batch number too large");
        for &at in &self.time_digits_at {
            body[at..at + TIME_BATCH_DIGITS].copy_from_slice(digits.as_bytes());
        }
        body
    }
}

/// Where `marker` occurs in `body`, each offset moved on by `skip`.
fn find(body: &[u8], marker: &str, skip: usize) -> Vec<usize> {
    let marker = marker.as_bytes();
    body.windows(marker.len())
        .enumerate()
        .filter(|(_, window)| *window == marker)
        .map(|(at, _)| at + skip)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_batch_carries_its_number_in_every_id_and_time() {
        let template = BatchTemplate::new(3, 2);
        let body = String::from_utf8(template.render(42)).unwrap();
        assert_eq!(body.matches("evt-000000000042-").count(), 3);
        assert_eq!(body.matches(".1000042Z").count(), 3);
        assert!(body.contains("2026-05-01T12:00:02.1000042Z"));
        let keys: Vec<RecordKey> = template.expected_records(42).collect();
        assert_eq!(
            keys[2],
            RecordKey::new("GrindingStep-0", "2026-05-01T12:00:02.1000042Z")
        );
    }
}
