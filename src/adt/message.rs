//! [`Message`]: anything ADT's endpoints deliver that decodes into one notification, so that one
//! pipeline entry (`records::process`) takes every transport's input.

use serde_json::Value;

use super::eventgrid::decode_event_grid;
use super::eventhub::{decode_broker_message, decode_event_hub, BrokerMessage, EventHubMessage};
use super::{Decoded, EventKinds};

/// One delivered event, ready to decode.
pub trait Message {
    /// Decodes it, keeping the notification kinds in `kinds` and skipping the rest.
    fn decode(self, kinds: EventKinds) -> Decoded;
}

/// An Event Grid delivery: one event in the Event Grid or the CloudEvents schema.
#[derive(Clone, Copy, Debug)]
pub struct EventGridEvent<'a>(pub &'a Value);

impl Message for EventGridEvent<'_> {
    fn decode(self, kinds: EventKinds) -> Decoded {
        decode_event_grid(self.0, kinds)
    }
}

impl Message for &EventHubMessage {
    fn decode(self, kinds: EventKinds) -> Decoded {
        decode_event_hub(self, kinds)
    }
}

impl Message for BrokerMessage<'_> {
    fn decode(self, kinds: EventKinds) -> Decoded {
        decode_broker_message(&self, kinds)
    }
}

/// An event decoded already (or judged unusable before decoding): taken as it is.
impl Message for Decoded {
    fn decode(self, _: EventKinds) -> Decoded {
        self
    }
}
