//! The simulated stretch through the bridge's own path: factory ticks become ADT Event Hub
//! notifications, batches of them go through `records::process` exactly as
//! an Event Hub trigger invocation would, and every record body becomes one line of JSON.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use super::DemoError;
use crate::adt::EventHubMessage;
use crate::config::delivery::{Packing, DEFAULT_PACKED_EVENT_BYTES};
use crate::records::{process, Records, Summary, TransformOptions};
use crate::simulator::{twin_update_event, Factory};
use crate::sink::packing::{pack, EventCost};
use crate::sink::partition::positions_by_partition;
use crate::time::Timestamp;

/// The ADT instance host the demo's notifications claim to come from.
pub const DEMO_INSTANCE_HOST: &str = "chocolate-factory.api.weu.digitaltwins.azure.net";
/// Events per trigger invocation, about what an Event Hub trigger hands over.
const BATCH_SIZE: usize = 100;
/// How long after a reading ADT applies the update (the event's `cloudEvents:time`).
const APPLY_DELAY_MS: i64 = 250;
/// How long after that the event is enqueued on the hub.
const ENQUEUE_DELAY_MS: i64 = 40;

/// What went through the pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Factory ticks simulated.
    pub ticks: usize,
    /// Notifications delivered to the bridge.
    pub events: usize,
    /// Trigger invocations (batches of about 100 events).
    pub batches: usize,
    /// Records written.
    pub records: usize,
    /// Events skipped or unusable (expected: none).
    pub not_recorded: usize,
    /// What the records cost as Event Hubs events, packed (`BRIDGE_PACKING=array`, the default).
    pub packed: EventCost,
    /// What they cost one record per event (`BRIDGE_PACKING=none`).
    pub unpacked: EventCost,
}

/// Partitions of the records hub the costs are counted for (the infrastructure's default).
pub const RECORDS_HUB_PARTITIONS: usize = 4;

/// Runs `ticks` through the bridge and writes every record body as a line of `path`.
pub(crate) fn write_records(
    factory: &Factory,
    ticks: &[DateTime<Utc>],
    path: &Path,
) -> Result<PipelineStats, DemoError> {
    let io_error = |source| DemoError::io("writing", path, source);
    let mut out = BufWriter::new(File::create(path).map_err(io_error)?);
    let options = TransformOptions::default();
    let mut stats = PipelineStats {
        ticks: ticks.len(),
        ..PipelineStats::default()
    };
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    for &time in ticks {
        for update in factory.tick(time, true).updates {
            let applied = time + Duration::milliseconds(APPLY_DELAY_MS);
            let enqueued = applied + Duration::milliseconds(ENQUEUE_DELAY_MS);
            let event = twin_update_event(&update, DEMO_INSTANCE_HOST, applied);
            batch.push(event.into_message(Some(Timestamp::from_instant(enqueued, 7))));
            if batch.len() == BATCH_SIZE {
                invoke(&batch, &options, &mut stats, &mut out).map_err(io_error)?;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        invoke(&batch, &options, &mut stats, &mut out).map_err(io_error)?;
    }
    out.flush().map_err(io_error)?;
    Ok(stats)
}

/// One trigger invocation: decode, transform, write. `now` is the invocation's `sys.UtcNow`.
fn invoke(
    batch: &[EventHubMessage],
    options: &TransformOptions,
    stats: &mut PipelineStats,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let now = batch
        .last()
        .and_then(|message| message.enqueued_time)
        .map(|t| Timestamp::from_instant(t.instant() + Duration::seconds(1), 7))
        .expect("a batch is never empty and every message has an enqueued time");
    let outcome = process(batch, options, now);
    stats.batches += 1;
    stats.events += outcome.summary.events;
    stats.not_recorded += not_recorded(&outcome.summary);
    for (_, body) in outcome.records.with_bodies() {
        out.write_all(body.as_bytes())?;
        out.write_all(b"\n")?;
    }
    stats.records += outcome.records.len();
    count_events(&outcome.records, Packing::default(), &mut stats.packed);
    count_events(&outcome.records, Packing::None, &mut stats.unpacked);
    Ok(())
}

/// Adds the events one invocation's records become under `packing`, partition by partition, as
/// the sink would send them.
fn count_events(records: &Records, packing: Packing, cost: &mut EventCost) {
    let twins = records.iter().map(|record| record.twin_id.as_str());
    let partitions = positions_by_partition(twins, RECORDS_HUB_PARTITIONS);
    for positions in partitions.iter().filter(|p| !p.is_empty()) {
        for event in pack(records, positions, packing, DEFAULT_PACKED_EVENT_BYTES) {
            cost.add(event.body.len());
        }
    }
}

fn not_recorded(summary: &Summary) -> usize {
    summary.skipped.values().sum::<usize>() + summary.unusable.values().sum::<usize>()
}
