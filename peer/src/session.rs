//! One session: each link the client attaches is planned from its addresses, then served on its
//! own task (requests, replies or events) or refused the way Event Hubs refuses it.

use std::sync::Arc;

use fe2o3_amqp::acceptor::{LinkAcceptor, LinkEndpoint, ListenerSessionHandle};
use fe2o3_amqp::types::definitions::{self, AmqpError, Role};
use fe2o3_amqp::types::messaging::{Source, Target, TargetArchetype};
use fe2o3_amqp::types::performatives::Attach;
use fe2o3_amqp::Receiver;
use tokio::sync::watch;
use tracing::{debug, info, warn, Instrument};

use crate::address::NodeAddress;
use crate::config::{Entity, PeerConfig};
use crate::connection::ConnectionContext;
use crate::error::ServeError;
use crate::ingest::serve_event_link;
use crate::requests::{
    serve_replies, serve_requests, ReplyLink, ReplyRoutes, RequestNode, SessionEnded,
};

/// What to do with one attach.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LinkPlan {
    /// The client sends requests to `$cbs` or `$management`.
    Requests(RequestNode),
    /// The client receives replies from `$cbs` or `$management` at its node `reply_to`.
    Replies { node: RequestNode, reply_to: String },
    /// The client sends events to a hub or one partition.
    Events(Entity),
    /// Answer the attach with a null terminus, then close the link with this error.
    Refuse {
        condition: AmqpError,
        description: String,
    },
}

/// Serves every link the client attaches on `session`, until the session ends.
#[tracing::instrument(name = "session", skip_all)]
pub(crate) async fn serve_session(
    mut session: ListenerSessionHandle,
    context: Arc<ConnectionContext>,
) {
    let routes = ReplyRoutes::default();
    // The sender is dropped when this function returns, which is when the session has ended.
    let (_session_alive, session_ended) = watch::channel(());
    let scope = SessionScope {
        context: &context,
        routes: &routes,
        session_ended: &session_ended,
    };
    let mut links = 0usize;
    while let Some(attach) = session.next_incoming_attach().await {
        links += 1;
        let link = attach.name.clone();
        if let Err(error) = attach_link(attach, &mut session, scope).await {
            warn!(%link, %error, "attach failed");
        }
    }
    debug!(links, "session ended");
}

/// What the links of one session share.
#[derive(Clone, Copy)]
struct SessionScope<'a> {
    context: &'a Arc<ConnectionContext>,
    routes: &'a ReplyRoutes,
    session_ended: &'a SessionEnded,
}

async fn attach_link(
    attach: Attach,
    session: &mut ListenerSessionHandle,
    scope: SessionScope<'_>,
) -> Result<(), ServeError> {
    let plan = plan_link(&attach, &scope.context.shared.config);
    debug!(link = %attach.name, role = ?attach.role, ?plan, "attach");
    match plan {
        LinkPlan::Refuse {
            condition,
            description,
        } => refuse(attach, session, condition, description).await,
        LinkPlan::Replies { node, reply_to } => {
            attach_replies(attach, session, scope, node, reply_to).await
        }
        LinkPlan::Requests(node) => {
            let receiver = accept_receiver(attach, session, scope).await?;
            let task = serve_requests(receiver, node, scope.routes.clone(), scope.context.clone());
            tokio::spawn(task.in_current_span());
            Ok(())
        }
        LinkPlan::Events(entity) => {
            let receiver = accept_receiver(attach, session, scope).await?;
            let task = serve_event_link(receiver, entity, scope.context.clone());
            tokio::spawn(task.in_current_span());
            Ok(())
        }
    }
}

/// Accepts a link the client sends on (the peer's end receives), advertising the configured
/// `max-message-size`.
async fn accept_receiver(
    attach: Attach,
    session: &mut ListenerSessionHandle,
    scope: SessionScope<'_>,
) -> Result<Receiver, ServeError> {
    let link = attach.name.clone();
    match link_acceptor(scope)
        .accept_incoming_attach(attach, session)
        .await?
    {
        LinkEndpoint::Receiver(receiver) => Ok(receiver),
        LinkEndpoint::Sender(_) => Err(ServeError::UnexpectedRole { link }),
    }
}

/// Accepts a reply link and starts serving it. Its route is registered before the attach is
/// answered: the client sends its first request as soon as both links are up.
async fn attach_replies(
    attach: Attach,
    session: &mut ListenerSessionHandle,
    scope: SessionScope<'_>,
    node: RequestNode,
    reply_to: String,
) -> Result<(), ServeError> {
    let link = attach.name.clone();
    let (route, replies) = scope.routes.open(&reply_to);
    let sender = match link_acceptor(scope)
        .accept_incoming_attach(attach, session)
        .await
    {
        Ok(LinkEndpoint::Sender(sender)) => sender,
        other => {
            scope.routes.close(&reply_to, &route);
            return match other {
                Err(error) => Err(error.into()),
                Ok(_) => Err(ServeError::UnexpectedRole { link }),
            };
        }
    };
    let link = ReplyLink {
        node,
        routes: scope.routes.clone(),
        address: reply_to,
        route,
        session_ended: scope.session_ended.clone(),
    };
    tokio::spawn(serve_replies(sender, replies, link).in_current_span());
    Ok(())
}

/// fe2o3's link acceptor with its default (refusing) handlers for dynamic nodes.
type DefaultLinkAcceptor = LinkAcceptor<fn(Source) -> Option<Source>, fn(Target) -> Option<Target>>;

fn link_acceptor(scope: SessionScope<'_>) -> DefaultLinkAcceptor {
    LinkAcceptor::builder()
        .max_message_size(scope.context.shared.config.max_message_size)
        .build()
}

/// Decides how to answer `attach` from its role and addresses. Pure.
pub(crate) fn plan_link(attach: &Attach, config: &PeerConfig) -> LinkPlan {
    let address = match attach.role {
        Role::Sender => target_address(attach),
        Role::Receiver => source_address(attach),
    };
    let node = address.as_deref().and_then(NodeAddress::parse);
    let address = address.unwrap_or_default();
    match (&attach.role, node) {
        (Role::Sender, Some(NodeAddress::Cbs)) => LinkPlan::Requests(RequestNode::Cbs),
        (Role::Sender, Some(NodeAddress::Management)) => {
            LinkPlan::Requests(RequestNode::Management)
        }
        (Role::Sender, Some(NodeAddress::Entity { hub, partition })) => {
            match config.resolve(&hub, partition.as_deref()) {
                Ok(entity) => LinkPlan::Events(entity),
                Err(description) => LinkPlan::Refuse {
                    condition: AmqpError::NotFound,
                    description,
                },
            }
        }
        (Role::Receiver, Some(NodeAddress::Cbs)) => {
            replies_plan(attach, RequestNode::Cbs, &address)
        }
        (Role::Receiver, Some(NodeAddress::Management)) => {
            replies_plan(attach, RequestNode::Management, &address)
        }
        (Role::Receiver, Some(NodeAddress::Entity { .. })) => LinkPlan::Refuse {
            condition: AmqpError::NotImplemented,
            description: "eventhubs-peer accepts events; it does not serve consumers.".to_string(),
        },
        (_, None) => LinkPlan::Refuse {
            condition: AmqpError::NotFound,
            description: format!("The messaging entity '{address}' could not be found."),
        },
    }
}

/// Replies from `node` go to the client node named by the attach's target.
fn replies_plan(attach: &Attach, node: RequestNode, address: &str) -> LinkPlan {
    match target_address(attach) {
        Some(reply_to) => LinkPlan::Replies { node, reply_to },
        None => LinkPlan::Refuse {
            condition: AmqpError::InvalidField,
            description: format!("A link from '{address}' needs a target address for replies."),
        },
    }
}

/// Refuses a link as the service does: the attach answer carries a null terminus (there is no such
/// node), then a closing detach carries the error. The client's attach fails with that error.
async fn refuse(
    mut attach: Attach,
    session: &mut ListenerSessionHandle,
    condition: AmqpError,
    description: String,
) -> Result<(), ServeError> {
    info!(link = %attach.name, ?condition, %description, "refusing link");
    match attach.role {
        Role::Sender => attach.target = None,
        Role::Receiver => attach.source = None,
    }
    let error = definitions::Error::new(condition, description, None);
    let closed = match LinkAcceptor::new()
        .accept_incoming_attach(attach, session)
        .await?
    {
        LinkEndpoint::Sender(sender) => sender.close_with_error(error).await,
        LinkEndpoint::Receiver(receiver) => receiver.close_with_error(error).await,
    };
    if let Err(error) = closed {
        debug!(%error, "refused link closed untidily");
    }
    Ok(())
}

fn source_address(attach: &Attach) -> Option<String> {
    attach
        .source
        .as_ref()
        .and_then(|source| source.address.clone())
}

fn target_address(attach: &Attach) -> Option<String> {
    // `Coordinator` exists only when fe2o3's `transaction` feature is on.
    #[allow(unreachable_patterns)]
    attach.target.as_deref().and_then(|target| match target {
        TargetArchetype::Target(target) => target.address.clone(),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
