//! The Event Hubs sink: records to the records hub, keyed by twin, packed and batched by
//! partition, and unusable input to the optional dead-letter hub.
//!
//! Each twin's partition is the one the service would pick for the twin id as a partition key, and
//! a twin's records stay in order on one partition. One invocation's records for one partition
//! become as few events as the packing bound allows (see `packing`); each partition has a lane
//! that sends the events of all invocations in flight together (see `lanes`): one transfer per
//! partition per round trip however many invocations are waiting.

mod batching;
mod lanes;
mod producer;

use std::time::Duration;

use azure_messaging_eventhubs::models::EventData;
use azure_messaging_eventhubs::{EventDataBatchOptions, RetryOptions};
use futures_util::future::{join_all, BoxFuture, FutureExt};
use serde_json::Value;

use batching::send_in_batches;
pub use producer::{credential, credential_choice, CredentialChoice};
use producer::{HubProducer, Opened};

use super::packing::{pack, OutEvent};
use super::partition::positions_by_partition;
use super::{DeadLetter, Delivery, RecordSink, SinkError};
use crate::config::delivery::Packing;
use crate::config::eventhubs::HubSettings;
use crate::records::Records;

/// Retries inside one invocation stay short: past them the invocation fails and the host's own
/// retry policy (exponential backoff, forever) takes over without holding the batch in memory.
pub fn default_retry() -> RetryOptions {
    RetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(200),
        max_delay: azure_core::time::Duration::seconds(5),
        max_total_elapsed: azure_core::time::Duration::seconds(20),
        max_retries: 4,
    }
}

/// Records and dead letters to Event Hubs.
pub struct EventHubsSink {
    records: HubProducer,
    dead_letters: Option<HubProducer>,
    packing: Packing,
}

/// How long one send may take in all: the SDK's retries, plus slack. The SDK can wait forever for
/// the settlement of a transfer whose connection died, so every send runs under this deadline.
fn deadline(retry: &RetryOptions) -> Duration {
    let retries = Duration::from_millis(retry.max_total_elapsed.whole_milliseconds().max(0) as u64);
    retries + Duration::from_secs(2)
}

/// Runs a send under the deadline; running out of time counts as an unreachable hub.
async fn within<T>(
    limit: Duration,
    send: impl std::future::Future<Output = Result<T, SinkError>>,
) -> Result<T, SinkError> {
    tokio::time::timeout(limit, send).await.unwrap_or_else(|_| {
        Err(SinkError::Unreachable(format!(
            "no answer from the event hub within {} s",
            limit.as_secs()
        )))
    })
}

impl EventHubsSink {
    /// A sink for the records hub and, when named, a dead-letter hub on the same connection,
    /// packing records as `packing` says. Nothing is opened until the first send.
    pub fn new(
        records: HubSettings,
        dead_letter_hub: Option<String>,
        retry: RetryOptions,
        packing: Packing,
    ) -> Self {
        let dead_letters = dead_letter_hub.map(|hub| {
            let settings = HubSettings {
                connection: records.connection.clone(),
                hub,
            };
            HubProducer::new(settings, retry.clone())
        });
        EventHubsSink {
            records: HubProducer::new(records, retry),
            dead_letters,
            packing,
        }
    }

    /// Closes the open connections.
    pub async fn close(&self) {
        self.records.close().await;
        if let Some(dead_letters) = &self.dead_letters {
            dead_letters.close().await;
        }
    }

    async fn send_records(&self, records: &Records) -> Result<Delivery, SinkError> {
        if records.is_empty() {
            return Ok(Delivery::default());
        }
        let packing = self.packing;
        self.records
            .run(|opened| async move { send_by_partition(&opened, records, packing).await })
            .await
    }

    async fn send_dead_letters(&self, letters: &[DeadLetter]) -> Result<usize, SinkError> {
        let Some(producer) = &self.dead_letters else {
            return Ok(0);
        };
        producer
            .run(|opened| async move { send_letters(&opened, letters).await })
            .await
    }
}

impl RecordSink for EventHubsSink {
    fn send<'a>(&'a self, records: &'a Records) -> BoxFuture<'a, Result<Delivery, SinkError>> {
        self.send_records(records).boxed()
    }

    fn dead_letter<'a>(
        &'a self,
        letters: &'a [DeadLetter],
    ) -> BoxFuture<'a, Result<usize, SinkError>> {
        self.send_dead_letters(letters).boxed()
    }
}

impl OutEvent {
    /// The Event Hubs event, taking the body as it is.
    pub(super) fn into_event_data(self) -> EventData {
        let properties = self.properties();
        event_data(self.body, self.message_id, properties)
    }

    /// The Event Hubs event, with a copy of the body (the event stays, to be sent again).
    pub(super) fn to_event_data(&self) -> EventData {
        event_data(
            self.body.clone(),
            self.message_id.clone(),
            self.properties(),
        )
    }

    /// `recordFormat`; `recordCount` when packed; the source event's `cloudEvents:*` when every
    /// record comes from one event.
    fn properties(&self) -> Vec<(&'static str, Property)> {
        let mut properties = Vec::with_capacity(5);
        if let Some(origin) = &self.origin {
            properties.push((
                "cloudEvents:id",
                Property::Text(origin.event_id.to_string()),
            ));
            properties.push((
                "cloudEvents:type",
                Property::Text(origin.type_name.to_string()),
            ));
            if let Some(source) = &origin.source {
                properties.push(("cloudEvents:source", Property::Text(source.to_string())));
            }
        }
        properties.push(("recordFormat", Property::Static(self.format.as_str())));
        if self.packed {
            properties.push(("recordCount", Property::Count(self.record_count() as i64)));
        }
        properties
    }
}

/// An application property's value.
enum Property {
    Text(String),
    Static(&'static str),
    Count(i64),
}

fn event_data(
    body: Vec<u8>,
    message_id: String,
    properties: Vec<(&'static str, Property)>,
) -> EventData {
    let mut builder = EventData::builder()
        .with_body(body)
        .with_content_type("application/json".to_owned())
        .with_message_id(message_id);
    for (key, value) in properties {
        builder = match value {
            Property::Text(text) => builder.add_property(key.to_owned(), text),
            Property::Static(text) => builder.add_property(key.to_owned(), text),
            Property::Count(count) => builder.add_property(key.to_owned(), count),
        };
    }
    builder.build()
}

#[tracing::instrument(skip_all, fields(records = records.len(), partitions = opened.partitions.len()))]
async fn send_by_partition(
    opened: &Opened,
    records: &Records,
    packing: Packing,
) -> Result<Delivery, SinkError> {
    let twins = records.iter().map(|record| record.twin_id.as_str());
    let groups = positions_by_partition(twins, opened.partitions.len());
    let bound = opened.packed_event_bound(packing);
    let sends = groups
        .iter()
        .enumerate()
        .filter(|(_, indices)| !indices.is_empty())
        .map(|(lane, indices)| {
            send_partition(
                opened,
                lane,
                pack(records, indices, packing, bound),
                indices,
            )
        });
    let mut delivery = Delivery::default();
    for result in join_all(sends).await {
        let part = result?;
        delivery.sent += part.sent;
        delivery.events += part.events;
        delivery.too_large.extend(part.too_large);
    }
    delivery.too_large.sort_unstable();
    Ok(delivery)
}

/// Hands one partition's events, in order, to its lane, which sends them with those of the
/// other invocations in flight. `indices` maps the events' record positions to the batch's.
async fn send_partition(
    opened: &Opened,
    lane: usize,
    events: Vec<OutEvent>,
    indices: &[usize],
) -> Result<Delivery, SinkError> {
    let spans: Vec<std::ops::Range<usize>> = events.iter().map(|e| e.records.clone()).collect();
    let done = opened.lanes.send(lane, events).await?;
    let too_large: Vec<usize> = done
        .too_large
        .iter()
        .flat_map(|&event| spans[event].clone())
        .map(|position| indices[position])
        .collect();
    Ok(Delivery {
        sent: indices.len() - too_large.len(),
        events: done.sent,
        too_large,
    })
}

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

fn truncated(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

async fn send_letters(opened: &Opened, letters: &[DeadLetter]) -> Result<usize, SinkError> {
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

/// Sends prepared events to a hub with a partition key, for producers other than the bridge (the
/// simulator's `eventhub` mode writing ADT-shaped notifications to the twins hub).
pub struct KeyedWriter {
    producer: HubProducer,
}

impl KeyedWriter {
    /// A writer for one hub; nothing is opened until the first send.
    pub fn new(settings: HubSettings, retry: RetryOptions) -> Self {
        KeyedWriter {
            producer: HubProducer::new(settings, retry),
        }
    }

    /// Sends `events` in order under `partition_key`, in as few batches as the link allows.
    pub async fn send(&self, partition_key: &str, events: Vec<EventData>) -> Result<(), SinkError> {
        // Sent once: the events are moved into the batches, and the simulator's next tick
        // sends the next readings anyway.
        let opened = within(self.producer.deadline(), self.producer.get()).await?;
        let result = within(
            self.producer.deadline(),
            send_keyed(&opened, partition_key, events),
        )
        .await;
        if result.is_err() {
            self.producer.discard(&opened).await;
        }
        result
    }

    /// Closes the connection, if open.
    pub async fn close(&self) {
        self.producer.close().await;
    }
}

async fn send_keyed(
    opened: &Opened,
    partition_key: &str,
    events: Vec<EventData>,
) -> Result<(), SinkError> {
    let options = || {
        Some(EventDataBatchOptions {
            partition_key: Some(partition_key.to_owned()),
            ..Default::default()
        })
    };
    let done = send_in_batches(&opened.client, options, opened.link_max, events).await?;
    if done.too_large.is_empty() {
        Ok(())
    } else {
        Err(SinkError::NotAccepted(format!(
            "{} event(s) larger than the hub accepts",
            done.too_large.len()
        )))
    }
}
