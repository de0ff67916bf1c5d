//! Events in order into as few batches as the link's `max-message-size` allows: the one loop the
//! records, the dead letters and the keyed writer share.

use azure_messaging_eventhubs::models::EventData;
use azure_messaging_eventhubs::{EventDataBatch, EventDataBatchOptions, ProducerClient};

use super::producer::classify;
use crate::sink::SinkError;

/// What a batched send did.
#[derive(Debug, Default)]
pub(super) struct Batched {
    /// Events accepted by the hub.
    pub sent: usize,
    /// Positions (in the input) of events too large for even an empty batch; nothing was sent for them.
    pub too_large: Vec<usize>,
}

/// Sends `events` in order, each batch made with `options`, never sending an empty batch.
pub(super) async fn send_in_batches(
    client: &ProducerClient,
    options: impl Fn() -> Option<EventDataBatchOptions>,
    events: impl IntoIterator<Item = EventData>,
) -> Result<Batched, SinkError> {
    let mut batch = client
        .create_batch(options())
        .await
        .map_err(|e| classify(&e, None))?;
    let mut done = Batched::default();
    let mut in_batch = 0;
    for (position, event) in events.into_iter().enumerate() {
        if add(&batch, &event)? {
            in_batch += 1;
            continue;
        }
        if in_batch > 0 {
            done.sent += send(client, batch, in_batch).await?;
            batch = client
                .create_batch(options())
                .await
                .map_err(|e| classify(&e, None))?;
            in_batch = 0;
            if add(&batch, &event)? {
                in_batch = 1;
                continue;
            }
        }
        done.too_large.push(position);
    }
    done.sent += send(client, batch, in_batch).await?;
    Ok(done)
}

fn add(batch: &EventDataBatch<'_>, event: &EventData) -> Result<bool, SinkError> {
    batch
        .try_add_event_data(event.clone(), None)
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

/// Whether `event` fits an empty batch made with `options` (nothing is sent).
pub(super) async fn fits_alone(
    client: &ProducerClient,
    options: Option<EventDataBatchOptions>,
    event: EventData,
) -> Result<bool, SinkError> {
    let batch = client
        .create_batch(options)
        .await
        .map_err(|e| classify(&e, None))?;
    batch
        .try_add_event_data(event, None)
        .map_err(|e| classify(&e, None))
}
