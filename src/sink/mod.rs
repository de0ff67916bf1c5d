//! Where records go: the records hub (Event Hubs), dead letters for unusable input, and stand-ins
//! for tests and local runs, all behind [`RecordSink`].
//!
//! A sink answers only when every record it was given is accepted, or fails as a whole: the
//! invocation then answers 500 and the host redelivers the batch. Records sent before the failure
//! are sent again, with the same message ids.

pub mod eventhubs;
pub mod memory;
pub mod packing;
pub mod partition;
pub mod stdout;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use crate::adt::UnusableReason;
use crate::records::Records;

/// An unusable event on its way to the dead-letter hub: the raw body, the original properties,
/// and why.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// The event's body exactly as received (or the record, for records too large to send).
    pub body: Vec<u8>,
    /// The event's original application properties.
    pub properties: Map<String, Value>,
    /// Why it cannot be used.
    pub reason: UnusableReason,
    /// What exactly was wrong.
    pub detail: String,
}

/// What a successful send did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Records accepted by the hub.
    pub sent: usize,
    /// Event Hubs events they went out in (as many as records when not packed).
    pub events: usize,
    /// Positions of records too large for any event the hub accepts: unusable, never retried.
    pub too_large: Vec<usize>,
}

/// A failure to deliver. Every variant is worth a retry by the host: the input was fine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The hub could not be reached or the connection broke.
    #[error("the event hub is unreachable: {0}")]
    Unreachable(String),
    /// The hub refused our credential.
    #[error("authentication to the event hub was refused: {0}")]
    Unauthorized(String),
    /// The hub or partition does not exist (a typo, a hub not made yet, partitions that changed).
    #[error("the event hub or partition does not exist: {0}")]
    Missing(String),
    /// The hub refused or did not settle the events.
    #[error("the event hub did not accept the events: {0}")]
    NotAccepted(String),
}

/// A destination for records and dead letters.
pub trait RecordSink: Send + Sync + 'static {
    /// Sends every record; succeeds only when all were accepted (or are too large ever to be).
    fn send<'a>(&'a self, records: &'a Records) -> BoxFuture<'a, Result<Delivery, SinkError>>;

    /// Sends dead letters; returns how many went to a dead-letter hub (0 when none is configured).
    fn dead_letter<'a>(
        &'a self,
        letters: &'a [DeadLetter],
    ) -> BoxFuture<'a, Result<usize, SinkError>>;
}
