//! Events in order into as few batches as the link's `max-message-size` allows: the one loop the
//! records, the dead letters and the keyed writer share.
//!
//! The SDK's `try_add_event_data` takes the event by value and drops it when it does not fit, so
//! asking it would mean cloning every event first. Instead each event's encoded size is bounded
//! from above here, and an event is offered to a batch only where that bound says it fits; only
//! the first event of a batch is offered on trust, and one refused by an empty batch can never
//! be sent (it is reported as too large, and the caller still holds what it was made from).

use azure_messaging_eventhubs::models::{AmqpSimpleValue, EventData, MessageId};
use azure_messaging_eventhubs::{
    error::ErrorKind, EventDataBatch, EventDataBatchOptions, ProducerClient, SendEventOptions,
};

use super::errors::classify;
use crate::sink::SinkError;

/// What a batched send did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Batched {
    /// Events accepted by the hub.
    pub sent: usize,
    /// Positions (in the input) of events too large for even an empty batch; nothing was sent for them.
    pub too_large: Vec<usize>,
}

/// The largest batch the bridge builds on the link to `options`' partition: 1 MiB (what
/// Standard and Premium hubs take, and more than a packed event ever needs), or the link's own
/// limit when it takes less (Basic: 256 KB). The SDK keeps the link's limit to itself, but names
/// it when asked for a larger batch.
pub(super) async fn link_max_size(
    client: &ProducerClient,
    options: Option<EventDataBatchOptions>,
) -> Result<u64, SinkError> {
    let probe = EventDataBatchOptions {
        max_size_in_bytes: Some(BATCH_BYTES),
        ..options.unwrap_or_default()
    };
    match client.create_batch(Some(probe)).await {
        Ok(_) => Ok(BATCH_BYTES),
        Err(error) => match error.kind {
            ErrorKind::InvalidBatchSize { max_allowed, .. } => Ok(max_allowed),
            _ => Err(classify(&error, None)),
        },
    }
}

/// The batch size asked of links that take at least this much.
const BATCH_BYTES: u64 = 1024 * 1024;

/// The most body bytes one event may have and still fit an empty batch on a link of
/// `link_max` bytes: the SDK counts a batch's first event twice (once for the envelope it
/// copies from it), and each event's framing and properties take their share.
pub(super) fn largest_single_body(link_max: u64) -> usize {
    let half = (link_max.saturating_sub(FRAMING) / 2) as usize;
    half - SINGLE_EVENT_RESERVE.min(half / 8)
}

/// The per-event framing the SDK adds in a batch (its 32-bit data section header).
const FRAMING: u64 = 8;
/// Room left beside a body for its properties when sizing the largest single body (an eighth
/// of it on links too small for this much).
const SINGLE_EVENT_RESERVE: usize = 4096;

/// Sends `events` in order, each batch made with `options`, never sending an empty batch.
/// `link_max` is the link's limit ([`link_max_size`]).
pub(super) async fn send_in_batches(
    client: &ProducerClient,
    options: impl Fn() -> Option<EventDataBatchOptions>,
    link_max: u64,
    events: Vec<EventData>,
) -> Result<Batched, SinkError> {
    let events = match send_single(client, &options, link_max, events).await {
        Single::Sent(done) => return done,
        Single::NotSingle(events) => events,
    };
    let key_len = options()
        .and_then(|o| o.partition_key)
        .map_or(0, |key| key.len() + 32);
    let mut batch = new_batch(client, &options).await?;
    let mut done = Batched::default();
    let mut in_batch = 0;
    for (position, event) in events.into_iter().enumerate() {
        let size = (encoded_size_bound(&event) + key_len) as u64;
        if in_batch > 0 && batch.size() + size + FRAMING > link_max {
            done.sent += send(client, batch, in_batch).await?;
            batch = new_batch(client, &options).await?;
            in_batch = 0;
        }
        let added = batch
            .try_add_event_data(event, None)
            .map_err(|e| classify(&e, None))?;
        match (added, in_batch) {
            (true, _) => in_batch += 1,
            (false, 0) => done.too_large.push(position),
            // The bound above said it fits; the SDK disagreeing means the bound is wrong, and
            // the event is gone: fail, so the invocation is retried rather than lose it.
            (false, _) => {
                return Err(SinkError::NotAccepted(
                    "an event's size was underestimated; the batch refused it".into(),
                ))
            }
        }
    }
    done.sent += send(client, batch, in_batch).await?;
    Ok(done)
}

/// What [`send_single`] did with the events.
enum Single {
    /// It sent them: one event that surely fits an empty batch, sent as a plain message.
    Sent(Result<Batched, SinkError>),
    /// It left them to batches.
    NotSingle(Vec<EventData>),
}

/// Sends one event that surely fits an empty batch as a plain message to its partition: the SDK
/// encodes an event it adds to a batch twice, to size it, and again as the batch goes out, while
/// a plain message is encoded once. Several events, an event under a partition key (which only
/// a batch sets), or one the bound cannot place in an empty batch are left to batches, so that
/// what is too large stays the same whether an event goes alone or with others.
async fn send_single(
    client: &ProducerClient,
    options: &impl Fn() -> Option<EventDataBatchOptions>,
    link_max: u64,
    mut events: Vec<EventData>,
) -> Single {
    let options = options().unwrap_or_default();
    // An empty batch counts its first event twice (once for the envelope copied from it).
    let fits = |event: &EventData| 2 * encoded_size_bound(event) as u64 + FRAMING <= link_max;
    if events.len() != 1 || options.partition_key.is_some() || !fits(&events[0]) {
        return Single::NotSingle(events);
    }
    let event = events.pop().expect("one event");
    let send = SendEventOptions {
        partition_id: options.partition_id,
    };
    Single::Sent(match client.send_event(event, Some(send)).await {
        Ok(()) => Ok(Batched {
            sent: 1,
            too_large: Vec::new(),
        }),
        Err(error) => Err(classify(&error, None)),
    })
}

async fn new_batch<'c>(
    client: &'c ProducerClient,
    options: &impl Fn() -> Option<EventDataBatchOptions>,
) -> Result<EventDataBatch<'c>, SinkError> {
    client
        .create_batch(options())
        .await
        .map_err(|e| classify(&e, None))
}

/// Sends a batch holding `count` events; an empty one is never sent.
async fn send(
    client: &ProducerClient,
    batch: EventDataBatch<'_>,
    count: usize,
) -> Result<usize, SinkError> {
    if count > 0 {
        client
            .send_batch(batch, None)
            .await
            .map_err(|e| classify(&e, None))?;
    }
    Ok(count)
}

/// An upper bound of the bytes the SDK counts for `event` in a batch: its AMQP encoding (body
/// section, message id, content type, application properties, section descriptors) with room
/// to spare for every length prefix.
pub(super) fn encoded_size_bound(event: &EventData) -> usize {
    let body = event.body().map_or(0, <[u8]>::len);
    let content_type = event.content_type().map_or(0, str::len);
    let message_id = event.message_id().map_or(0, |id| match id {
        MessageId::String(text) => text.len(),
        _ => 40,
    });
    let properties: usize = event.properties().map_or(0, |map| {
        map.iter()
            .map(|(key, value)| key.len() + value_size_bound(value) + 10)
            .sum()
    });
    // Header, properties and application-properties descriptors and list/map headers, the
    // data section's descriptor and length, a generated id's room: 128 bytes covers them.
    body + content_type + message_id + properties + 128
}

fn value_size_bound(value: &AmqpSimpleValue) -> usize {
    match value {
        AmqpSimpleValue::String(text) => text.len() + 5,
        AmqpSimpleValue::Symbol(symbol) => symbol.0.len() + 5,
        AmqpSimpleValue::Binary(bytes) => bytes.len() + 5,
        _ => 24,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_messaging_eventhubs::models::AmqpMessage;

    #[test]
    fn the_size_bound_covers_the_sdks_own_count() {
        // The SDK's count: the serialized message, plus 5 or 8 bytes of framing.
        for body in [0usize, 10, 255, 256, 70_000] {
            let event = EventData::builder()
                .with_body(vec![b'x'; body])
                .with_content_type("application/json".to_owned())
                .with_message_id(format!("{}:7+{body}", "e".repeat(40)))
                .add_property("cloudEvents:id".to_owned(), "e".repeat(40))
                .add_property("cloudEvents:source".to_owned(), "host.example")
                .add_property("recordCount".to_owned(), 7_i64)
                .build();
            let message: AmqpMessage = event.clone().into();
            let serialized = AmqpMessage::serialize(&message).unwrap().len();
            assert!(
                encoded_size_bound(&event) >= serialized + 8,
                "{body}: bound {} < {serialized} + 8",
                encoded_size_bound(&event)
            );
        }
    }

    #[test]
    fn a_single_body_fits_half_the_link() {
        assert_eq!(largest_single_body(1_048_576), 524_284 - 4096);
        assert_eq!(largest_single_body(8192), 4092 - 511);
        assert_eq!(largest_single_body(0), 0);
    }
}
