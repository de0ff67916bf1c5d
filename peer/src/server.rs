//! The peer as a whole: a TCP listener, the state every connection shares, and the handle a test
//! holds to read what arrived, flip faults, and stop it.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::PeerConfig;
use crate::connection::ConnectionRegistry;
use crate::faults::Faults;
use crate::record::{ReceivedEvent, Recorder, TokenRequest};

/// The shared key in [`Peer::connection_string`]: base64 of `dev`. The peer accepts any token.
const DEV_SHARED_ACCESS_KEY: &str = "ZGV2";

/// How long the accept loop rests after a failed `accept` (for example, out of file descriptors).
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// What every connection of one peer shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: PeerConfig,
    pub faults: Faults,
    pub recorder: Recorder,
    pub connections: ConnectionRegistry,
    /// Reported as the hub's `created_at`.
    pub started_at: SystemTime,
}

/// A running local Event Hubs peer. Stop it with [`Peer::stop`]; dropping it also closes the
/// listener and every connection, without waiting.
#[derive(Debug)]
pub struct Peer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: Option<JoinHandle<()>>,
}

impl Peer {
    /// Starts a peer on `127.0.0.1` and a free port; see [`Peer::addr`].
    pub async fn start(config: PeerConfig) -> io::Result<Peer> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts a peer on `addr`, for example the address of a peer that was stopped, to test
    /// reconnection.
    pub async fn start_on(config: PeerConfig, addr: SocketAddr) -> io::Result<Peer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        info!(
            %addr,
            namespace = %config.namespace,
            hubs = config.hubs.len(),
            max_message_size = config.max_message_size,
            "event hubs peer listening"
        );
        let shared = Arc::new(Shared {
            config,
            faults: Faults::default(),
            recorder: Recorder::default(),
            connections: ConnectionRegistry::default(),
            started_at: SystemTime::now(),
        });
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Peer {
            addr,
            shared,
            accept_task: Some(accept_task),
        })
    }

    /// The address the peer listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration the peer was started with.
    pub fn config(&self) -> &PeerConfig {
        &self.shared.config
    }

    /// The fault knobs; changes apply to the next connection, token or transfer.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Every event accepted on `hub` so far, in acceptance order.
    pub fn events(&self, hub: &str) -> Vec<ReceivedEvent> {
        self.shared.recorder.events(hub)
    }

    /// Calls `visit` with every event accepted on `hub` so far, in acceptance order, without
    /// copying them (a loss check over millions of events); the peer records nothing new until it
    /// returns.
    pub fn for_each_event(&self, hub: &str, visit: impl FnMut(&ReceivedEvent)) {
        self.shared.recorder.for_each_event(hub, visit)
    }

    /// Waits until `hub` has at least `count` events, or `timeout` passes; returns the events it
    /// has either way.
    pub async fn wait_for_events(
        &self,
        hub: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedEvent> {
        self.shared
            .recorder
            .wait_for_events(hub, count, timeout)
            .await
    }

    /// How many transfers (batches or single events) the peer has recorded, on every hub.
    pub fn transfer_count(&self) -> u64 {
        self.shared.recorder.transfer_count()
    }

    /// How many events `hub` has accepted so far.
    pub fn event_count(&self, hub: &str) -> usize {
        self.shared.recorder.event_count(hub)
    }

    /// The message ids of the events `hub` accepted, in order, without copying their bodies.
    pub fn message_ids(&self, hub: &str) -> Vec<Option<String>> {
        self.shared.recorder.message_ids(hub)
    }

    /// Waits until `hub` has at least `count` events, or `timeout` passes; returns how many it
    /// has either way.
    pub async fn wait_for_count(&self, hub: &str, count: usize, timeout: Duration) -> usize {
        self.shared
            .recorder
            .wait_for_count(hub, count, timeout)
            .await
    }

    /// Every put-token request seen so far, with the status answered.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.recorder.token_requests()
    }

    /// A live feed of accepted events, from now on (the binary prints it).
    pub fn subscribe(&self) -> broadcast::Receiver<ReceivedEvent> {
        self.shared.recorder.subscribe()
    }

    /// A connection string for this peer, in the form the emulator uses
    /// (`Endpoint=sb://<namespace>:<port>;...;UseDevelopmentEmulator=true`). The SDK ignores the
    /// port and the emulator flag: dial [`Peer::custom_endpoint`] too.
    pub fn connection_string(&self) -> String {
        format!(
            "Endpoint=sb://{}:{};SharedAccessKeyName=dev;SharedAccessKey={DEV_SHARED_ACCESS_KEY};UseDevelopmentEmulator=true",
            self.shared.config.namespace,
            self.addr.port()
        )
    }

    /// The plain-TCP endpoint to give the SDK's `with_custom_endpoint`: `amqp://<ip>:<port>`.
    pub fn custom_endpoint(&self) -> String {
        format!("amqp://{}", self.addr)
    }

    /// Closes the listener (the port is free again when this returns) and drops every connection.
    pub async fn stop(mut self) {
        if let Some(task) = self.accept_task.take() {
            task.abort();
            // The listener is dropped when the aborted task finishes.
            let _ = task.await;
        }
        self.shared.connections.shutdown_all();
        info!(addr = %self.addr, "event hubs peer stopped");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(task) = self.accept_task.take() {
            task.abort();
        }
        self.shared.connections.shutdown_all();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) if shared.faults.refuses_connections() => {
                info!(%remote, "refused a connection (fault knob)");
                drop(stream);
            }
            Ok((stream, remote)) => {
                if let Err(error) = shared.connections.spawn(stream, remote, shared.clone()) {
                    warn!(%remote, %error, "could not serve a connection");
                }
            }
            Err(error) => {
                warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
            }
        }
    }
}
