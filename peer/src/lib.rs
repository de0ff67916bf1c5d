//! A local AMQP 1.0 peer that speaks enough of Azure Event Hubs for tests and demos, built on
//! `fe2o3-amqp`'s acceptor (the same AMQP stack the Rust Event Hubs SDK uses).
//!
//! A real `ProducerClient` pointed at it with `with_custom_endpoint("amqp://127.0.0.1:<port>")`
//! connects, authenticates, reads hub properties and sends batches; the peer records every event
//! and can be told to fail in the ways the tests need.
//!
//! The modules, in the order one connection meets them:
//!
//! - [`server`]: the [`Peer`] handle, its TCP listener and the state all connections share.
//! - `connection` and `socket`: the accepted TCP stream (set up as the service's would be), SASL
//!   ANONYMOUS and Open, a task per session, the registry used to drop connections.
//! - `session`: plans each attach from its addresses ([`address`]) and the hubs in [`config`], then
//!   serves or refuses it.
//! - `requests`, `cbs`, `management`: the `$cbs` put-token and `$management` READ nodes.
//! - `ingest`, `decode` and `settle`: event links, batch unpacking, settlement (at once).
//! - [`faults`] and [`record`]: the knobs a test flips and what the peer saw; [`packed`]: the
//!   records an event carries (one, or a packed JSON array of them).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use eventhubs_peer::{Peer, PeerConfig};
//!
//! let peer = Peer::start(PeerConfig::new("localhost").hub("records", 4)).await?;
//! // Point the SDK at peer.custom_endpoint() with peer.connection_string() ...
//! let events = peer.wait_for_events("records", 3, std::time::Duration::from_secs(5)).await;
//! peer.stop().await;
//! # Ok(()) }
//! ```

pub mod address;
mod cbs;
pub mod config;
mod connection;
mod decode;
mod error;
pub mod faults;
mod ingest;
mod management;
pub mod packed;
pub mod record;
mod requests;
pub mod server;
mod session;
mod settle;
mod socket;

pub use config::{HubSpec, PeerConfig, DEFAULT_MAX_MESSAGE_SIZE};
pub use decode::{BATCH_MESSAGE_FORMAT, PARTITION_KEY_ANNOTATION};
pub use faults::Faults;
pub use packed::{UnpackError, RECORD_COUNT_PROPERTY};
pub use record::{ReceivedEvent, TokenRequest};
pub use server::Peer;

/// Locks `mutex`, ignoring poisoning: the guarded values are plain settings and records that a
/// panic elsewhere cannot leave half-written.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
