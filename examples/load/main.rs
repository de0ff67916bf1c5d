//! End-to-end load test of a custom handler, driven the way the Functions host drives it.
//!
//! `--target handler` (the default) starts the local Event Hubs peer in this process, spawns the
//! `handler` binary with the settings the host would pass (environment only, no arguments), and
//! checks at the end that the peer received one record for every event sent. `--target node`
//! spawns the Node.js reference (`benches/reference-node/server.js`) instead; it sends nothing
//! itself (its records go back in `Outputs.records`, for an output binding), so each answer is
//! checked to hold one record per event.
//!
//! Measured: time from spawn to the first answer on `GET /` (polled every 1 ms), events/s
//! delivered (to the peer, or returned in `Outputs`), invocation latency p50/p99 and the server's
//! peak RSS (`VmHWM`). A run that loses records prints `FAILED` and exits non-zero.
//!
//! ```sh
//! cargo build --release --example load --bin handler
//! target/release/examples/load --target handler --concurrency 8 --seconds 20
//! target/release/examples/load --target node --concurrency 8 --seconds 20
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use eventhubs_peer::{Peer, PeerConfig};
use serde_json::{json, Value};
use support::{event_hub_request, twin_update, HubEvent, HubRequestOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FUNCTION: &str = "TwinUpdatesEventHub";
const RECORDS_HUB: &str = "records";
const PARTITIONS: u32 = 4;
/// How long the handler may take to answer `GET /` at all.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the peer may lag behind the last answer (the handler answers after its send).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    /// The Rust `handler` binary, sending to the in-process Event Hubs peer.
    Handler,
    /// The Node.js reference, answering with an output binding.
    Node,
}

#[derive(Parser, Debug)]
#[command(about = "Load a custom handler as the Functions host would")]
struct Args {
    /// Which server to spawn.
    #[arg(long, value_enum, default_value_t = Target::Handler)]
    target: Target,
    /// The handler binary (`--target handler`).
    #[arg(long, default_value = "target/release/handler")]
    handler: PathBuf,
    /// The Node.js executable (`--target node`).
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// The reference server script (`--target node`).
    #[arg(long, default_value = "benches/reference-node/server.js")]
    script: PathBuf,
    /// Invocations in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// How long to send for (ignored with `--batches`).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Send exactly this many batches instead of sending for `--seconds`.
    #[arg(long)]
    batches: Option<u64>,
    /// Events per batch (the host's `maxEventBatchSize`).
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Distinct twins the events are spread over.
    #[arg(long, default_value_t = 6)]
    twins: usize,
}

/// What every worker shares: the batch counter, when to stop, and what came back.
struct Load {
    client: reqwest::Client,
    url: String,
    target: Target,
    batch_size: usize,
    twins: usize,
    next_batch: AtomicU64,
    batch_limit: Option<u64>,
    deadline: Instant,
    results: Mutex<Results>,
}

#[derive(Default)]
struct Results {
    latencies: Vec<Duration>,
    expected_ids: Vec<String>,
    events_answered: u64,
    failures: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one measurement; `Ok(false)` when records were lost or invocations failed.
async fn run(args: Args) -> Result<bool, String> {
    let peer = match args.target {
        Target::Handler => Some(
            Peer::start(PeerConfig::new("localhost").hub(RECORDS_HUB, PARTITIONS))
                .await
                .map_err(|e| format!("peer: {e}"))?,
        ),
        Target::Node => None,
    };
    let port = free_port()?;
    let spawned = Instant::now();
    let mut child = spawn_server(&args, port, peer.as_ref().map(Peer::addr))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let started = wait_for_first_answer(addr, spawned, &mut child).await;
    let start_ms = match started {
        Ok(elapsed) => elapsed.as_secs_f64() * 1000.0,
        Err(error) => {
            stop(&mut child);
            return Err(error);
        }
    };

    let load = Arc::new(Load {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .build()
            .map_err(|e| e.to_string())?,
        url: format!("http://{addr}/{FUNCTION}"),
        target: args.target,
        batch_size: args.batch_size,
        twins: args.twins.max(1),
        next_batch: AtomicU64::new(0),
        batch_limit: args.batches,
        deadline: Instant::now() + Duration::from_secs(args.seconds),
        results: Mutex::new(Results::default()),
    });
    let elapsed = drive(&load, args.concurrency).await;
    let peak_rss_kib = peak_rss_kib(child.id());
    let server_cpu = cpu_seconds(&child.id().to_string());
    stop(&mut child);

    let results = std::mem::take(&mut *load.results.lock().unwrap());
    let delivered = match &peer {
        Some(peer) => check_peer(peer, &results.expected_ids).await,
        None => Delivery {
            events: results.events_answered,
            missing: 0,
            unexpected: 0,
        },
    };
    if let Some(peer) = peer {
        peer.stop().await;
    }
    let usage = Usage {
        start_ms,
        peak_rss_kib,
        server_cpu,
        load_cpu: cpu_seconds("self"),
    };
    Ok(report(&args, &results, &delivered, elapsed, &usage))
}

fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts the server as the host does: the port and the app settings in the environment.
fn spawn_server(args: &Args, port: u16, peer: Option<SocketAddr>) -> Result<Child, String> {
    let mut command = match args.target {
        Target::Handler => Command::new(&args.handler),
        Target::Node => {
            let mut command = Command::new(&args.node);
            command.arg(&args.script);
            command
        }
    };
    command
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(peer) = peer {
        command
            .env("TsiEventHubConnection", format!("Endpoint=sb://localhost:{}/;SharedAccessKeyName=dev;SharedAccessKey=ZGV2a2V5;UseDevelopmentEmulator=true", peer.port()))
            .env("TSI_EVENTHUB_NAME", RECORDS_HUB);
    }
    command
        .spawn()
        .map_err(|e| format!("spawning {:?}: {e}", command.get_program()))
}

/// Polls `GET /` every 1 ms until any HTTP answer arrives; returns the time since `spawned`.
async fn wait_for_first_answer(
    addr: SocketAddr,
    spawned: Instant,
    child: &mut Child,
) -> Result<Duration, String> {
    loop {
        if get_root(addr).await {
            return Ok(spawned.elapsed());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the server exited before answering: {status}"));
        }
        if spawned.elapsed() > START_TIMEOUT {
            return Err(format!("no answer on GET / after {START_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// One raw `GET /`, as the host's readiness probe: true when any HTTP status line comes back.
async fn get_root(addr: SocketAddr) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.is_ok() && head.starts_with(b"HTTP/1.1 ")
}

/// Runs `concurrency` workers until the deadline or the batch limit; returns the time it took.
async fn drive(load: &Arc<Load>, concurrency: usize) -> Duration {
    let began = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| tokio::spawn(worker(load.clone())))
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    began.elapsed()
}

async fn worker(load: Arc<Load>) {
    while let Some(batch) = load.take_batch() {
        let events = batch_events(batch, load.batch_size, load.twins);
        let ids = expected_message_ids(&events);
        let body = event_hub_request(&events, HubRequestOptions::default()).to_string();
        let sent = Instant::now();
        let outcome = invoke(&load, body).await;
        let latency = sent.elapsed();
        let answer = outcome.and_then(|answer| check_answer(load.target, &answer, events.len()));
        let mut results = load.results.lock().unwrap();
        results.latencies.push(latency);
        results.expected_ids.extend(ids);
        match answer {
            Ok(records) => results.events_answered += records as u64,
            Err(error) => results.failures.push(format!("batch {batch}: {error}")),
        }
    }
}

impl Load {
    /// The next batch number, or `None` once the run is over.
    fn take_batch(&self) -> Option<u64> {
        if self.batch_limit.is_none() && Instant::now() >= self.deadline {
            return None;
        }
        let batch = self.next_batch.fetch_add(1, Ordering::Relaxed);
        match self.batch_limit {
            Some(limit) if batch >= limit => None,
            _ => Some(batch),
        }
    }
}

/// The events of batch `batch`: distinct event ids across the whole run, spread over `twins`.
fn batch_events(batch: u64, size: usize, twins: usize) -> Vec<HubEvent> {
    (0..size)
        .map(|i| {
            let index = batch as usize * size + i;
            let twin = format!("GrindingStep-{}", index % twins);
            let patch = json!([
                {"op": "replace", "path": "/ChasisTemperature", "value": 200.0 + (index % 10) as f64},
                {"op": "replace", "path": "/PowerUsage", "value": 70}
            ]);
            twin_update(index, &twin, patch)
        })
        .collect()
}

/// The handler numbers the records of an event `<event id>:<index>`; these updates make one each.
fn expected_message_ids(events: &[HubEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{}:0",
                e.properties["cloudEvents:id"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// One invocation; the answer's JSON when the status is 200.
async fn invoke(load: &Load, body: String) -> Result<Value, String> {
    let response = load
        .client
        .post(&load.url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("User-Agent", "Azure-Functions-Host/4.1037.0.0")
        .header("X-Azure-Functions-HostVersion", "4.1037.0.0")
        .header(
            "X-Azure-Functions-InvocationId",
            "4f1d6c3e-2b1a-4d7e-9c8f-0a1b2c3d4e5f",
        )
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("status {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("invalid JSON answer: {e}"))
}

/// Checks an answer; returns the records it accounts for. The handler sends its records itself
/// (the peer is checked later); the reference must hold one record per event in `Outputs`.
fn check_answer(target: Target, answer: &Value, events: usize) -> Result<usize, String> {
    if !answer.is_object() {
        return Err(format!("answer is not a JSON object: {answer}"));
    }
    if target == Target::Handler {
        return Ok(events);
    }
    let records = answer
        .pointer("/Outputs/records")
        .and_then(Value::as_array)
        .ok_or("no Outputs.records array")?;
    if records.len() != events {
        return Err(format!("{} records for {events} events", records.len()));
    }
    let well_formed = records.iter().all(|r| {
        r.as_str()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .is_some_and(|record| record.get("$dtId").is_some())
    });
    if !well_formed {
        return Err("a record is not a JSON string with $dtId".into());
    }
    Ok(events)
}

/// What reached the peer, against what was expected.
struct Delivery {
    events: u64,
    missing: usize,
    unexpected: usize,
}

/// Waits for the peer to hold every expected record, then compares message ids.
async fn check_peer(peer: &Peer, expected_ids: &[String]) -> Delivery {
    let received = peer
        .wait_for_events(RECORDS_HUB, expected_ids.len(), DRAIN_TIMEOUT)
        .await;
    let expected: HashSet<&str> = expected_ids.iter().map(String::as_str).collect();
    let got: HashSet<&str> = received
        .iter()
        .filter_map(|e| e.message_id.as_deref())
        .collect();
    Delivery {
        events: received.len() as u64,
        missing: expected.difference(&got).count(),
        unexpected: got.difference(&expected).count() + (received.len() - got.len()),
    }
}

/// The process's peak resident set (`VmHWM`) in KiB, read before it is stopped.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User plus system CPU time of a process (`self` or a pid) in seconds, from `/proc/<pid>/stat`
/// (clock ticks assumed to be 1/100 s, as on every Linux we run on).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// SIGTERM, as the host does, then SIGKILL if it lingers.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// What the server process (and this one) used.
struct Usage {
    start_ms: f64,
    peak_rss_kib: Option<u64>,
    /// CPU seconds of the server over its whole life.
    server_cpu: Option<f64>,
    /// CPU seconds of this process: load generator plus, for the handler, the peer.
    load_cpu: Option<f64>,
}

/// Prints the measurements; true when nothing was lost and no invocation failed.
fn report(
    args: &Args,
    results: &Results,
    delivery: &Delivery,
    elapsed: Duration,
    usage: &Usage,
) -> bool {
    let mut latencies = results.latencies.clone();
    latencies.sort();
    let target = match args.target {
        Target::Handler => "handler",
        Target::Node => "node",
    };
    let rss = usage.peak_rss_kib.map_or("unknown".to_string(), |kib| {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    });
    println!(
        "target {target}: concurrency {}, {} batches of {} events in {:.2} s",
        args.concurrency,
        latencies.len(),
        args.batch_size,
        elapsed.as_secs_f64()
    );
    println!("start to first answer: {:.1} ms", usage.start_ms);
    println!(
        "events/s delivered:    {:.0} ({} events{})",
        delivery.events as f64 / elapsed.as_secs_f64(),
        delivery.events,
        if args.target == Target::Handler {
            " at the peer"
        } else {
            " in Outputs"
        }
    );
    println!(
        "invocation latency:    p50 {:.2} ms, p99 {:.2} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0)
    );
    println!("peak RSS (VmHWM):      {rss}");
    let seconds = |cpu: Option<f64>| cpu.map_or("unknown".to_string(), |s| format!("{s:.1} s"));
    println!(
        "CPU time:              server {}, load generator{} {}",
        seconds(usage.server_cpu),
        if args.target == Target::Handler {
            " + peer"
        } else {
            ""
        },
        seconds(usage.load_cpu)
    );
    for failure in results.failures.iter().take(5) {
        println!("failed invocation: {failure}");
    }
    let ok = results.failures.is_empty() && delivery.missing == 0 && delivery.unexpected == 0;
    if ok {
        println!(
            "OK: {} of {} records accounted for",
            delivery.events,
            results.expected_ids.len()
        );
    } else {
        println!(
            "FAILED: {} failed invocations, {} records missing, {} unexpected or duplicated",
            results.failures.len(),
            delivery.missing,
            delivery.unexpected
        );
    }
    ok
}
