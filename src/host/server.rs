//! Serving: the caller binds the listener and owns shutdown, so tests run on port 0 and stop it.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::routes::{routes, Server};

/// Serves until `shutdown` completes, then lets in-flight invocations finish.
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes(server))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}
