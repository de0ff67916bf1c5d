//! The Event Hubs sink: records to the records hub, keyed by twin and batched by partition, and
//! unusable input to the optional dead-letter hub.
//!
//! Each twin's partition is the one the service would pick for the twin id as a partition key, and
//! a twin's records stay in order on one partition. Each partition has a lane that sends the
//! records of all invocations in flight together (see `lanes`): one transfer per partition per
//! round trip however many invocations are waiting, more only past the link's `max-message-size`.

mod batching;
mod lanes;
mod producer;

use std::time::Duration;

use azure_messaging_eventhubs::models::EventData;
use azure_messaging_eventhubs::{EventDataBatchOptions, RetryOptions};
use futures_util::future::{join_all, BoxFuture, FutureExt};
use serde_json::Value;

use batching::{fits_alone, send_in_batches};
pub use producer::{credential, credential_choice, CredentialChoice};
use producer::{HubProducer, Opened};

use super::partition::partition_index;
use super::{DeadLetter, Delivery, RecordSink, SinkError};
use crate::config::eventhubs::HubSettings;
use crate::records::Record;

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
    /// A sink for the records hub and, when named, a dead-letter hub on the same connection.
    /// Nothing is opened until the first send.
    pub fn new(records: HubSettings, dead_letter_hub: Option<String>, retry: RetryOptions) -> Self {
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
        }
    }

    /// Closes the open connections.
    pub async fn close(&self) {
        self.records.close().await;
        if let Some(dead_letters) = &self.dead_letters {
            dead_letters.close().await;
        }
    }

    async fn send_records(&self, records: &[Record]) -> Result<Delivery, SinkError> {
        if records.is_empty() {
            return Ok(Delivery::default());
        }
        let mut switched = false;
        let deadline = self.records.deadline();
        loop {
            let opened = within(deadline, self.records.get()).await;
            let result = match &opened {
                // Also covers the wait for a lane's round, which runs under the same deadline.
                Ok(opened) => within(deadline, send_by_partition(opened, records)).await,
                Err(e) => Err(e.clone()),
            };
            match result {
                Ok(delivery) => return Ok(delivery),
                Err(error) => {
                    if let Ok(opened) = &opened {
                        self.records.discard(opened).await;
                    }
                    if matches!(error, SinkError::Unauthorized(_))
                        && !switched
                        && self.records.switch_credential()
                    {
                        switched = true;
                        continue;
                    }
                    return Err(error);
                }
            }
        }
    }

    async fn send_dead_letters(&self, letters: &[DeadLetter]) -> Result<usize, SinkError> {
        let Some(producer) = &self.dead_letters else {
            return Ok(0);
        };
        let opened = within(producer.deadline(), producer.get()).await?;
        let result = within(producer.deadline(), send_letters(&opened, letters)).await;
        if result.is_err() {
            producer.discard(&opened).await;
        }
        result
    }
}

impl RecordSink for EventHubsSink {
    fn send<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<Delivery, SinkError>> {
        self.send_records(records).boxed()
    }

    fn dead_letter<'a>(
        &'a self,
        letters: &'a [DeadLetter],
    ) -> BoxFuture<'a, Result<usize, SinkError>> {
        self.send_dead_letters(letters).boxed()
    }
}

/// The event for one record: body, content type, message id and the source event's attributes.
fn record_event(record: &Record) -> EventData {
    let origin = &record.origin;
    let mut builder = EventData::builder()
        .with_body(record.body.as_bytes().to_vec())
        .with_content_type("application/json".to_owned())
        .with_message_id(record.message_id.clone())
        .add_property("cloudEvents:id".to_owned(), origin.event_id.as_str())
        .add_property("cloudEvents:type".to_owned(), origin.type_name.as_ref())
        .add_property("recordFormat".to_owned(), origin.format.as_str());
    if let Some(source) = &origin.source {
        builder = builder.add_property("cloudEvents:source".to_owned(), source.as_str());
    }
    builder.build()
}

#[tracing::instrument(skip_all, fields(records = records.len(), partitions = opened.partitions.len()))]
async fn send_by_partition(opened: &Opened, records: &[Record]) -> Result<Delivery, SinkError> {
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); opened.partitions.len()];
    for (index, record) in records.iter().enumerate() {
        groups[partition_index(record.twin_id.as_str(), opened.partitions.len())].push(index);
    }
    let sends = groups
        .iter()
        .enumerate()
        .filter(|(_, indices)| !indices.is_empty())
        .map(|(lane, indices)| send_partition(opened, lane, records, indices));
    let mut delivery = Delivery::default();
    for result in join_all(sends).await {
        let part = result?;
        delivery.sent += part.sent;
        delivery.too_large.extend(part.too_large);
    }
    delivery.too_large.sort_unstable();
    Ok(delivery)
}

/// Hands one partition's records, in order, to its lane, which sends them with those of the other
/// invocations in flight.
async fn send_partition(
    opened: &Opened,
    lane: usize,
    records: &[Record],
    indices: &[usize],
) -> Result<Delivery, SinkError> {
    let events: Vec<EventData> = indices
        .iter()
        .map(|&index| record_event(&records[index]))
        .collect();
    let done = opened.lanes.send(lane, events).await?;
    Ok(Delivery {
        sent: done.sent,
        too_large: done
            .too_large
            .iter()
            .map(|&position| indices[position])
            .collect(),
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
    let done = send_in_batches(client, || None, full).await?;
    // Too large even alone: keep as much of the body as fits, halving until it does.
    let mut cut = Vec::with_capacity(done.too_large.len());
    for &position in &done.too_large {
        let letter = &letters[position];
        let mut keep = letter.body.len() / 2;
        while !fits_alone(client, None, letter_event(letter, keep)).await? {
            if keep == 0 {
                tracing::error!(reason = %letter.reason, "dead letter does not fit the dead-letter hub even without its body");
                break;
            }
            keep /= 2;
        }
        cut.push(letter_event(letter, keep));
    }
    let cut_sent = if cut.is_empty() {
        0
    } else {
        send_in_batches(client, || None, cut).await?.sent
    };
    Ok(done.sent + cut_sent)
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
    pub async fn send(&self, partition_key: &str, events: &[EventData]) -> Result<(), SinkError> {
        let deadline = self.producer.deadline();
        let opened = within(deadline, self.producer.get()).await?;
        let result = within(deadline, send_keyed(&opened, partition_key, events)).await;
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
    events: &[EventData],
) -> Result<(), SinkError> {
    let options = || {
        Some(EventDataBatchOptions {
            partition_key: Some(partition_key.to_owned()),
            ..Default::default()
        })
    };
    let done = send_in_batches(&opened.client, options, events.to_vec()).await?;
    if done.too_large.is_empty() {
        Ok(())
    } else {
        Err(SinkError::NotAccepted(format!(
            "{} event(s) larger than the hub accepts",
            done.too_large.len()
        )))
    }
}
