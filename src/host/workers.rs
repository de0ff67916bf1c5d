//! Serving on one thread per core, each thread with its own single-threaded runtime.
//!
//! On a multi-threaded runtime an invocation hops between threads: its connection's task, the
//! partition lanes and the AMQP connection's tasks wake each other wherever they last ran, and a
//! wake-up on another thread costs a system call and a context switch on both. Here a worker owns
//! whole HTTP connections and, through [`crate::worker`], the Event Hubs producer its invocations
//! send with, so an invocation runs on one thread from request to answer. The acceptor hands each
//! new connection to the worker serving the fewest.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::routes::{routes, Server};
use super::server::{accept, connection};

/// A worker as the acceptor sees it.
struct Worker {
    connections: mpsc::UnboundedSender<std::net::TcpStream>,
    /// Connections it serves now.
    live: Arc<AtomicUsize>,
    thread: JoinHandle<()>,
}

/// Serves `listener` on `workers` worker threads (at least one) until `shutdown` completes, then
/// stops accepting, lets every connection finish the invocation it is answering, and returns
/// once all workers have stopped. Accepting runs on the caller's runtime.
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    workers: usize,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let workers = (0..workers.max(1))
        .map(|index| start(index, server.clone()))
        .collect::<std::io::Result<Vec<_>>>()?;
    accept(&listener, shutdown, |stream| hand_over(&workers, stream)).await;
    drop(listener);
    for worker in workers {
        drop(worker.connections);
        let thread = worker.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
    Ok(())
}

/// Gives `stream` to the worker serving the fewest connections.
fn hand_over(workers: &[Worker], stream: TcpStream) {
    let stream = match stream.into_std() {
        Ok(stream) => stream,
        Err(error) => {
            tracing::warn!(%error, "a connection could not be handed to a worker");
            return;
        }
    };
    let worker = &workers[least_loaded(workers.iter().map(|w| w.live.load(Ordering::Relaxed)))];
    worker.live.fetch_add(1, Ordering::Relaxed);
    if worker.connections.send(stream).is_err() {
        worker.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The position of the smallest load, the first of equals.
fn least_loaded(loads: impl Iterator<Item = usize>) -> usize {
    loads
        .enumerate()
        .min_by_key(|&(_, load)| load)
        .map_or(0, |(index, _)| index)
}

/// Starts worker `index`: a thread serving the connections it is handed until the acceptor
/// stops handing them, then the invocations in flight on them.
fn start(index: usize, server: Arc<Server>) -> std::io::Result<Worker> {
    let (connections, mut handed) = mpsc::unbounded_channel::<std::net::TcpStream>();
    let live = Arc::new(AtomicUsize::new(0));
    let served = live.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name(format!("worker-{index}"))
        .spawn(move || {
            crate::worker::enter(index);
            runtime.block_on(async move {
                let graceful = GracefulShutdown::new();
                let routes = routes(server);
                while let Some(stream) = handed.recv().await {
                    let stream = match TcpStream::from_std(stream) {
                        Ok(stream) => stream,
                        Err(error) => {
                            tracing::warn!(%error, "a connection could not be served");
                            served.fetch_sub(1, Ordering::Relaxed);
                            continue;
                        }
                    };
                    let serving = connection(stream, routes.clone(), &graceful);
                    let served = served.clone();
                    tokio::spawn(async move {
                        serving.await;
                        served.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                graceful.shutdown().await;
            });
        })?;
    Ok(Worker {
        connections,
        live,
        thread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_goes_to_the_worker_serving_the_fewest() {
        assert_eq!(least_loaded([2, 1, 3].into_iter()), 1);
        assert_eq!(least_loaded([1, 1].into_iter()), 0, "the first of equals");
        assert_eq!(least_loaded(std::iter::empty()), 0);
    }
}
