//! The bridge's real server and Event Hubs sink, started in-process on port 0 against the local
//! Event Hubs peer, configured from a settings list as the environment would configure it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use adt_bridge::config::delivery::delivery_settings;
use adt_bridge::config::eventhubs::{hub_settings, RECORDS_HUB};
use adt_bridge::config::transform_options;
use adt_bridge::host::{serve, App, Server};
use adt_bridge::sink::eventhubs::EventHubsSink;
use azure_messaging_eventhubs::RetryOptions;
use serde_json::Value;

use super::post_chunked;

/// Partitions of the peer's records hub.
pub const PARTITIONS: u32 = 4;
/// How long a test waits for the peer to hold what it expects.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The peer as the end-to-end tests run it: a records hub of [`PARTITIONS`] partitions and a
/// dead-letter hub.
pub fn peer_config() -> eventhubs_peer::PeerConfig {
    eventhubs_peer::PeerConfig::new("localhost")
        .hub("records", PARTITIONS)
        .hub("deadletter", 1)
}

pub fn emulator_connection(addr: SocketAddr, key_name: &str) -> String {
    format!("Endpoint=sb://localhost:{}/;SharedAccessKeyName={key_name};SharedAccessKey=ZGV2a2V5;UseDevelopmentEmulator=true", addr.port())
}

/// Short retries so fault tests fail fast; the host's retry policy is what retries for real.
pub fn quick_retry() -> RetryOptions {
    RetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(50),
        max_delay: azure_core::time::Duration::milliseconds(200),
        max_total_elapsed: azure_core::time::Duration::seconds(3),
        max_retries: 2,
    }
}

pub struct Bridge {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Bridge {
    pub async fn start(settings: &[(&'static str, String)]) -> Bridge {
        Self::start_with_retry(settings, quick_retry()).await
    }

    /// [`Bridge::start`] with the SDK retrying as `retry` says.
    pub async fn start_with_retry(
        settings: &[(&'static str, String)],
        retry: RetryOptions,
    ) -> Bridge {
        let map: BTreeMap<&str, &str> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let options = transform_options(&map).unwrap();
        let records = hub_settings(&map, RECORDS_HUB).unwrap();
        let dead_letters = map
            .get("BRIDGE_DEADLETTER_EVENTHUB_NAME")
            .map(|s| s.to_string());
        let packing = delivery_settings(&map).unwrap().packing;
        let sink = Arc::new(EventHubsSink::new(records, dead_letters, retry, packing));
        let server = Arc::new(Server {
            app: App::new(options, sink),
            max_request_bytes: 64 << 20,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, server, async {
            let _ = stopped.await;
        }));
        Bridge { addr, stop }
    }

    pub async fn post(&self, function: &str, body: &Value) -> (u16, Value) {
        post_chunked(
            self.addr,
            &format!("/{function}"),
            body.to_string().as_bytes(),
            64 * 1024,
        )
        .await
    }

    pub fn stop(self) {
        let _ = self.stop.send(());
    }
}

/// An event's records as text, unrolled as the peer reads them: a packed event's array elements
/// (checked against its `recordCount` and message id), or the body of a one-record event.
pub fn record_texts(event: &eventhubs_peer::ReceivedEvent) -> Vec<String> {
    let records = event.records().expect("the event unrolls");
    records
        .into_iter()
        .map(|record| String::from_utf8_lossy(record).into_owned())
        .collect()
}
