//! Settling the client's event transfers: at once by default, as the service does once an event
//! is stored; after a pause only when a test or an experiment sets one (the settle delay in
//! [`Faults`](crate::Faults)).
//!
//! Answering at once is deliberate. A peer on the same machine answers faster than any network
//! could, and so finds client bugs that a round trip hides against Azure: fe2o3-amqp 0.16.2's
//! sender recorded a delivery as unsettled only after handing its transfer to the session, and
//! dropped a disposition that came back in between (fixed in `patches/fe2o3-amqp-0.16.2`). A
//! pause here would hide such a bug again.

use std::time::Duration;

use fe2o3_amqp::link::DispositionError;
use fe2o3_amqp::types::definitions;
use fe2o3_amqp::{Delivery, Receiver};

/// Settles `delivery` as Accepted, after `pause` if it is not zero.
pub(crate) async fn accept<T>(
    receiver: &Receiver,
    delivery: &Delivery<T>,
    pause: Duration,
) -> Result<(), DispositionError> {
    wait(pause).await;
    receiver.accept(delivery).await
}

/// Settles `delivery` as Rejected with `error`, after `pause` if it is not zero.
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
