//! What a long run goes through: the peer flapping at intervals (a connection dropped in the
//! middle of a transfer, then new connections refused for a while), and the server's memory read
//! as it goes.

use std::time::{Duration, Instant};

use eventhubs_peer::Peer;

/// How the peer misbehaves.
#[derive(Clone, Copy, Debug)]
pub struct Flapping {
    /// Time between the end of one outage and the start of the next.
    pub every: Duration,
    /// How long new connections are refused after the drop.
    pub outage: Duration,
}

/// Flaps the peer until `until`; returns how many outages there were.
pub async fn flap(peer: &Peer, flapping: Flapping, until: Instant) -> u32 {
    let mut outages = 0;
    loop {
        tokio::time::sleep(flapping.every).await;
        if Instant::now() + flapping.outage >= until {
            return outages;
        }
        let faults = peer.faults();
        faults.set_refuse_connections(true);
        faults.drop_connection_after_transfers(Some(0));
        tokio::time::sleep(flapping.outage).await;
        // Disarm the drop if no transfer came to fire it, then let connections in again.
        faults.drop_connection_after_transfers(None);
        faults.set_refuse_connections(false);
        outages += 1;
        println!("peer outage {outages} over ({:?})", flapping.outage);
    }
}

/// One reading of the server's resident memory.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub at: Duration,
    pub rss_kib: u64,
}

/// Reads `VmRSS` of `pid` every `every` until `until`, printing each reading.
pub async fn sample_memory(pid: u32, every: Duration, until: Instant) -> Vec<Sample> {
    let began = Instant::now();
    let mut samples = Vec::new();
    while Instant::now() < until {
        if let Some(rss_kib) = crate::server::memory_kib(pid, "VmRSS") {
            let sample = Sample {
                at: began.elapsed(),
                rss_kib,
            };
            println!(
                "t={:>6.0} s  RSS {:>6.1} MiB",
                sample.at.as_secs_f64(),
                rss_kib as f64 / 1024.0
            );
            samples.push(sample);
        }
        tokio::time::sleep(every).await;
    }
    samples
}

/// First, least, most and last reading, in MiB, for the report.
pub fn summary(samples: &[Sample]) -> Option<(f64, f64, f64, f64)> {
    let mib = |s: &Sample| s.rss_kib as f64 / 1024.0;
    let first = samples.first()?;
    let last = samples.last()?;
    let least = samples.iter().map(mib).fold(f64::INFINITY, f64::min);
    let most = samples.iter().map(mib).fold(0.0, f64::max);
    Some((mib(first), least, most, mib(last)))
}
