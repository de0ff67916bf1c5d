//! Why serving a connection, a session or a link stopped early.
//!
//! These errors never cross the public API: each task logs the one that ended it, with the
//! connection id and link address as fields. Tests observe the peer through what it recorded and
//! what the client saw.

use fe2o3_amqp::acceptor::error::AcceptorAttachError;
use fe2o3_amqp::connection::{self, OpenError};
use fe2o3_amqp::link::{DispositionError, SendError};
use fe2o3_amqp::session::BeginError;

/// A failure while serving one connection, session or link.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    /// The accepted socket could not be set up.
    #[error("could not set up the socket: {0}")]
    Socket(#[from] std::io::Error),
    /// The SASL exchange or the Open performative failed.
    #[error("the AMQP handshake failed: {0}")]
    Handshake(#[from] OpenError),
    /// The connection ended with an error rather than a clean Close.
    #[error("the connection failed: {0}")]
    Connection(#[from] connection::Error),
    /// A session the client began could not be accepted.
    #[error("could not begin the session: {0}")]
    Begin(#[from] BeginError),
    /// A link the client attached could not be accepted (or refused cleanly).
    #[error("could not complete the attach: {0}")]
    Attach(#[from] AcceptorAttachError),
    /// fe2o3 picked a link end that does not match the attach's role (it picks by role, so this
    /// would mean fe2o3 changed).
    #[error("link '{link}' attached with an unexpected role")]
    UnexpectedRole {
        /// The link name.
        link: String,
    },
    /// A disposition could not be sent.
    #[error("could not settle a delivery: {0}")]
    Disposition(#[from] DispositionError),
    /// A reply could not be sent.
    #[error("could not send a reply: {0}")]
    Send(#[from] SendError),
}
