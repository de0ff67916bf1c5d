//! Host-shaped `POST /TwinUpdatesEventHub` bodies, rendered once as a template and stamped with
//! each batch's number, so the generator spends its time waiting on the server, not building JSON.

use serde_json::json;

use crate::support::{event_hub_request, twin_update, HubRequestOptions};

/// Digits of the batch number inside every event id (`evt-<batch>-<event>`).
const BATCH_DIGITS: usize = 12;
/// The batch number the template is rendered with; every copy overwrites it.
const PLACEHOLDER: &str = "evt-000000000000-";

/// A request body with the places of its batch numbers.
pub struct BatchTemplate {
    body: Vec<u8>,
    /// Offsets of the first batch digit of every event id in `body`.
    digits_at: Vec<usize>,
    size: usize,
}

/// The id of event `event` of batch `batch`.
pub fn event_id(batch: u64, event: usize) -> String {
    format!("evt-{batch:0width$}-{event:04}", width = BATCH_DIGITS)
}

/// The message ids the handler gives the records of a batch: these updates make one record per
/// event, numbered 0.
pub fn expected_message_ids(batch: u64, size: usize) -> impl Iterator<Item = String> {
    (0..size).map(move |event| format!("{}:0", event_id(batch, event)))
}

impl BatchTemplate {
    /// `size` twin updates (two properties each) spread over `twins` twins, in the host's current
    /// encoding (metadata arrays as JSON text).
    pub fn new(size: usize, twins: usize) -> Self {
        let events: Vec<_> = (0..size)
            .map(|i| {
                let twin = format!("GrindingStep-{}", i % twins.max(1));
                let patch = json!([
                    {"op": "replace", "path": "/ChasisTemperature", "value": 200.0 + (i % 10) as f64},
                    {"op": "replace", "path": "/PowerUsage", "value": 70}
                ]);
                let mut event = twin_update(i, &twin, patch);
                event.properties["cloudEvents:id"] = json!(event_id(0, i));
                event
            })
            .collect();
        let body = event_hub_request(&events, HubRequestOptions::default())
            .to_string()
            .into_bytes();
        let finder = PLACEHOLDER.as_bytes();
        let digits_at: Vec<usize> = body
            .windows(finder.len())
            .enumerate()
            .filter(|(_, window)| *window == finder)
            .map(|(at, _)| at + "evt-".len())
            .collect();
        assert_eq!(digits_at.len(), size, "every event id appears once");
        BatchTemplate {
            body,
            digits_at,
            size,
        }
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
        body
    }
}
