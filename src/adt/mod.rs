//! What Azure Digital Twins sends: the notification model and its decoding from each transport.
//!
//! An Event Hub delivery (body plus `cloudEvents:*` properties) and an Event Grid delivery (Event
//! Grid or CloudEvents schema) both become one [`Notification`], a [`Decoded::Skipped`] type, or an
//! [`Unusable`] verdict with a typed reason. Decoding is pure: no clock, no I/O.

mod decode;
mod eventgrid;
mod eventhub;
mod ids;
mod message;
mod notification;
mod patch;
mod pointer;
mod text;
mod unusable;
mod update_body;

pub use decode::Decoded;
pub use eventgrid::decode_event_grid;
pub use eventhub::{
    decode_broker_message, decode_event_hub, BrokerMessage, CloudEventAttributes, EventHubMessage,
    PropertyText,
};
pub use ids::{EventId, ModelId, Source, TwinId};
pub use message::{EventGridEvent, Message};
pub use notification::{Content, EventKind, EventKinds, EventType, Header, Notification};
pub use patch::{InvalidOp, InvalidOpReason, Patch, PatchOp};
pub(crate) use pointer::Segments;
pub use pointer::{Pointer, PointerError, MAX_PATH_SEGMENTS};
pub use unusable::{Unusable, UnusableReason};
