//! The keyed writer: prepared events to a hub under one partition key, for producers other than
//! the bridge (the simulator's `eventhub` mode writing ADT-shaped notifications to the twins hub).
//! It sends through the same path as the records: [`HubProducer::run`]'s deadline, fresh
//! connections after a failure, and the switch to the secondary connection string.

use azure_messaging_eventhubs::models::EventData;
use azure_messaging_eventhubs::{EventDataBatchOptions, RetryOptions};

use super::batching::send_in_batches;
use super::producer::{HubProducer, Opened};
use crate::config::eventhubs::HubSettings;
use crate::sink::SinkError;

/// Sends prepared events to a hub under a partition key.
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
    /// An attempt that fails is made again with copies of the same events, so the hub may get
    /// some of them twice (at least once, like the records).
    pub async fn send(&self, partition_key: &str, events: Vec<EventData>) -> Result<(), SinkError> {
        let events = &events;
        self.producer
            .run(|opened| send_keyed(opened, partition_key, events.clone()))
            .await
    }

    /// Closes the connection, if open.
    pub async fn close(&self) {
        self.producer.close().await;
    }
}

async fn send_keyed(
    opened: std::sync::Arc<Opened>,
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
