//! The bodies of the fuzz targets, shared by the libFuzzer binaries in `fuzz_targets/` and by
//! the replay of saved findings in `tests/fuzz_regressions.rs`, which includes this file by path:
//! it uses nothing the main crate's tests lack, so a saved input runs on stable exactly as it ran
//! under the fuzzer.
//!
//! Each target takes raw bytes, makes the calls the handler makes, asserts the invariants that
//! hold for any input (see `check`), and returns a one-line verdict that the replay compares with
//! the expected one.

mod check;
mod input;
mod reference;

use adt_bridge::adt::{
    decode_broker_message, decode_event_grid, decode_event_hub, Decoded, EventGridEvent,
    EventHubMessage, EventKinds,
};
use adt_bridge::host::encoding::{json_array, json_value, text};
use adt_bridge::host::{EnvelopeError, InvocationRequest, MessageBatch};
use adt_bridge::records::{process, BatchOutcome, TransformOptions};
use adt_bridge::time::Timestamp;
use serde_json::Value;

pub use input::Bytes;

/// The targets, by the names of their binaries and of their seed and regression folders.
pub const TARGETS: [&str; 4] = [
    "envelope",
    "transform_event_hub",
    "transform_event_grid",
    "request_end_to_end",
];

/// Runs the target named `target` on `data`.
pub fn run(target: &str, data: &[u8]) -> String {
    match target {
        "envelope" => envelope(data),
        "transform_event_hub" => transform_event_hub(data),
        "transform_event_grid" => transform_event_grid(data),
        "request_end_to_end" => request_end_to_end(data),
        other => panic!("no fuzz target {other:?}"),
    }
}

/// A host request body through `InvocationRequest::parse`, both trigger readers and the
/// metadata helpers they use; the Event Hub and Service Bus batches must be exactly what the
/// reference decoder (`reference.rs`, every value read into a `Value`) makes of the same body.
pub fn envelope(data: &[u8]) -> String {
    let reference = reference::Envelope::parse(data);
    let mut buffer = Vec::new();
    let request = match InvocationRequest::parse(data, &mut buffer) {
        Ok(request) => request,
        Err(error) => {
            assert!(matches!(error, EnvelopeError::NotAnEnvelope(_)));
            assert!(
                reference.is_none(),
                "the reference reads a refused envelope"
            );
            return "not-an-envelope".into();
        }
    };
    let reference = reference.expect("the reference reads every envelope the decoder reads");
    for value in reference.data.values().chain(reference.metadata.values()) {
        host_encoding(value);
    }
    let now = request.utc_now();
    now.iter().for_each(check::timestamp);
    assert_eq!(
        now.map(|t| t.to_string()),
        reference.utc_now().map(|t| t.to_string())
    );
    let retry = request.retry_count();
    assert_eq!(retry, reference.retry_count());
    let hub = match request.event_hub_batch("events") {
        Ok(batch) => {
            same_batch(&batch, reference.batch("events", &reference::EVENT_HUB));
            event_hub_batch(&reference, &batch);
            let misaligned = if batch.misaligned { " misaligned" } else { "" };
            format!("{} events{misaligned}", batch.len())
        }
        Err(error) => {
            assert_eq!(
                reference.batch("events", &reference::EVENT_HUB).err(),
                Some(error.clone())
            );
            envelope_error(&error).into()
        }
    };
    match request.service_bus_batch("messages") {
        Ok(batch) => same_batch(&batch, reference.batch("messages", &reference::SERVICE_BUS)),
        Err(error) => assert_eq!(
            reference.batch("messages", &reference::SERVICE_BUS).err(),
            Some(error)
        ),
    }
    let grid = match request.event_grid_event("event") {
        // Text that holds no event comes back as it is, for the decoder to call unusable.
        Ok(Value::String(raw)) => {
            assert_eq!(reference.data["event"], Value::String(raw));
            "text".to_owned()
        }
        Ok(_) => "event".to_owned(),
        Err(error) => envelope_error(&error).into(),
    };
    let now = now.map_or_else(|| "-".to_owned(), |t| t.to_string());
    let retry = retry.map_or_else(|| "-".to_owned(), |n| n.to_string());
    format!("hub={hub} grid={grid} now={now} retry={retry}")
}

/// The batch holds exactly the reference's messages: bodies, properties, enqueued times (to the
/// digit), broker message ids, and the same alignment note; and each message decodes alike from
/// either form.
fn same_batch(batch: &MessageBatch<'_>, reference: Result<reference::Batch, EnvelopeError>) {
    let reference = reference.expect("the reference reads the batch");
    assert_eq!(batch.misaligned, reference.misaligned, "misaligned");
    assert_eq!(batch.to_messages(), reference.messages);
    for (n, (message, expected)) in batch.messages().zip(&reference.messages).enumerate() {
        let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
        assert_eq!(time(message.enqueued_time), time(expected.enqueued_time));
        let id = reference.message_ids.get(n).cloned().flatten();
        assert_eq!(message.message_id, id.as_deref(), "message id {n}");
        if id.is_none() {
            let kinds = EventKinds::all();
            assert_eq!(
                decode_broker_message(&message, kinds),
                decode_event_hub(expected, kinds)
            );
        }
    }
}

fn envelope_error(error: &EnvelopeError) -> &'static str {
    match error {
        EnvelopeError::NotAnEnvelope(_) => "not-an-envelope",
        EnvelopeError::MissingBinding(_) => "missing-binding",
        EnvelopeError::WrongBinding { .. } => "wrong-binding",
    }
}

/// The host's encoding rules, undone: a value reads the same in its plain form, as JSON text
/// (how the host sends numbers, booleans and arrays), and as quoted JSON text.
fn host_encoding(value: &Value) {
    let scalar = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
    assert_eq!(text(value).is_some(), scalar);
    match value {
        Value::String(plain) => {
            let quoted = Value::String(value.to_string());
            assert_eq!(text(&quoted).as_deref(), Some(plain.as_str()));
        }
        other => {
            let as_text = Value::String(other.to_string());
            let quoted = Value::String(as_text.to_string());
            assert_eq!(json_value(other).as_ref(), Some(other));
            assert_eq!(json_value(&as_text).as_ref(), Some(other));
            assert_eq!(json_value(&quoted).as_ref(), Some(other));
            if scalar {
                assert_eq!(text(&as_text), text(other));
            }
        }
    }
    let array = json_array(value);
    match json_value(value) {
        Some(Value::Array(items)) => assert_eq!(array, Some(items)),
        _ => assert_eq!(array, None),
    }
}

/// An Event Hub batch holds one event per body, and is flagged misaligned exactly when a
/// metadata array has another length.
fn event_hub_batch(request: &reference::Envelope, batch: &MessageBatch<'_>) {
    let count = batch.len();
    for message in batch.messages() {
        if let Some(time) = &message.enqueued_time {
            assert!(!time.is_placeholder());
            check::timestamp(time);
        }
    }
    match json_array(&request.data["events"]) {
        Some(bodies) => {
            assert_eq!(count, bodies.len());
            // The system properties are only read for a missing enqueued time: not counted.
            let misaligned = ["PropertiesArray", "EnqueuedTimeUtcArray"]
                .into_iter()
                .filter_map(|key| request.metadata.get(key).and_then(json_array))
                .any(|array| array.len() != count);
            assert_eq!(batch.misaligned, misaligned);
        }
        None => {
            assert_eq!(count, 1, "one body (cardinality one)");
            assert!(!batch.misaligned);
        }
    }
}

/// One Event Hub message (selector bytes for its properties, then its body; see `input`) through
/// `decode_event_hub` and `records::process`, in every format.
pub fn transform_event_hub(data: &[u8]) -> String {
    let (message, kinds) = input::event_hub_message(&mut Bytes::new(data));
    let verdicts = check::option_sets(kinds).map(|options| {
        let decode = |message: &EventHubMessage| decode_event_hub(message, options.decoded_kinds());
        let decoded = vec![decode(&message)];
        assert_eq!(decoded[0], decode(&message), "decoding is deterministic");
        transformed(&decoded, &options, check::now())
    });
    verdicts.join("; ")
}

/// A JSON event through `decode_event_grid` and `records::process`, in every format; the same
/// event as an Event Hub body without properties (structured mode) must decode alike.
pub fn transform_event_grid(data: &[u8]) -> String {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return "not-json".into();
    };
    let structured = EventHubMessage {
        body: data.to_vec(),
        ..EventHubMessage::default()
    };
    let verdicts = check::option_sets(EventKinds::all()).map(|options| {
        let kinds = options.decoded_kinds();
        let decoded = vec![decode_event_grid(&event, kinds)];
        assert_eq!(
            decode_event_hub(&structured, kinds),
            decoded[0],
            "a structured event decodes alike from either transport"
        );
        transformed(&decoded, &options, check::now())
    });
    verdicts.join("; ")
}

/// Transforms decoded events twice (the second must match: redeliveries get the same records and
/// message ids), checks the outcome, and describes it.
fn transformed(decoded: &[Decoded], options: &TransformOptions, now: Timestamp) -> String {
    let outcome = process(decoded.iter().cloned(), options, now);
    let again = process(decoded.iter().cloned(), options, now);
    assert_eq!(outcome, again, "the transform is deterministic");
    check::outcome(decoded, &outcome, options, now);
    verdict(options, &outcome)
}

fn verdict(options: &TransformOptions, outcome: &BatchOutcome) -> String {
    format!("{}: {}", options.format, outcome.summary)
}

/// A whole host request as the handler takes it: the envelope, then the Event Hub batch or the
/// Event Grid event, decoded and transformed in every format, with what the answer and the dead
/// letters read from the outcome.
pub fn request_end_to_end(data: &[u8]) -> String {
    let mut buffer = Vec::new();
    let Ok(request) = InvocationRequest::parse(data, &mut buffer) else {
        return "not-an-envelope".into();
    };
    let now = request.utc_now().unwrap_or_else(check::now);
    let _ = request.retry_count();
    let mut verdicts = Vec::new();
    if let Ok(batch) = request.event_hub_batch("events") {
        for options in check::option_sets(EventKinds::all()) {
            let decode = |m| decode_broker_message(&m, options.decoded_kinds());
            let outcome = process(batch.messages(), &options, now);
            let decoded: Vec<Decoded> = batch.messages().map(decode).collect();
            check::outcome(&decoded, &outcome, &options, now);
            for (index, _) in &outcome.unusable {
                let body = batch.body(*index);
                let _ = String::from_utf8_lossy(&body[..body.len().min(1024)]);
                let _ = batch.properties(*index);
            }
            verdicts.push(format!("hub {}", verdict(&options, &outcome)));
        }
    }
    if let Ok(event) = request.event_grid_event("event") {
        for options in check::option_sets(EventKinds::all()) {
            let decoded = vec![decode_event_grid(&event, options.decoded_kinds())];
            let outcome = process([EventGridEvent(&event)], &options, now);
            check::outcome(&decoded, &outcome, &options, now);
            let _ = serde_json::to_vec(&event).expect("an event serializes");
            verdicts.push(format!("grid {}", verdict(&options, &outcome)));
        }
    }
    if verdicts.is_empty() {
        "no trigger".into()
    } else {
        verdicts.join("; ")
    }
}
