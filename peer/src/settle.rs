//! Settling the client's transfers (events and node requests), after a short pause.
//!
//! fe2o3-amqp 0.16's sender hands a transfer to its session and only then records it as
//! unsettled. A disposition that arrives in between is dropped, and the client's send waits for an
//! outcome forever. Against Azure a network round trip separates the two; a peer in the same
//! process, on a busy machine, can answer inside that window. The pause stands in for the network.

use std::time::Duration;

use fe2o3_amqp::link::DispositionError;
use fe2o3_amqp::types::definitions;
use fe2o3_amqp::{Delivery, Receiver};

/// How long the peer waits before settling a transfer. The client's window is a few instructions
/// long, so this only has to outlast a scheduling hiccup.
pub(crate) const SETTLE_DELAY: Duration = Duration::from_millis(10);

/// Settles `delivery` as Accepted.
pub(crate) async fn accept<T>(
    receiver: &Receiver,
    delivery: &Delivery<T>,
) -> Result<(), DispositionError> {
    tokio::time::sleep(SETTLE_DELAY).await;
    receiver.accept(delivery).await
}

/// Settles `delivery` as Rejected with `error`.
pub(crate) async fn reject<T>(
    receiver: &Receiver,
    delivery: &Delivery<T>,
    error: definitions::Error,
) -> Result<(), DispositionError> {
    tokio::time::sleep(SETTLE_DELAY).await;
    receiver.reject(delivery, error).await
}
