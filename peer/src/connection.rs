//! One client connection: SASL ANONYMOUS, Open, then a task per session. Also the registry of live
//! connections, which lets the peer drop one on purpose (a fault knob) or all of them (stop).
//!
//! fe2o3 owns the socket once the handshake starts, so each connection keeps a duplicate of the
//! socket's descriptor: shutting that down ends the TCP connection under the AMQP engine, which is
//! what a network failure looks like to the client (no Close performative).

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fe2o3_amqp::acceptor::{ConnectionAcceptor, SaslAnonymousMechanism, SessionAcceptor};
use fe2o3_amqp::connection::Error as ConnectionError;
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use tracing::{info, warn, Instrument};

use crate::error::ServeError;
use crate::server::Shared;
use crate::session::serve_session;
use crate::socket::AcceptedStream;

/// The container id the peer announces in its Open.
const CONTAINER_ID: &str = "eventhubs-peer";

/// The largest frame the peer accepts; the SDK asks for 64 KiB and splits bigger transfers.
const MAX_FRAME_SIZE: u32 = 65_536;

/// What the tasks of one connection share.
#[derive(Debug)]
pub(crate) struct ConnectionContext {
    /// Counts up from 0 per peer; a field on every log line of the connection.
    pub id: u64,
    pub shared: Arc<Shared>,
    socket: Arc<std::net::TcpStream>,
}

impl ConnectionContext {
    /// Ends the TCP connection at once, without an AMQP Close.
    pub fn drop_connection(&self) {
        warn!(
            connection_id = self.id,
            "dropping the connection (fault knob)"
        );
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

#[derive(Debug)]
struct LiveConnection {
    socket: Arc<std::net::TcpStream>,
    task: AbortHandle,
}

/// The connections a peer is serving.
#[derive(Debug, Default)]
pub(crate) struct ConnectionRegistry {
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, LiveConnection>>,
}

impl ConnectionRegistry {
    /// Serves `stream` on a new task, and remembers it until it ends.
    pub fn spawn(
        &self,
        stream: TcpStream,
        remote: SocketAddr,
        shared: Arc<Shared>,
    ) -> io::Result<()> {
        let stream = stream.into_std()?;
        let socket = Arc::new(stream.try_clone()?);
        let stream = TcpStream::from_std(stream)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let context = Arc::new(ConnectionContext {
            id,
            shared,
            socket: socket.clone(),
        });
        // Held across the spawn, so a connection that ends at once is forgotten after it is
        // registered, not before.
        let mut live = lock(&self.live);
        let task = tokio::spawn(async move {
            serve_connection(stream, remote, context.clone()).await;
            context.shared.connections.forget(id);
        });
        live.insert(
            id,
            LiveConnection {
                socket,
                task: task.abort_handle(),
            },
        );
        Ok(())
    }

    /// Drops every live connection.
    pub fn shutdown_all(&self) {
        for (_, connection) in lock(&self.live).drain() {
            let _ = connection.socket.shutdown(Shutdown::Both);
            connection.task.abort();
        }
    }

    fn forget(&self, id: u64) {
        lock(&self.live).remove(&id);
    }
}

#[tracing::instrument(name = "connection", skip_all, fields(connection_id = context.id, %remote))]
async fn serve_connection(stream: TcpStream, remote: SocketAddr, context: Arc<ConnectionContext>) {
    match accept_sessions(stream, &context).await {
        Ok(sessions) => info!(sessions, "connection closed"),
        Err(error) => warn!(%error, "connection ended"),
    }
}

/// Runs the handshake, then accepts sessions until the client closes; returns how many it served.
async fn accept_sessions(
    stream: TcpStream,
    context: &Arc<ConnectionContext>,
) -> Result<usize, ServeError> {
    let acceptor = ConnectionAcceptor::builder()
        .container_id(CONTAINER_ID)
        .max_frame_size(MAX_FRAME_SIZE)
        .sasl_acceptor(SaslAnonymousMechanism::new())
        .build();
    let quick_ack = context.shared.faults.quick_acks();
    let mut connection = acceptor
        .accept(AcceptedStream::new(stream, quick_ack)?)
        .await?;
    info!("connection opened");

    let session_acceptor = SessionAcceptor::new();
    let mut sessions = 0;
    while let Some(incoming) = connection.next_incoming_session().await {
        let session = session_acceptor
            .accept_incoming_session(incoming, &mut connection)
            .await?;
        sessions += 1;
        tokio::spawn(serve_session(session, context.clone()).in_current_span());
    }
    // The engine has stopped; this reports why. A client's Close shows up as `RemoteClosed`.
    match connection.on_close().await {
        Ok(()) | Err(ConnectionError::RemoteClosed) => Ok(sessions),
        Err(error) => Err(error.into()),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
