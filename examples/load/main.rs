//! End-to-end load test of a custom handler, driven the way the Functions host drives it.
//!
//! `--target handler` (the default) starts the local Event Hubs peer in this process, spawns the
//! `handler` binary with the settings the host would pass (environment only, no arguments), and
//! checks at the end that the peer received one record for every event answered. `--target node`
//! spawns the Node.js reference (`benches/reference-node/server.js`) instead; it sends nothing
//! itself (its records go back in `Outputs.records`, for an output binding), so each answer is
//! checked to hold one record per event.
//!
//! Measured: time from spawn to the first answer on `GET /` (polled every 1 ms), events/s
//! delivered (to the peer, or returned in `Outputs`), invocation latency p50/p99 and the server's
//! peak RSS (`VmHWM`). A run that loses records prints `FAILED` and exits non-zero.
//!
//! The soak (docs/robustness.md) is the same tool at a steady `--rate`, with `--flap-every` making
//! the peer drop its connection and refuse new ones at intervals, `--retry` resending failed
//! invocations as the host does, and `--sample-every` printing the server's RSS as it goes.
//!
//! ```sh
//! cargo build --release --example load --bin handler
//! target/release/examples/load --target handler --concurrency 8 --seconds 20
//! target/release/examples/load --target node --concurrency 8 --seconds 20
//! ```

mod batches;
mod drive;
mod server;
#[path = "../../tests/support/mod.rs"]
mod support;
mod weather;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use eventhubs_peer::{Peer, PeerConfig};

use batches::{expected_message_ids, BatchTemplate};
use drive::{Load, Plan, Results};
use server::Program;
use weather::Flapping;

const RECORDS_HUB: &str = "records";
const PARTITIONS: u32 = 4;
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
    /// Invocations in flight at once (the cap, with `--rate`).
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
    /// Batches per second, steady, instead of as fast as the server answers.
    #[arg(long)]
    rate: Option<f64>,
    /// The peer's pause before settling each transfer, in ms: a stand-in for the network round
    /// trip and the service's write (below ~1 ms fe2o3's client starts losing dispositions).
    #[arg(long, default_value_t = 1.0)]
    peer_delay_ms: f64,
    /// Resend failed invocations with the host's backoff (2 s doubling to 5 min) instead of
    /// counting them as failures of the run.
    #[arg(long)]
    retry: bool,
    /// Make the peer drop its connection and refuse new ones every this many seconds.
    #[arg(long)]
    flap_every: Option<u64>,
    /// How long each refusal lasts, in seconds.
    #[arg(long, default_value_t = 5)]
    flap_for: u64,
    /// Print the server's RSS every this many seconds.
    #[arg(long)]
    sample_every: Option<u64>,
    /// With `--retry`: how long after sending stops retries may go on.
    #[arg(long, default_value_t = 600)]
    settle_seconds: u64,
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
        Target::Handler => {
            let peer = Peer::start(PeerConfig::new("localhost").hub(RECORDS_HUB, PARTITIONS))
                .await
                .map_err(|e| format!("peer: {e}"))?;
            peer.faults().set_settle_delay(Duration::from_secs_f64(
                args.peer_delay_ms.max(0.0) / 1000.0,
            ));
            Some(peer)
        }
        Target::Node => None,
    };
    let program = match &peer {
        Some(peer) => Program::Handler {
            binary: args.handler.clone(),
            connection: format!("Endpoint=sb://localhost:{}/;SharedAccessKeyName=dev;SharedAccessKey=ZGV2a2V5;UseDevelopmentEmulator=true", peer.addr().port()),
            hub: RECORDS_HUB.into(),
        },
        None => Program::Node {
            node: args.node.clone(),
            script: args.script.clone(),
        },
    };
    let port = server::free_port()?;
    let spawned = Instant::now();
    let mut child = server::spawn(&program, port)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let start_ms = match server::wait_for_first_answer(addr, spawned, &mut child).await {
        Ok(elapsed) => elapsed.as_secs_f64() * 1000.0,
        Err(error) => {
            server::stop(&mut child);
            return Err(error);
        }
    };

    let sending_ends = Instant::now() + Duration::from_secs(args.seconds);
    let plan = Plan {
        concurrency: args.concurrency.max(1),
        deadline: sending_ends,
        batch_limit: args.batches,
        rate: args.rate,
        retry: args.retry,
        give_up: sending_ends + Duration::from_secs(args.settle_seconds),
    };
    let template = BatchTemplate::new(args.batch_size, args.twins);
    let load = Arc::new(Load::new(addr, args.target, template, plan)?);
    let pid = child.id();
    let flapping = async {
        let every = args.flap_every?;
        let flapping = Flapping {
            every: Duration::from_secs(every),
            outage: Duration::from_secs(args.flap_for),
        };
        Some(weather::flap(peer.as_ref()?, flapping, sending_ends).await)
    };
    let sampling = async {
        match args.sample_every {
            Some(every) => {
                let every = Duration::from_secs(every.max(1));
                weather::sample_memory(pid, every, sending_ends).await
            }
            None => Vec::new(),
        }
    };
    let (elapsed, outages, samples) = tokio::join!(drive::drive(&load), flapping, sampling);
    let usage = Usage {
        start_ms,
        peak_rss_kib: server::memory_kib(child.id(), "VmHWM"),
        server_cpu: server::cpu_seconds(&child.id().to_string()),
        load_cpu: server::cpu_seconds("self"),
    };
    server::stop(&mut child);

    let results = load.take_results();
    let delivery = match &peer {
        Some(peer) => check_peer(peer, &results, args.batch_size).await,
        None => Delivery {
            events: results.records_answered,
            ..Delivery::default()
        },
    };
    if let Some(peer) = peer {
        println!("peer transfers:        {}", peer.transfer_count());
        peer.stop().await;
    }
    if let Some(outages) = outages {
        println!("peer outages:          {outages}");
    }
    if let Some((first, least, most, last)) = weather::summary(&samples) {
        println!("RSS over the run:      first {first:.1} MiB, min {least:.1}, max {most:.1}, last {last:.1}");
    }
    Ok(report(&args, &results, &delivery, elapsed, &usage))
}

/// What reached the peer, against what was expected.
#[derive(Default)]
struct Delivery {
    /// Records the peer holds (duplicates included).
    events: u64,
    missing: usize,
    unexpected: usize,
    duplicates: usize,
}

/// Waits for the peer to hold every expected record, then compares message ids.
async fn check_peer(peer: &Peer, results: &Results, batch_size: usize) -> Delivery {
    let expected_count = results.delivered.len() * batch_size;
    peer.wait_for_count(RECORDS_HUB, expected_count, DRAIN_TIMEOUT)
        .await;
    let received = peer.message_ids(RECORDS_HUB);
    let without_id = received.iter().filter(|id| id.is_none()).count();
    let mut distinct: HashSet<String> = received.iter().flatten().cloned().collect();
    let duplicates = received.len() - without_id - distinct.len();
    let missing = results
        .delivered
        .iter()
        .flat_map(|&batch| expected_message_ids(batch, batch_size))
        .filter(|id| !distinct.remove(id))
        .count();
    // What is left was not expected: records of batches never answered 200, or stray ids.
    let abandoned: HashSet<String> = results
        .abandoned
        .iter()
        .flat_map(|&batch| expected_message_ids(batch, batch_size))
        .collect();
    let unexpected = distinct.difference(&abandoned).count() + without_id;
    Delivery {
        events: received.len() as u64,
        missing,
        unexpected,
        duplicates,
    }
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

/// Prints the measurements; true when nothing was lost and no invocation failed for good.
fn report(
    args: &Args,
    results: &Results,
    delivery: &Delivery,
    elapsed: Duration,
    usage: &Usage,
) -> bool {
    let mut latencies = results.latencies.clone();
    latencies.sort();
    let handler = args.target == Target::Handler;
    let target = if handler { "handler" } else { "node" };
    let rss = usage.peak_rss_kib.map_or("unknown".to_string(), |kib| {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    });
    println!(
        "target {target}: concurrency {}, {} batches of {} events answered in {:.2} s{}",
        args.concurrency,
        results.delivered.len(),
        args.batch_size,
        elapsed.as_secs_f64(),
        if handler {
            format!(", peer delay {} ms", args.peer_delay_ms)
        } else {
            String::new()
        }
    );
    println!("start to first answer: {:.1} ms", usage.start_ms);
    let delivered = (results.delivered.len() * args.batch_size) as f64;
    println!(
        "events/s delivered:    {:.0} ({} records {})",
        delivered / elapsed.as_secs_f64(),
        delivery.events,
        if handler { "at the peer" } else { "in Outputs" }
    );
    println!(
        "invocation latency:    p50 {:.2} ms, p99 {:.2} ms ({} attempts)",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.len()
    );
    println!("peak RSS (VmHWM):      {rss}");
    let seconds = |cpu: Option<f64>| cpu.map_or("unknown".to_string(), |s| format!("{s:.1} s"));
    println!(
        "CPU time:              server {}, load generator{} {}",
        seconds(usage.server_cpu),
        if handler { " + peer" } else { "" },
        seconds(usage.load_cpu)
    );
    println!(
        "failed attempts:       {} (retried: {}), batches abandoned: {}",
        results.failed_attempts,
        args.retry,
        results.abandoned.len()
    );
    if handler {
        println!("duplicates at peer:    {}", delivery.duplicates);
    }
    for failure in &results.first_failures {
        println!("failed invocation: {failure}");
    }
    let failures_allowed = args.retry || results.failed_attempts == 0;
    let ok = failures_allowed
        && results.abandoned.is_empty()
        && delivery.missing == 0
        && delivery.unexpected == 0;
    if ok {
        println!(
            "OK: every one of {} records accounted for",
            results.delivered.len() * args.batch_size
        );
    } else {
        println!(
            "FAILED: {} failed attempts, {} batches abandoned, {} records missing, {} unexpected",
            results.failed_attempts,
            results.abandoned.len(),
            delivery.missing,
            delivery.unexpected
        );
    }
    ok
}
