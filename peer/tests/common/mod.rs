//! Shared setup for the SDK-driven tests: a peer, a real `ProducerClient` pointed at it, events.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::time::Duration;

use azure_messaging_eventhubs::models::EventData;
use azure_messaging_eventhubs::{ProducerClient, RetryOptions};
use eventhubs_peer::{Peer, PeerConfig};

/// Long enough for any healthy exchange with a local peer; a hang fails the test instead of
/// stalling the run.
pub const STEP: Duration = Duration::from_secs(10);

/// The hub most tests send to.
pub const HUB: &str = "records";

/// Awaits `step`, failing the test with `what` if it takes longer than [`STEP`].
pub async fn within<T>(what: &str, step: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, step)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {STEP:?}"))
}

pub async fn start_peer(config: PeerConfig) -> Peer {
    init_logs();
    Peer::start(config).await.expect("peer starts")
}

/// A peer for `localhost` with `records` (4 partitions) and `deadletter` (1).
pub async fn default_peer() -> Peer {
    start_peer(
        PeerConfig::new("localhost")
            .hub(HUB, 4)
            .hub("deadletter", 1),
    )
    .await
}

/// The connection string an Azure Functions app would hold for the emulator, with `key_name` as
/// the shared access key name (it ends up in the token as `skn=<key_name>`).
pub fn connection_string(peer: &Peer, key_name: &str, hub: &str) -> String {
    format!(
        "Endpoint=sb://localhost:{};SharedAccessKeyName={key_name};SharedAccessKey=ZGV2;EntityPath={hub}",
        peer.addr().port()
    )
}

/// Retries short enough that an expected failure shows within a second or two.
pub fn quick_retries() -> RetryOptions {
    RetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(20),
        max_delay: azure_core::time::Duration::milliseconds(100),
        max_total_elapsed: azure_core::time::Duration::seconds(3),
        max_retries: 2,
    }
}

/// Opens a producer on `hub` through the peer's plain-TCP endpoint.
pub async fn open_producer(
    peer: &Peer,
    key_name: &str,
    hub: &str,
) -> azure_messaging_eventhubs::Result<ProducerClient> {
    tokio::time::timeout(
        STEP,
        ProducerClient::builder()
            .with_application_id("eventhubs-peer-tests".to_string())
            .with_retry_options(quick_retries())
            .with_custom_endpoint(format!("amqp://127.0.0.1:{}", peer.addr().port()))
            .open_with_connection_string(&connection_string(peer, key_name, hub), Some(hub)),
    )
    .await
    .expect("open does not hang")
}

pub async fn producer(peer: &Peer) -> ProducerClient {
    open_producer(peer, "dev", HUB)
        .await
        .expect("producer opens")
}

/// Closes `producer`, failing the test if close hangs (the reply-link pitfall) or errs.
pub async fn close(producer: ProducerClient) {
    tokio::time::timeout(STEP, producer.close())
        .await
        .expect("close does not hang")
        .expect("close succeeds");
}

/// Closes a producer whose last operation failed, failing the test only if close hangs. After a
/// failed put-token or attach the SDK drops a session and sends Close right behind its End; when
/// the peer's End answer arrives after that Close, fe2o3 (in state CloseSent) reports "Illegal
/// local state", though the connection is closed either way. Azure answers the same way.
pub async fn close_after_failure(producer: ProducerClient) {
    let _ = tokio::time::timeout(STEP, producer.close())
        .await
        .expect("close does not hang");
}

/// An event with a message id, a JSON content type, two application properties and a JSON body.
pub fn event(id: &str, sequence: i32) -> EventData {
    EventData::builder()
        .with_message_id(id)
        .with_content_type("application/json".to_string())
        .add_property("twinId".to_string(), "twin-7")
        .add_property("sequence".to_string(), sequence)
        .with_body(format!("{{\"id\":\"{id}\",\"sequence\":{sequence}}}"))
        .build()
}

/// The message ids of `events`, in order.
pub fn ids(events: &[eventhubs_peer::ReceivedEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| event.message_id.clone().unwrap_or_default())
        .collect()
}

/// Sends test logs (`RUST_LOG`, e.g. `eventhubs_peer=debug,azure_messaging_eventhubs=debug`) to
/// the test output; a no-op without `RUST_LOG`.
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}
