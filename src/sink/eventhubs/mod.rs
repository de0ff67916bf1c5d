//! The Event Hubs sink, split by what it sends, over one send path:
//!
//! - `records`: a batch's records to the records hub, keyed by twin, packed and grouped by
//!   partition; each partition has a lane (`lanes`) that sends the events of all invocations in
//!   flight together, one transfer per partition per round trip.
//! - `dead_letters`: unusable input to the optional dead-letter hub.
//! - `keyed`: prepared events under one partition key (the simulator's twins hub).
//! - `producer`: the one send path all three use: the open client, a deadline per send, a fresh
//!   connection after a failure, the switch to the secondary connection string.
//! - `batching`: filling the SDK's batches without cloning events; `errors`: the SDK's errors
//!   sorted into [`SinkError`]s, secrets removed.
//!
//! Each twin's partition is the one the service would pick for the twin id as a partition key,
//! and a twin's records stay in order on one partition.

mod batching;
mod dead_letters;
mod errors;
mod keyed;
mod lanes;
mod producer;
mod records;

use std::time::Duration;

use azure_messaging_eventhubs::RetryOptions;
use futures_util::future::{BoxFuture, FutureExt};

use dead_letters::send_letters;
pub use keyed::KeyedWriter;
pub use producer::credential;
use producer::HubProducer;
use records::send_by_partition;

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
///
/// Each serving worker ([`crate::worker`]) gets a producer of its own, opened on its first send:
/// its connection's tasks and its partition lanes then run on that worker's thread, beside the
/// invocations that use them.
pub struct EventHubsSink {
    records: Vec<HubProducer>,
    dead_letters: Vec<HubProducer>,
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
    /// packing records as `packing` says, for one worker. Nothing is opened until the first send.
    pub fn new(
        records: HubSettings,
        dead_letter_hub: Option<String>,
        retry: RetryOptions,
        packing: Packing,
    ) -> Self {
        Self::for_workers(records, dead_letter_hub, retry, packing, 1)
    }

    /// The same sink with a producer for each of `workers` serving workers (at least one).
    pub fn for_workers(
        records: HubSettings,
        dead_letter_hub: Option<String>,
        retry: RetryOptions,
        packing: Packing,
        workers: usize,
    ) -> Self {
        let producers = |settings: &HubSettings| {
            (0..workers.max(1))
                .map(|_| HubProducer::new(settings.clone(), retry.clone()))
                .collect::<Vec<_>>()
        };
        let dead_letters = dead_letter_hub.map_or_else(Vec::new, |hub| {
            producers(&HubSettings {
                connection: records.connection.clone(),
                hub,
            })
        });
        EventHubsSink {
            records: producers(&records),
            dead_letters,
            packing,
        }
    }

    /// Closes the open connections.
    pub async fn close(&self) {
        for producer in self.records.iter().chain(&self.dead_letters) {
            producer.close().await;
        }
    }

    async fn send_records(&self, records: &Records) -> Result<Delivery, SinkError> {
        if records.is_empty() {
            return Ok(Delivery::default());
        }
        let packing = self.packing;
        ours(&self.records)
            .expect("a sink has a records producer")
            .run(|opened| async move { send_by_partition(&opened, records, packing).await })
            .await
    }

    async fn send_dead_letters(&self, letters: &[DeadLetter]) -> Result<usize, SinkError> {
        let Some(producer) = ours(&self.dead_letters) else {
            return Ok(0);
        };
        producer
            .run(|opened| async move { send_letters(&opened, letters).await })
            .await
    }
}

/// The calling worker's producer of `producers`, if there are any.
fn ours(producers: &[HubProducer]) -> Option<&HubProducer> {
    let count = producers.len();
    (count > 0).then(|| &producers[crate::worker::current() % count])
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
