//! The request/response pattern of `$cbs` and `$management`: the client sends requests on one link
//! and receives replies on another, whose target is the `reply-to` of each request.
//!
//! Each reply link is served by a task that also waits for the client's detach and answers it:
//! without that answer the SDK's `ProducerClient::close()` waits forever for its management client.
//! The answer is held back, and skipped if the session ends meanwhile. After each put-token the SDK
//! drops its CBS client, which detaches both links and ends the session in one burst without waiting;
//! a fe2o3 0.16 client that then receives detach answers for both links stops that session before
//! the End arrives, and closes the whole connection ("Session is not found"). fe2o3 answers the
//! request link's detach by itself, so only the reply link's answer can be held back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fe2o3_amqp::link::delivery::Sendable;
use fe2o3_amqp::types::messaging::{AmqpValue, ApplicationProperties, Body, Message, Properties};
use fe2o3_amqp::types::primitives::{SimpleValue, Value};
use fe2o3_amqp::{Receiver, Sender};
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use crate::connection::ConnectionContext;
use crate::{cbs, management};

/// A request or reply message; bodies are whatever AMQP value the node uses.
pub(crate) type NodeMessage = Message<Body<Value>>;

/// Replies waiting for a reply link; a management client sends one request at a time.
const REPLY_QUEUE: usize = 16;

/// How long closing a reply link may wait for the client, when the link ends for another reason
/// than the client's detach.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The node a request or reply link was attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestNode {
    /// `$cbs`: put-token.
    Cbs,
    /// `$management`: READ of hub and partition properties.
    Management,
}

impl RequestNode {
    /// How long a client's detach of this node's reply link waits for its answer; an End within
    /// this time means the client is not waiting for one. The SDK never closes its CBS client, it
    /// drops it (and the End follows at once), so `$cbs` waits long enough to outlast a stalled
    /// peer; it closes its management client and waits for the answer, so `$management` waits
    /// little.
    fn detach_answer_delay(self) -> Duration {
        match self {
            RequestNode::Cbs => Duration::from_secs(1),
            RequestNode::Management => Duration::from_millis(20),
        }
    }
}

/// The reply links of one session, by the client node address they deliver to.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplyRoutes(Arc<Mutex<HashMap<String, mpsc::Sender<NodeMessage>>>>);

impl ReplyRoutes {
    /// Registers a reply route to `address`, replacing an older one.
    pub fn open(&self, address: &str) -> (mpsc::Sender<NodeMessage>, mpsc::Receiver<NodeMessage>) {
        let (route, replies) = mpsc::channel(REPLY_QUEUE);
        self.lock().insert(address.to_string(), route.clone());
        (route, replies)
    }

    /// Removes the route to `address` if it is still `route` (a newer link may have replaced it).
    pub fn close(&self, address: &str, route: &mpsc::Sender<NodeMessage>) {
        let mut routes = self.lock();
        if routes.get(address).is_some_and(|r| r.same_channel(route)) {
            routes.remove(address);
        }
    }

    fn find(&self, address: &str) -> Option<mpsc::Sender<NodeMessage>> {
        self.lock().get(address).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<NodeMessage>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Answers each request arriving on `receiver`, until the client detaches.
#[tracing::instrument(name = "requests", skip_all, fields(?node, link = %receiver.name()))]
pub(crate) async fn serve_requests(
    mut receiver: Receiver,
    node: RequestNode,
    routes: ReplyRoutes,
    context: Arc<ConnectionContext>,
) {
    loop {
        let delivery = match receiver.recv::<Body<Value>>().await {
            Ok(delivery) => delivery,
            Err(error) => {
                debug!(%error, "request link closed");
                return;
            }
        };
        // At once, as the service does (see `settle`).
        if let Err(error) = receiver.accept(&delivery).await {
            warn!(%error, "could not accept a request");
            return;
        }
        let request = delivery.into_message();
        let reply = match node {
            RequestNode::Cbs => cbs::answer(&request, &context.shared),
            RequestNode::Management => management::answer(&request, &context.shared),
        };
        route_reply(&request, reply, &routes).await;
    }
}

/// Sends `reply` to the reply link named by the request's `reply-to`, correlated by its message id.
async fn route_reply(request: &NodeMessage, mut reply: NodeMessage, routes: &ReplyRoutes) {
    let request_properties = request.properties.as_ref();
    let Some(reply_to) = request_properties.and_then(|p| p.reply_to.clone()) else {
        warn!("request has no reply-to; dropping the reply");
        return;
    };
    let properties = reply.properties.get_or_insert_with(Properties::default);
    properties.correlation_id = request_properties.and_then(|p| p.message_id.clone());
    properties.to = Some(reply_to.clone());
    match routes.find(&reply_to) {
        Some(route) if route.send(reply).await.is_ok() => {}
        _ => warn!(%reply_to, "no reply link for the request's reply-to; dropping the reply"),
    }
}

/// Closes when the session it belongs to has ended (its sender is dropped then).
pub(crate) type SessionEnded = watch::Receiver<()>;

/// Where a reply link delivers: the session's routes and this link's own route in them.
pub(crate) struct ReplyLink {
    /// The node the replies come from.
    pub node: RequestNode,
    /// The session's routes, to unregister this link when it ends.
    pub routes: ReplyRoutes,
    /// The client node address (the link's target) replies are for.
    pub address: String,
    /// This link's entry in `routes`.
    pub route: mpsc::Sender<NodeMessage>,
    /// Closes when the session has ended.
    pub session_ended: SessionEnded,
}

/// Delivers replies on `sender` until the client detaches, then answers the detach.
#[tracing::instrument(
    name = "replies",
    skip_all,
    fields(node = ?link.node, link = %sender.name(), address = %link.address)
)]
pub(crate) async fn serve_replies(
    mut sender: Sender,
    mut replies: mpsc::Receiver<NodeMessage>,
    mut link: ReplyLink,
) {
    let detached_by_client = loop {
        tokio::select! {
            reply = replies.recv() => {
                let Some(reply) = reply else { break false };
                // Pre-settled: the client's receiver settles nothing back, so a detach can never
                // leave this task waiting on an outcome.
                let sendable = Sendable::builder().message(reply).settled(true).build();
                if let Err(error) = sender.send(sendable).await {
                    warn!(%error, "could not send a reply");
                    break false;
                }
            }
            detach = sender.on_detach() => {
                debug!(%detach, "client detached the reply link");
                break true;
            }
        }
    };
    link.routes.close(&link.address, &link.route);
    if detached_by_client {
        let delay = link.node.detach_answer_delay();
        let ended = tokio::time::timeout(delay, link.session_ended.changed()).await;
        if ended.is_ok() {
            debug!("the session ended meanwhile; the detach needs no answer");
            return;
        }
    }
    let closing = tokio::time::timeout(CLOSE_TIMEOUT, sender.close()).await;
    if !detached_by_client || !matches!(closing, Ok(Ok(()))) {
        debug!(?closing, "reply link closed");
    }
}

/// A reply with the management status properties and `body` as an amqp-value.
pub(crate) fn status_reply(status_code: u16, body: Value) -> NodeMessage {
    let application_properties = ApplicationProperties::builder()
        .insert("status-code", SimpleValue::Int(i32::from(status_code)))
        .insert(
            "status-description",
            SimpleValue::String(status_description(status_code).to_string()),
        )
        .build();
    Message {
        header: None,
        delivery_annotations: None,
        message_annotations: None,
        properties: Some(Properties::default()),
        application_properties: Some(application_properties),
        body: Body::Value(AmqpValue(body)),
        footer: None,
    }
}

/// A string application property of `message`.
pub(crate) fn string_property<'a>(message: &'a NodeMessage, key: &str) -> Option<&'a str> {
    match message.application_properties.as_ref()?.0.get(key)? {
        SimpleValue::String(value) => Some(value),
        SimpleValue::Symbol(value) => Some(value.as_str()),
        _ => None,
    }
}

fn status_description(status_code: u16) -> &'static str {
    match status_code {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status set by a fault knob",
    }
}
