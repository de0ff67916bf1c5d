//! Event links: the client sends events (batched or single) to a hub or one partition; the peer
//! records them and settles each transfer as the fault knobs say.
//!
//! Events are recorded before the disposition goes out, so when the client's send returns, a test
//! already sees them.

use std::sync::Arc;

use fe2o3_amqp::types::definitions::{self, AmqpError};
use fe2o3_amqp::types::messaging::Body;
use fe2o3_amqp::types::primitives::Value;
use fe2o3_amqp::{Delivery, Receiver};
use tracing::{debug, info, warn};

use crate::config::Entity;
use crate::connection::ConnectionContext;
use crate::decode::{decode_events, Arrival};
use crate::error::ServeError;
use crate::settle;

/// Whether the link goes on after a transfer.
enum Next {
    Continue,
    Stop,
}

/// Receives transfers on `receiver` until the client detaches or the connection goes.
#[tracing::instrument(
    name = "events",
    skip_all,
    fields(link = %receiver.name(), hub = %entity.hub, partition = ?entity.partition)
)]
pub(crate) async fn serve_event_link(
    mut receiver: Receiver,
    entity: Entity,
    context: Arc<ConnectionContext>,
) {
    info!("sender link attached");
    loop {
        let delivery = match receiver.recv::<Body<Value>>().await {
            Ok(delivery) => delivery,
            Err(error) => {
                debug!(%error, "event link closed");
                return;
            }
        };
        match handle_transfer(&receiver, delivery, &entity, &context).await {
            Ok(Next::Continue) => {}
            Ok(Next::Stop) => return,
            Err(error) => {
                warn!(%error, "event link failed");
                return;
            }
        }
    }
}

async fn handle_transfer(
    receiver: &Receiver,
    delivery: Delivery<Body<Value>>,
    entity: &Entity,
    context: &ConnectionContext,
) -> Result<Next, ServeError> {
    let faults = &context.shared.faults;
    if faults.take_connection_drop() {
        // Neither settled nor recorded: the client cannot tell whether the events arrived.
        context.drop_connection();
        return Ok(Next::Stop);
    }
    let arrival = Arrival {
        hub: &entity.hub,
        partition_id: entity.partition.as_deref(),
    };
    let format = delivery.message_format().unwrap_or(0);
    let events = match decode_events(arrival, format, delivery.message()) {
        Ok(events) => events,
        Err(error) => {
            warn!(%error, format, "rejecting a transfer that does not decode");
            let rejection =
                definitions::Error::new(AmqpError::DecodeError, error.to_string(), None);
            settle::reject(receiver, &delivery, rejection, faults.settle_delay()).await?;
            return Ok(Next::Continue);
        }
    };
    if faults.rejects_transfer_of(events.iter().map(|event| event.body.as_slice())) {
        info!(events = events.len(), "rejecting a transfer (fault knob)");
        let rejection = definitions::Error::new(
            AmqpError::NotAllowed,
            "Rejected by eventhubs-peer: the reject-transfers fault is on.".to_string(),
            None,
        );
        settle::reject(receiver, &delivery, rejection, faults.settle_delay()).await?;
        return Ok(Next::Continue);
    }
    info!(events = events.len(), format, "transfer recorded");
    context.shared.recorder.record_events(events);
    if faults.never_settles() {
        debug!("leaving the transfer unsettled (fault knob)");
        return Ok(Next::Continue);
    }
    settle::accept(receiver, &delivery, faults.settle_delay()).await?;
    debug!("transfer settled as accepted");
    Ok(Next::Continue)
}
