//! The records and event bodies the transform bench's inputs become, one per line, then a SHA-256
//! of all of them: run it before and after a change to the transform or the packing to show that
//! the output bytes did not move.
//!
//! Run: `cargo run --release --locked --example bench_records | tail -1`

#[path = "../tests/support/mod.rs"]
mod support;

use adt_bridge::adt::EventGridEvent;
use adt_bridge::config::delivery::{Packing, DEFAULT_PACKED_EVENT_BYTES};
use adt_bridge::host::InvocationRequest;
use adt_bridge::records::{process, BatchOutcome, RecordFormat, TransformOptions};
use adt_bridge::sink::packing::pack;
use adt_bridge::sink::partition::positions_by_partition;
use adt_bridge::time::Timestamp;
use sha2::{Digest, Sha256};
use support::{event_grid_request, event_hub_request, factory_update, HubRequestOptions};

fn main() {
    let now = Timestamp::parse("2026-05-01T12:05:00Z").expect("a valid time");
    let mut lines = Vec::new();
    for format in [RecordFormat::Tsi, RecordFormat::DataHistory] {
        let options = TransformOptions {
            format,
            ..TransformOptions::default()
        };
        for size in [1usize, 100, 1000] {
            let events: Vec<_> = (0..size).map(factory_update).collect();
            let body = event_hub_request(&events, HubRequestOptions::default()).to_string();
            let mut buffer = Vec::new();
            let request =
                InvocationRequest::parse(body.as_bytes(), &mut buffer).expect("an envelope");
            let batch = request.event_hub_batch("events").expect("a batch");
            let outcome = process(batch.messages(), &options, now);
            describe(&format!("{format} eventhub {size}"), &outcome, &mut lines);
        }
        let event = support::event_grid_schema_update("eg-1", "GrindingStep", 111.5);
        let body = event_grid_request(&event, false).to_string();
        let mut buffer = Vec::new();
        let request = InvocationRequest::parse(body.as_bytes(), &mut buffer).expect("an envelope");
        let event = request.event_grid_event("event").expect("an event");
        let outcome = process([EventGridEvent(&event)], &options, now);
        describe(&format!("{format} eventgrid 1"), &outcome, &mut lines);
    }
    let mut digest = Sha256::new();
    for line in &lines {
        println!("{line}");
        digest.update(line.as_bytes());
        digest.update(b"\n");
    }
    let hex: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("{} lines, sha256 {hex}", lines.len());
}

/// Every record (message id, twin, text), then the event bodies they pack into on a
/// 4-partition hub, packed and one per record.
fn describe(name: &str, outcome: &BatchOutcome, lines: &mut Vec<String>) {
    lines.push(format!("# {name}: {}", outcome.summary));
    let records = &outcome.records;
    for (record, body) in records.with_bodies() {
        let twin = record.twin_id.as_str();
        lines.push(format!("{} {twin} {body}", record.message_id()));
    }
    let twins = records.iter().map(|record| record.twin_id.as_str());
    for (partition, positions) in positions_by_partition(twins, 4).iter().enumerate() {
        for packing in [Packing::default(), Packing::None] {
            for event in pack(records, positions, packing, DEFAULT_PACKED_EVENT_BYTES) {
                let body = String::from_utf8_lossy(&event.body);
                lines.push(format!("partition {partition} {} {body}", event.message_id));
            }
        }
    }
}
