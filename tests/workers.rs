//! The server as the binary runs it: one thread per worker, connections spread over them.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adt_bridge::host::{workers, App, Server};
use adt_bridge::records::{Records, TransformOptions};
use adt_bridge::sink::memory::MemorySink;
use adt_bridge::sink::{DeadLetter, Delivery, RecordSink, SinkError};
use futures_util::future::{BoxFuture, FutureExt};
use support::*;

/// A memory sink that notes which worker sent each batch, and can take its time.
#[derive(Default)]
struct Noting {
    sink: MemorySink,
    by_worker: Mutex<BTreeMap<usize, usize>>,
    delay: Duration,
}

impl Noting {
    /// Batches handed to the sink so far, by any worker.
    fn batches(&self) -> usize {
        self.by_worker.lock().unwrap().values().sum()
    }
}

impl RecordSink for Noting {
    fn send<'a>(&'a self, records: &'a Records) -> BoxFuture<'a, Result<Delivery, SinkError>> {
        *self
            .by_worker
            .lock()
            .unwrap()
            .entry(adt_bridge::worker::current())
            .or_default() += 1;
        async move {
            tokio::time::sleep(self.delay).await;
            self.sink.send(records).await
        }
        .boxed()
    }

    fn dead_letter<'a>(
        &'a self,
        letters: &'a [DeadLetter],
    ) -> BoxFuture<'a, Result<usize, SinkError>> {
        self.sink.dead_letter(letters)
    }
}

struct Running {
    addr: SocketAddr,
    sink: Arc<Noting>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(count: usize, delay: Duration) -> Running {
    let sink = Arc::new(Noting {
        delay,
        ..Noting::default()
    });
    let server = Arc::new(Server {
        app: App::new(TransformOptions::default(), sink.clone()),
        max_request_bytes: 1 << 20,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(workers::serve(listener, server, count, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        sink,
        stop,
        task,
    }
}

async fn invoke(client: &reqwest::Client, addr: SocketAddr, index: usize) -> u16 {
    let request = event_hub_request(&[grinding_update(index)], HubRequestOptions::default());
    client
        .post(format!("http://{addr}/TwinUpdatesEventHub"))
        .header("Content-Type", "application/json")
        .body(request.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn connections_are_spread_over_the_workers_and_every_invocation_is_answered() {
    let running = start(2, Duration::ZERO).await;
    // Four clients, four connections, each kept alive for three invocations. No client goes on
    // before all four have been answered once, so all four connections are open together.
    let all_connected = Arc::new(tokio::sync::Barrier::new(4));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let addr = running.addr;
            let all_connected = all_connected.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut statuses = vec![invoke(&http, addr, client * 3).await];
                all_connected.wait().await;
                for invocation in 1..3 {
                    statuses.push(invoke(&http, addr, client * 3 + invocation).await);
                }
                statuses
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.await.unwrap(), [200, 200, 200]);
    }
    let by_worker = running.sink.by_worker.lock().unwrap().clone();
    assert_eq!(by_worker.values().sum::<usize>(), 12, "{by_worker:?}");
    assert_eq!(
        by_worker.keys().copied().collect::<Vec<_>>(),
        [0, 1],
        "both workers served: {by_worker:?}"
    );
    assert_eq!(running.sink.sink.records().len(), 12);
    running.stop.send(()).unwrap();
    let served = tokio::time::timeout(Duration::from_secs(5), running.task).await;
    served
        .expect("stopping does not wait for idle connections")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn stopping_lets_the_invocation_in_flight_finish() {
    let running = start(2, Duration::from_millis(300)).await;
    let idle = reqwest::Client::new();
    assert_eq!(invoke(&idle, running.addr, 0).await, 200);
    let addr = running.addr;
    let in_flight = tokio::spawn(async move { invoke(&reqwest::Client::new(), addr, 1).await });
    // Stop once the sink has the invocation: it is then in flight, whatever the machine's pace.
    let waiting = Instant::now();
    while running.sink.batches() < 2 {
        assert!(
            waiting.elapsed() < Duration::from_secs(5),
            "the invocation never arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stopping = Instant::now();
    running.stop.send(()).unwrap();
    assert_eq!(
        in_flight.await.unwrap(),
        200,
        "the in-flight invocation finished"
    );
    tokio::time::timeout(Duration::from_secs(5), running.task)
        .await
        .expect("the idle connection was closed, not waited on")
        .unwrap()
        .unwrap();
    assert!(
        stopping.elapsed() >= Duration::from_millis(150),
        "the server waited for the invocation"
    );
    assert_eq!(running.sink.sink.records().len(), 2);
}
