//! Settling the client's transfers (events and node requests), after a pause.
//!
//! fe2o3-amqp 0.16's sender hands a transfer to its session and only then records it as
//! unsettled. A disposition that arrives in between is dropped (the session forgets the delivery
//! on the first settled disposition, so saying it again does not help), and the client's send
//! waits for an outcome forever. Against Azure a network round trip separates the two; a peer on
//! the same machine can answer inside that window when the client's thread is preempted at the
//! wrong moment (seen here: about one invocation in a hundred with no pause at all). The pause
//! stands in for the network: [`REQUEST_PAUSE`] for `$cbs` and `$management`, which are only used
//! while connecting, and the [`Faults`](crate::Faults) settle delay for event transfers, which a
//! load test sets to the round trip it wants to model.

use std::time::Duration;

use fe2o3_amqp::link::DispositionError;
use fe2o3_amqp::types::definitions;
use fe2o3_amqp::{Delivery, Receiver};

/// The pause before answering a node request (put-token, READ).
pub(crate) const REQUEST_PAUSE: Duration = Duration::from_millis(10);

/// Settles `delivery` as Accepted after `pause`.
pub(crate) async fn accept<T>(
    receiver: &Receiver,
    delivery: &Delivery<T>,
    pause: Duration,
) -> Result<(), DispositionError> {
    wait(pause).await;
    receiver.accept(delivery).await
}

/// Settles `delivery` as Rejected with `error` after `pause`.
pub(crate) async fn reject<T>(
    receiver: &Receiver,
    delivery: &Delivery<T>,
    error: definitions::Error,
    pause: Duration,
) -> Result<(), DispositionError> {
    wait(pause).await;
    receiver.reject(delivery, error).await
}

async fn wait(pause: Duration) {
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
}
