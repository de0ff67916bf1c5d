//! End-to-end load test of a custom handler, driven the way the Functions host drives it.
//!
//! `--target handler` (the default) starts the local Event Hubs peer in this process, spawns the
//! `handler` binary with the settings the host would pass (environment only, no arguments), and
//! checks at the end that the peer received, exactly once, the record of every event answered,
//! whether the handler sends a record per event or packs records into JSON arrays (`delivery`).
//! `--target node` spawns the Node.js reference (`benches/reference-node/server.js`) instead; it
//! sends nothing itself (its records go back in `Outputs.records`, for an output binding), so each
//! answer is checked to hold one record per event.
//!
//! The peer answers as the service does unless told otherwise (`--peer-mode service`): it settles
//! each transfer as soon as it is recorded and leaves ACK timing to the kernel. `--peer-mode
//! quick-ack` is the flattering peer earlier measurements used: a quick ACK after every read and
//! a 1 ms pause before each settlement (`--peer-delay-ms` overrides the pause in either mode).
//!
//! Measured: time from spawn to the first answer on `GET /` (polled every 100 µs), events/s
//! delivered (to the peer, or returned in `Outputs`), invocation latency p50/p99, the server's
//! peak RSS (`VmHWM`), and the server's CPU time (user + system, `/proc/<pid>/stat`) over the
//! measured window, per event. A run that loses records prints `FAILED` and exits non-zero.
//!
//! The soak (docs/robustness.md) is the same tool at a steady `--rate`, with `--flap-every` making
//! the peer drop its connection and refuse new ones at intervals, `--retry` resending failed
//! invocations as the host does, and `--sample-every` printing the server's RSS as it goes.
//!
//! ```sh
//! cargo build --release --example load --bin handler
//! target/release/examples/load --target handler --concurrency 8 --seconds 20
//! target/release/examples/load --target node --concurrency 8 --seconds 20
//! target/release/examples/load --target handler --peer-mode quick-ack   # the old peer
//! ```

mod batches;
mod delivery;
mod drive;
mod server;
#[path = "../../tests/support/mod.rs"]
mod support;
mod weather;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use eventhubs_peer::{Peer, PeerConfig};

use batches::BatchTemplate;
use delivery::Delivery;
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

/// How the in-process peer answers (`--target handler`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PeerMode {
    /// As the service does: settles each transfer as soon as it is recorded, ACK timing left to
    /// the kernel.
    Service,
    /// The old load-test peer: a quick ACK after every read (hiding the client's Nagle waits) and
    /// a 1 ms pause before each settlement.
    QuickAck,
}

impl PeerMode {
    /// The pause before each settlement unless `--peer-delay-ms` says otherwise.
    fn default_delay_ms(self) -> f64 {
        match self {
            PeerMode::Service => 0.0,
            PeerMode::QuickAck => 1.0,
        }
    }
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
    /// How the peer answers: as the service does, or the old flattering way.
    #[arg(long, value_enum, default_value_t = PeerMode::Service)]
    peer_mode: PeerMode,
    /// The peer's pause before settling each transfer, in ms (default: 0 with `service`, 1 with
    /// `quick-ack`): a stand-in for a network round trip, for experiments.
    #[arg(long)]
    peer_delay_ms: Option<f64>,
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
            // Both knobs before the handler connects: quick ACKs are set up per accepted socket.
            peer.faults()
                .set_quick_ack(args.peer_mode == PeerMode::QuickAck);
            peer.faults().set_settle_delay(Duration::from_secs_f64(
                peer_delay_ms(&args).max(0.0) / 1000.0,
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
    let server_pid = pid.to_string();
    let cpu_before = (
        server::cpu_seconds(&server_pid),
        server::cpu_seconds("self"),
    );
    let (elapsed, outages, samples) = tokio::join!(drive::drive(&load), flapping, sampling);
    let cpu_after = (
        server::cpu_seconds(&server_pid),
        server::cpu_seconds("self"),
    );
    let window = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    let usage = Usage {
        start_ms,
        peak_rss_kib: server::memory_kib(child.id(), "VmHWM"),
        server_cpu: window(cpu_before.0, cpu_after.0),
        load_cpu: window(cpu_before.1, cpu_after.1),
    };
    server::stop(&mut child);

    let results = load.take_results();
    let delivery = match &peer {
        Some(peer) => {
            delivery::check_peer(peer, RECORDS_HUB, &results, &load.template, DRAIN_TIMEOUT).await
        }
        None => Delivery {
            records: results.records_answered,
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

/// The settle pause the peer uses, in ms.
fn peer_delay_ms(args: &Args) -> f64 {
    args.peer_delay_ms
        .unwrap_or_else(|| args.peer_mode.default_delay_ms())
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
    /// CPU seconds of the server while batches were sent.
    server_cpu: Option<f64>,
    /// CPU seconds of this process meanwhile: load generator plus, for the handler, the peer.
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
            let mode = match args.peer_mode {
                PeerMode::Service => "service",
                PeerMode::QuickAck => "quick-ack",
            };
            format!(", peer {mode}, delay {} ms", peer_delay_ms(args))
        } else {
            String::new()
        }
    );
    println!("start to first answer: {:.1} ms", usage.start_ms);
    let delivered = (results.delivered.len() * args.batch_size) as f64;
    let holds = if handler {
        format!(
            "{} records at the peer in {} events",
            delivery.records, delivery.events
        )
    } else {
        format!("{} records in Outputs", delivery.records)
    };
    println!(
        "events/s delivered:    {:.0} ({holds})",
        delivered / elapsed.as_secs_f64(),
    );
    println!(
        "invocation latency:    p50 {:.2} ms, p99 {:.2} ms ({} attempts)",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.len()
    );
    println!("peak RSS (VmHWM):      {rss}");
    let seconds = |cpu: Option<f64>| cpu.map_or("unknown".to_string(), |s| format!("{s:.2} s"));
    let per_event = |cpu: Option<f64>| {
        cpu.filter(|_| delivered > 0.0)
            .map_or("unknown".to_string(), |s| {
                format!("{:.2} µs/event", s * 1e6 / delivered)
            })
    };
    println!(
        "CPU while sending:     server {} ({}), load generator{} {} ({})",
        seconds(usage.server_cpu),
        per_event(usage.server_cpu),
        if handler { " + peer" } else { "" },
        seconds(usage.load_cpu),
        per_event(usage.load_cpu)
    );
    println!(
        "failed attempts:       {} (retried: {}), batches abandoned: {}",
        results.failed_attempts,
        args.retry,
        results.abandoned.len()
    );
    if handler {
        println!(
            "at the peer:           {} missing, {} unexpected, {} duplicates, {} malformed, {} twins split over partitions",
            delivery.missing, delivery.unexpected, delivery.duplicates, delivery.malformed, delivery.split
        );
    }
    for failure in &results.first_failures {
        println!("failed invocation: {failure}");
    }
    let failures_allowed = args.retry || results.failed_attempts == 0;
    // A flapping peer drops transfers whose outcome the client never learns: resending them is
    // at-least-once delivery, so duplicates are expected there and a fault anywhere else.
    let delivered = if args.flap_every.is_some() {
        delivery.complete_at_least_once()
    } else {
        delivery.complete()
    };
    let ok = failures_allowed && results.abandoned.is_empty() && delivered;
    if ok {
        println!(
            "OK: every one of {} records accounted for",
            results.delivered.len() * args.batch_size
        );
    } else {
        println!(
            "FAILED: {} failed attempts, {} batches abandoned, {} records missing, {} unexpected, {} duplicated, {} malformed, {} twins split",
            results.failed_attempts,
            results.abandoned.len(),
            delivery.missing,
            delivery.unexpected,
            delivery.duplicates,
            delivery.malformed,
            delivery.split
        );
    }
    ok
}
