//! What the peer saw: every accepted event and every put-token request, in arrival order, plus a
//! live feed of events for watchers (the binary prints it).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::lock;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

/// Capacity of the live event feed; a watcher that falls further behind misses events.
const FEED_CAPACITY: usize = 1024;

/// One event as the peer accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedEvent {
    /// The event hub the event was sent to, as configured.
    pub hub: String,
    /// The partition, when the event was sent on a `.../Partitions/<n>` link.
    pub partition_id: Option<String>,
    /// The `x-opt-partition-key` message annotation.
    pub partition_key: Option<String>,
    /// The message id, rendered as text (UUIDs hyphenated, binary ids as hex).
    pub message_id: Option<String>,
    /// The content type property.
    pub content_type: Option<String>,
    /// The application properties, values rendered as text.
    pub properties: BTreeMap<String, String>,
    /// The body: the bytes of its data sections (an amqp-value string body gives its UTF-8 bytes).
    pub body: Vec<u8>,
}

/// One put-token request the claims-based-security node answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The audience the token is for (`name` property), e.g. `amqps://localhost/records`.
    pub name: String,
    /// The token type (`type` property), e.g. `servicebus.windows.net:sastoken`.
    pub token_type: String,
    /// The token text (the request body).
    pub token: String,
    /// The `status-code` the peer answered.
    pub status_code: u16,
}

/// The peer's memory of events and token requests, shared by all connections.
#[derive(Debug)]
pub(crate) struct Recorder {
    events: Mutex<Vec<ReceivedEvent>>,
    tokens: Mutex<Vec<TokenRequest>>,
    /// Bumped after every recorded batch, so waiters wake without polling.
    recorded: watch::Sender<u64>,
    feed: broadcast::Sender<ReceivedEvent>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            events: Mutex::default(),
            tokens: Mutex::default(),
            recorded: watch::Sender::new(0),
            feed: broadcast::Sender::new(FEED_CAPACITY),
        }
    }
}

impl Recorder {
    /// Appends `events` (one transfer's worth) atomically and wakes waiters.
    pub fn record_events(&self, events: Vec<ReceivedEvent>) {
        // Copies only for watchers: under load nobody watches, and a copy per event would cost
        // the peer more than recording it.
        if self.feed.receiver_count() > 0 {
            for event in &events {
                // A watcher that left in between is not an error.
                let _ = self.feed.send(event.clone());
            }
        }
        lock(&self.events).extend(events);
        self.recorded.send_modify(|generation| *generation += 1);
    }

    pub fn record_token(&self, request: TokenRequest) {
        lock(&self.tokens).push(request);
    }

    pub fn events(&self, hub: &str) -> Vec<ReceivedEvent> {
        lock(&self.events)
            .iter()
            .filter(|event| event.hub == hub)
            .cloned()
            .collect()
    }

    /// Calls `visit` with every event recorded on `hub`, in order, without copying them; new
    /// events wait until it returns.
    pub fn for_each_event(&self, hub: &str, visit: impl FnMut(&ReceivedEvent)) {
        lock(&self.events)
            .iter()
            .filter(|event| event.hub == hub)
            .for_each(visit);
    }

    /// How many transfers were recorded, on every hub.
    pub fn transfer_count(&self) -> u64 {
        *self.recorded.borrow()
    }

    /// How many events were recorded on `hub`.
    pub fn event_count(&self, hub: &str) -> usize {
        lock(&self.events)
            .iter()
            .filter(|event| event.hub == hub)
            .count()
    }

    /// The message id of every event recorded on `hub`, in acceptance order (`None` for events
    /// without one): what a loss check needs, without copying bodies.
    pub fn message_ids(&self, hub: &str) -> Vec<Option<String>> {
        lock(&self.events)
            .iter()
            .filter(|event| event.hub == hub)
            .map(|event| event.message_id.clone())
            .collect()
    }

    /// Waits until `hub` has at least `count` events or `timeout` passes; returns how many it has.
    pub async fn wait_for_count(&self, hub: &str, count: usize, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribe before looking, so a batch recorded in between still wakes us.
        let mut recorded = self.recorded.subscribe();
        loop {
            let have = self.event_count(hub);
            if have >= count {
                return have;
            }
            match tokio::time::timeout_at(deadline, recorded.changed()).await {
                Ok(Ok(())) => continue,
                _ => return self.event_count(hub),
            }
        }
    }

    /// How many events were recorded on `hub`'s partition `partition`.
    pub fn partition_event_count(&self, hub: &str, partition: &str) -> usize {
        lock(&self.events)
            .iter()
            .filter(|event| event.hub == hub && event.partition_id.as_deref() == Some(partition))
            .count()
    }

    pub fn token_requests(&self) -> Vec<TokenRequest> {
        lock(&self.tokens).clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ReceivedEvent> {
        self.feed.subscribe()
    }

    /// Waits until `hub` has at least `count` events or `timeout` passes; returns what it has.
    pub async fn wait_for_events(
        &self,
        hub: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedEvent> {
        self.wait_for_count(hub, count, timeout).await;
        self.events(hub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(hub: &str, partition: Option<&str>) -> ReceivedEvent {
        ReceivedEvent {
            hub: hub.into(),
            partition_id: partition.map(Into::into),
            partition_key: None,
            message_id: None,
            content_type: None,
            properties: BTreeMap::new(),
            body: b"x".to_vec(),
        }
    }

    #[test]
    fn events_are_filtered_by_hub_in_order() {
        let recorder = Recorder::default();
        recorder.record_events(vec![event("a", None), event("b", Some("1"))]);
        recorder.record_events(vec![event("a", Some("1"))]);
        let a = recorder.events("a");
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].partition_id.as_deref(), Some("1"));
        assert_eq!(recorder.partition_event_count("b", "1"), 1);
        assert_eq!(recorder.partition_event_count("a", "0"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_events_wakes_on_record_and_gives_up_at_timeout() {
        let recorder = std::sync::Arc::new(Recorder::default());
        let writer = recorder.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.record_events(vec![event("a", None), event("a", None)]);
        });
        let events = recorder
            .wait_for_events("a", 2, Duration::from_secs(1))
            .await;
        assert_eq!(events.len(), 2);

        let events = recorder
            .wait_for_events("a", 3, Duration::from_secs(1))
            .await;
        assert_eq!(events.len(), 2);
        assert_eq!(
            recorder
                .wait_for_count("a", 3, Duration::from_secs(1))
                .await,
            2
        );
        assert_eq!(recorder.message_ids("a"), vec![None, None]);
    }
}
