//! The transform's speed: host-shaped requests of chocolate-factory twin updates, decoded and
//! turned into serialized `tsi` records, as one invocation does before it sends.
//!
//! Run: `cargo bench --bench transform`. Criterion prints time per iteration and throughput
//! (events/s from the `events` groups, bytes/s from the `request` groups); one iteration runs on
//! one core, so events/s is events per second per core.

#[path = "../tests/support/mod.rs"]
mod support;

use adt_bridge::adt::{decode_broker_message, EventGridEvent, EventHubMessage};
use adt_bridge::config::delivery::{Packing, DEFAULT_PACKED_EVENT_BYTES};
use adt_bridge::host::InvocationRequest;
use adt_bridge::records::Records;
use adt_bridge::records::{process, TransformOptions};
use adt_bridge::sink::packing::pack;
use adt_bridge::sink::partition::positions_by_partition;
use adt_bridge::time::Timestamp;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use support::{event_grid_request, event_hub_request, factory_update, HubRequestOptions};

/// The allocator the handler runs with (`src/main.rs`), so that the numbers are the handler's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn decode_and_transform(
    messages: &[EventHubMessage],
    options: &TransformOptions,
    now: Timestamp,
) -> usize {
    process(messages, options, now).records.len()
}

fn event_hub(c: &mut Criterion) {
    let options = TransformOptions::default();
    let now = Timestamp::parse("2026-05-01T12:05:00Z").unwrap();
    for size in [1usize, 100, 1000] {
        let events: Vec<_> = (0..size).map(factory_update).collect();
        let body = event_hub_request(&events, HubRequestOptions::default())
            .to_string()
            .into_bytes();

        let mut group = c.benchmark_group("eventhub_request");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| {
            b.iter(|| {
                let mut buffer = Vec::new();
                let request = InvocationRequest::parse(black_box(body), &mut buffer).unwrap();
                let batch = request.event_hub_batch("events").unwrap();
                process(batch.messages(), &options, now).records.len()
            })
        });
        group.finish();

        let messages = InvocationRequest::parse(&body, &mut Vec::new())
            .unwrap()
            .event_hub_batch("events")
            .unwrap()
            .to_messages();
        let mut group = c.benchmark_group("eventhub_events");
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(size),
            &messages,
            |b, messages| b.iter(|| decode_and_transform(black_box(messages), &options, now)),
        );
        group.finish();
    }
}

fn event_grid(c: &mut Criterion) {
    let options = TransformOptions::default();
    let event = support::event_grid_schema_update("eg-1", "GrindingStep", 111.5);
    let body = event_grid_request(&event, false).to_string().into_bytes();
    let mut group = c.benchmark_group("eventgrid_request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("1", |b| {
        b.iter(|| {
            let mut buffer = Vec::new();
            let request = InvocationRequest::parse(black_box(&body), &mut buffer).unwrap();
            let event = request.event_grid_event("event").unwrap();
            let now = Timestamp::parse("2026-05-01T12:05:00Z").unwrap();
            process([EventGridEvent(&event)], &options, now)
                .records
                .len()
        })
    });
    group.finish();
}

/// From the host's raw request bytes to decoded notifications (`decode`) and on to records
/// (`records`): the envelope's share of an invocation, on 100- and 1,000-event batches.
fn envelope(c: &mut Criterion) {
    let options = TransformOptions::default();
    let kinds = options.decoded_kinds();
    let mut group = c.benchmark_group("envelope");
    for size in [100usize, 1000] {
        let events: Vec<_> = (0..size).map(factory_update).collect();
        let body = event_hub_request(&events, HubRequestOptions::default())
            .to_string()
            .into_bytes();
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("decode", size), &body, |b, body| {
            b.iter(|| {
                let mut buffer = Vec::new();
                let request = InvocationRequest::parse(black_box(body), &mut buffer).unwrap();
                let batch = request.event_hub_batch("events").unwrap();
                let decoded: Vec<_> = batch
                    .messages()
                    .map(|m| decode_broker_message(&m, kinds))
                    .collect();
                decoded.len()
            })
        });
        group.bench_with_input(BenchmarkId::new("records", size), &body, |b, body| {
            b.iter(|| {
                let mut buffer = Vec::new();
                let request = InvocationRequest::parse(black_box(body), &mut buffer).unwrap();
                let now = request.utc_now().unwrap();
                let batch = request.event_hub_batch("events").unwrap();
                process(batch.messages(), &options, now).records.len()
            })
        });
        // On to the event bodies the sink sends, for a 4-partition hub: packed (the default)
        // and one record per event.
        for (name, packing) in [("packed", Packing::default()), ("unpacked", Packing::None)] {
            group.bench_with_input(BenchmarkId::new(name, size), &body, |b, body| {
                b.iter(|| {
                    let mut buffer = Vec::new();
                    let request = InvocationRequest::parse(black_box(body), &mut buffer).unwrap();
                    let now = request.utc_now().unwrap();
                    let batch = request.event_hub_batch("events").unwrap();
                    let records = process(batch.messages(), &options, now).records;
                    event_bodies(&records, packing)
                })
            });
        }
    }
    group.finish();
}

/// The bytes of the event bodies `records` become on a 4-partition hub under `packing`.
fn event_bodies(records: &Records, packing: Packing) -> usize {
    let twins = records.iter().map(|record| record.twin_id.as_str());
    positions_by_partition(twins, 4)
        .iter()
        .flat_map(|positions| pack(records, positions, packing, DEFAULT_PACKED_EVENT_BYTES))
        .map(|event| event.body.len())
        .sum()
}

criterion_group!(benches, event_hub, event_grid, envelope);
criterion_main!(benches);
