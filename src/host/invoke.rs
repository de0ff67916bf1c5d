//! One invocation of a twin-update function: envelope → notifications → records → sink → answer.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tracing::{debug, error, warn};

use super::answer::Answer;
use super::batch::MessageBatch;
use super::hold::send_holding;
use super::logged::{log_event, Attempts};
use super::request::InvocationRequest;
use crate::adt::{Decoded, EventGridEvent, Unusable, UnusableReason};
use crate::config::delivery::DEFAULT_DEADLETTER_ATTEMPTS;
use crate::config::DEFAULT_SERVICE_BUS_HOLD;
use crate::records::{process, BatchOutcome, Records, TransformOptions};
use crate::sink::{DeadLetter, RecordSink};
use crate::tick_delivery::Simulator;

/// The Event Hub triggered function's name (its folder under `functions/`) and binding.
pub const EVENT_HUB_FUNCTION: &str = "TwinUpdatesEventHub";
const EVENT_HUB_BINDING: &str = "events";
/// The Event Grid triggered function's name and binding.
pub const EVENT_GRID_FUNCTION: &str = "TwinUpdatesEventGrid";
const EVENT_GRID_BINDING: &str = "event";
/// The Service Bus triggered function's name and binding.
pub const SERVICE_BUS_FUNCTION: &str = "TwinUpdatesServiceBus";
const SERVICE_BUS_BINDING: &str = "messages";
/// How much of an unusable body goes into its log line.
const LOGGED_BODY_BYTES: usize = 1024;

/// What every invocation shares: the transform's options, where records go, the simulator.
pub struct App {
    /// Record format and the rest.
    pub options: TransformOptions,
    /// Records hub and dead letters.
    pub sink: Arc<dyn RecordSink>,
    /// The chocolate factory, when this process runs the simulator function.
    pub simulator: Option<Simulator>,
    /// `BRIDGE_DEADLETTER_ATTEMPTS`: from this attempt on, what can never be delivered (a dead
    /// letter the hub does not take, a request that cannot be read) is logged and succeeds.
    pub deadletter_attempts: u64,
    /// `BRIDGE_SERVICEBUS_HOLD`: how long a Service Bus invocation retries a failed records send.
    pub service_bus_hold: Duration,
    /// Attempts at input the host gives no attempt number for.
    pub(crate) attempts: Attempts,
}

impl App {
    /// An app with the default delivery settings and no simulator.
    pub fn new(options: TransformOptions, sink: Arc<dyn RecordSink>) -> Self {
        App {
            options,
            sink,
            simulator: None,
            deadletter_attempts: DEFAULT_DEADLETTER_ATTEMPTS,
            service_bus_hold: DEFAULT_SERVICE_BUS_HOLD,
            attempts: Attempts::default(),
        }
    }

    /// The same app running `simulator` for the timer function.
    pub fn with_simulator(mut self, simulator: Simulator) -> Self {
        self.simulator = Some(simulator);
        self
    }

    /// The same app with another `BRIDGE_SERVICEBUS_HOLD`.
    pub fn with_service_bus_hold(mut self, hold: Duration) -> Self {
        self.service_bus_hold = hold;
        self
    }

    /// The same app with another `BRIDGE_DEADLETTER_ATTEMPTS`.
    pub fn with_deadletter_attempts(mut self, attempts: u64) -> Self {
        self.deadletter_attempts = attempts;
        self
    }
}

/// `TwinUpdatesEventHub`: a batch of Event Hub events, read into what it sends.
pub fn event_hub(app: &App, request: &InvocationRequest<'_>) -> Result<Delivery, Answer> {
    let batch = request.event_hub_batch(EVENT_HUB_BINDING)?;
    Ok(messages(app, EVENT_HUB_FUNCTION, request, &batch, None))
}

/// `TwinUpdatesServiceBus`: a batch of Service Bus messages, read into what it sends. A failed
/// records send is retried for up to `hold` before the invocation fails (see [`send_holding`]).
pub fn service_bus(app: &App, request: &InvocationRequest<'_>) -> Result<Delivery, Answer> {
    let batch = request.service_bus_batch(SERVICE_BUS_BINDING)?;
    let hold = Some(app.service_bus_hold);
    Ok(messages(app, SERVICE_BUS_FUNCTION, request, &batch, hold))
}

/// A broker's batch: decoded and transformed.
fn messages(
    app: &App,
    function: &'static str,
    request: &InvocationRequest<'_>,
    batch: &MessageBatch<'_>,
    hold: Option<Duration>,
) -> Delivery {
    if batch.misaligned {
        warn!(
            events = batch.len(),
            "metadata arrays do not match the batch length; missing entries are empty"
        );
    }
    let outcome = process(batch.messages(), &app.options, request.now());
    // Only unusable events are dead-lettered with their properties: only theirs are read whole.
    let letters = outcome
        .unusable
        .iter()
        .map(|(index, unusable)| {
            unusable_event(
                *index,
                unusable,
                batch.body(*index),
                batch.properties(*index),
            )
        })
        .collect();
    Delivery {
        function,
        outcome,
        letters,
        hold,
        attempt: request.attempt(),
    }
}

/// `TwinUpdatesEventGrid`: one Event Grid event, in either schema, read into what it sends.
pub fn event_grid(app: &App, request: &InvocationRequest<'_>) -> Result<Delivery, Answer> {
    let event = request.event_grid_event(EVENT_GRID_BINDING)?;
    let (outcome, body) = match &event {
        Value::String(text) => (
            process(
                [Decoded::Unusable(not_an_event(text))],
                &app.options,
                request.now(),
            ),
            text.clone().into_bytes(),
        ),
        event => (
            process([EventGridEvent(event)], &app.options, request.now()),
            serde_json::to_vec(event).unwrap_or_default(),
        ),
    };
    let letters = outcome
        .unusable
        .iter()
        .map(|(index, unusable)| unusable_event(*index, unusable, &body, Map::new()))
        .collect();
    Ok(Delivery {
        function: EVENT_GRID_FUNCTION,
        outcome,
        letters,
        hold: None,
        attempt: request.attempt(),
    })
}

/// The verdict on an Event Grid binding that holds text instead of an event.
fn not_an_event(text: &str) -> Unusable {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => Unusable::new(
            UnusableReason::BodyNotObject,
            "the event is not a JSON object",
        ),
        Err(e) => Unusable::new(
            UnusableReason::BodyNotJson,
            format!("the event is not JSON: {e}"),
        ),
    }
}

/// What an invocation sends once its request is read: its records and dead letters, and what
/// its answer tells. It owns all of it, so that the request and its body are gone before the
/// network is waited on.
pub struct Delivery {
    function: &'static str,
    outcome: BatchOutcome,
    letters: Vec<DeadLetter>,
    hold: Option<Duration>,
    attempt: Option<u64>,
}

impl Delivery {
    /// Sends the records, dead-letters what is unusable (the letters, and records too large
    /// for the hub), and answers.
    pub async fn send(self, app: &App) -> Answer {
        let Delivery {
            function,
            outcome,
            mut letters,
            hold,
            attempt,
        } = self;
        for (index, twin_id, op) in &outcome.invalid_ops {
            warn!(event = index, twin_id = %twin_id, op = op.index, reason = %op.reason, "skipped a patch op");
        }
        let delivery = match send_holding(app.sink.as_ref(), &outcome.records, hold).await {
            Ok(delivery) => delivery,
            Err(e) => return failed(function, &e, &outcome),
        };
        let too_large = delivery.too_large.iter();
        letters.extend(too_large.map(|&index| too_large_record(&outcome.records, index)));
        let (dead_lettered, logged) = match dead_letter(app, function, attempt, &letters).await {
            Ok(counts) => counts,
            Err(error) => return failed(function, &error, &outcome),
        };
        let summary = format!(
            "{function}: {} sent={} hub_events={} too_large={} dead_lettered={dead_lettered} logged={logged} retry={}",
            outcome.summary,
            delivery.sent,
            delivery.events,
            delivery.too_large.len(),
            attempt.map_or_else(|| "-".to_owned(), |n| n.to_string()),
        );
        // The answer's `Logs` carry the summary, and the host logs them against the invocation;
        // at Information on stdout too, every invocation would be logged twice, once untied.
        debug!(
            events = outcome.summary.events,
            records = delivery.sent,
            unusable = outcome.unusable.len(),
            dead_lettered,
            "{summary}"
        );
        Answer::delivered(vec![summary])
    }
}

/// Sends the dead letters; returns how many went to the dead-letter hub and how many were
/// written to the log instead, or why the invocation must fail.
async fn dead_letter(
    app: &App,
    function: &str,
    attempt: Option<u64>,
    letters: &[DeadLetter],
) -> Result<(usize, usize), String> {
    if letters.is_empty() {
        return Ok((0, 0));
    }
    let error = match app.sink.dead_letter(letters).await {
        Ok(count) => return Ok((count, 0)),
        Err(error) => error,
    };
    // Failing again would hold the partition for good: from the bound on, the events are kept
    // in the log instead, and the invocation succeeds. Event Grid gives no attempt number: the
    // same events coming again are counted here.
    let attempt = attempt.unwrap_or_else(|| {
        let bodies = letters.iter().map(|letter| letter.body.as_slice());
        app.attempts
            .count(std::iter::once(function.as_bytes()).chain(bodies))
    });
    if attempt < app.deadletter_attempts {
        return Err(format!("dead letters not delivered: {error}"));
    }
    let why = format!("the dead-letter hub did not take it: {error}");
    for (index, letter) in letters.iter().enumerate() {
        log_event(index, letter, &why);
    }
    Ok((0, letters.len()))
}

/// The dead letter for an unusable input event, logged with the start of its body.
fn unusable_event(
    index: usize,
    unusable: &Unusable,
    body: &[u8],
    properties: Map<String, Value>,
) -> DeadLetter {
    let head = &body[..body.len().min(LOGGED_BODY_BYTES)];
    // Debug-formatted: the body and the detail come from the input, and a raw newline in them
    // would forge a log line of its own.
    error!(event = index, reason = %unusable.reason, detail = ?unusable.detail, body = ?String::from_utf8_lossy(head), "unusable event");
    DeadLetter {
        body: body.to_vec(),
        properties,
        reason: unusable.reason,
        detail: unusable.detail.clone(),
    }
}

/// The dead letter for a record too large for any event the records hub takes.
fn too_large_record(records: &Records, index: usize) -> DeadLetter {
    let record = &records[index];
    let body = records.bytes(record);
    let message_id = record.message_id();
    let head = String::from_utf8_lossy(&body[..body.len().min(LOGGED_BODY_BYTES)]);
    error!(twin_id = %record.twin_id, message_id = %message_id, bytes = body.len(), body = ?head, "record too large for the records hub");
    DeadLetter {
        body: body.to_vec(),
        properties: Map::new(),
        reason: UnusableReason::RecordTooLarge,
        detail: format!("record {message_id} of {} bytes", body.len()),
    }
}

fn failed(function: &str, error: &impl std::fmt::Display, outcome: &BatchOutcome) -> Answer {
    error!(
        %error,
        events = outcome.summary.events,
        records = outcome.records.len(),
        "delivery failed; the host will retry"
    );
    Answer::downstream_failure(function, "delivery failed, the host will retry", error)
}
