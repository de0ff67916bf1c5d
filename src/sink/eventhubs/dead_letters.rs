//! The dead-letter hub: each unusable event as it came, with its original properties and why,
//! cut down to what the hub takes when it is too large even alone.

use azure_messaging_eventhubs::models::EventData;
use serde_json::Value;

use super::batching::{self, send_in_batches};
use super::producer::Opened;
use crate::sink::DeadLetter;
use crate::sink::SinkError;
use crate::text::truncated;

/// The event for a dead letter: the raw body (its first `keep` bytes, when it must be cut to fit),
/// the original properties, and why.
fn letter_event(letter: &DeadLetter, keep: usize) -> EventData {
    let body = &letter.body[..keep.min(letter.body.len())];
    let mut builder = EventData::builder()
        .with_body(body.to_vec())
        .add_property("deadLetterReason".to_owned(), letter.reason.code())
        .add_property(
            "deadLetterDetail".to_owned(),
            truncated(&letter.detail, 512),
        );
    if body.len() < letter.body.len() {
        builder = builder.add_property(
            "deadLetterTruncatedFrom".to_owned(),
            letter.body.len() as i64,
        );
    }
    for (key, value) in &letter.properties {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        builder = builder.add_property(key.clone(), text);
    }
    builder.build()
}

pub(super) async fn send_letters(
    opened: &Opened,
    letters: &[DeadLetter],
) -> Result<usize, SinkError> {
    let client = &opened.client;
    let full: Vec<EventData> = letters
        .iter()
        .map(|letter| letter_event(letter, usize::MAX))
        .collect();
    let done = send_in_batches(client, || None, opened.link_max, full).await?;
    // Too large even alone: keep as much of the body as fits an event on its own.
    let room = batching::largest_single_body(opened.link_max);
    let cut: Vec<EventData> = done
        .too_large
        .iter()
        .map(|&position| {
            let letter = &letters[position];
            tracing::warn!(reason = %letter.reason, bytes = letter.body.len(), kept = room, "dead letter cut to fit the dead-letter hub");
            letter_event(letter, room)
        })
        .collect();
    let cut_done = send_in_batches(client, || None, opened.link_max, cut).await?;
    if !cut_done.too_large.is_empty() {
        tracing::error!(
            letters = cut_done.too_large.len(),
            "dead letter does not fit the dead-letter hub even cut down"
        );
    }
    Ok(done.sent + cut_done.sent)
}
