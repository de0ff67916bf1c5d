//! Serving: the caller binds the listener and owns shutdown, so tests run on port 0 and stop it.
//!
//! One accept loop and one way to serve a connection, used both here (everything on the
//! caller's runtime) and by `workers` (connections handed to worker threads), so the tests that
//! serve in-process speak HTTP exactly as the handler binary does.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use warp::Filter;

use super::answer::Answer;
use super::routes::{routes, Server};

/// Serves until `shutdown` completes on the caller's runtime, then lets in-flight invocations
/// finish.
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = GracefulShutdown::new();
    let routes = routes(server);
    accept(&listener, shutdown, |stream| {
        tokio::spawn(connection(stream, routes.clone(), &graceful));
    })
    .await;
    drop(listener);
    graceful.shutdown().await;
}

/// Accepts connections on `listener`, handing each to `take`, until `shutdown` completes.
pub(super) async fn accept(
    listener: &TcpListener,
    shutdown: impl Future<Output = ()>,
    mut take: impl FnMut(TcpStream),
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => return,
        };
        match accepted {
            Ok((stream, _)) => take(stream),
            // A connection that failed before it was accepted concerns only its client.
            Err(error) if is_connection_error(&error) => {
                tracing::debug!(%error, "a connection failed as it was accepted");
            }
            // Anything else (no file descriptor left) is the process's: pause, do not spin.
            Err(error) => {
                tracing::warn!(%error, "accepting connections failed; trying again shortly");
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }
}

/// How long accepting waits after a failure that is not one connection's.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Whether `error` ended one connection only (its client went away as it was accepted).
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

/// Serves `routes` on `stream` (HTTP/1.1, as the Functions host speaks it) until the client
/// closes it or `graceful` shuts it down after the request in hand.
// Inlined into each caller, so the connection's future is compiled where it is spawned: as a
// shared function (thin LTO, 4 codegen units) the handler measured 3 to 6 % more CPU per event at
// c4 in four windows of interleaved runs, and inlined it measures as before the function existed.
#[inline(always)]
pub(super) fn connection<F>(
    stream: TcpStream,
    routes: F,
    graceful: &GracefulShutdown,
) -> impl Future<Output = ()> + Send + 'static
where
    F: Filter<Extract = (Answer,), Error = Infallible> + Clone + Send + Sync + 'static,
{
    let service = TowerToHyperService::new(warp::service(routes));
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let connection = graceful.watch(connection);
    async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "connection ended with an error");
        }
    }
}
