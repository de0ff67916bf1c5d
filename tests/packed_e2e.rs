//! Packed delivery end to end: the real server and Event Hubs sink against the local peer, the
//! same requests sent with `BRIDGE_PACKING=array` and with `none`. Unrolling the packed events
//! must give back exactly the records `none` sends, partition by partition and in order.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use eventhubs_peer::{Peer, PeerConfig, ReceivedEvent};
use serde_json::{json, Value};
use support::bridge::{emulator_connection, peer_config, record_texts, Bridge, PARTITIONS, WAIT};
use support::*;

/// What one run left at the peer: per partition, the events in arrival order.
struct Run {
    events: Vec<ReceivedEvent>,
    answer: Value,
}

impl Run {
    /// Per partition, every record (unrolled) with the message id and index of its event.
    fn records_by_partition(&self) -> BTreeMap<String, Vec<String>> {
        let mut by_partition: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for event in &self.events {
            let partition = event.partition_id.clone().expect("sent to a partition");
            let records = record_texts(event);
            by_partition.entry(partition).or_default().extend(records);
        }
        by_partition
    }

    /// Per partition, the message ids in arrival order.
    fn ids_by_partition(&self) -> BTreeMap<String, Vec<String>> {
        let mut by_partition: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for event in &self.events {
            by_partition
                .entry(event.partition_id.clone().unwrap())
                .or_default()
                .push(event.message_id.clone().unwrap());
        }
        by_partition
    }

    fn body_bytes(&self) -> usize {
        self.events.iter().map(|e| e.body.len()).sum()
    }

    /// Body bytes plus the text of each event's message id, content type and properties.
    fn event_bytes(&self) -> usize {
        self.events
            .iter()
            .map(|e| {
                let properties: usize = e.properties.iter().map(|(k, v)| k.len() + v.len()).sum();
                e.body.len()
                    + e.message_id.as_ref().map_or(0, String::len)
                    + e.content_type.as_ref().map_or(0, String::len)
                    + properties
            })
            .sum()
    }
}

/// Posts `request` to a bridge with `settings` on a fresh peer and collects what arrived.
async fn run(request: &Value, records: usize, settings: &[(&'static str, &str)]) -> Run {
    run_on(peer_config(), request, records, settings).await
}

async fn run_on(
    config: PeerConfig,
    request: &Value,
    records: usize,
    settings: &[(&'static str, &str)],
) -> Run {
    let peer = Peer::start(config).await.unwrap();
    let mut all = vec![
        (
            "TsiEventHubConnection",
            emulator_connection(peer.addr(), "dev"),
        ),
        ("TSI_EVENTHUB_NAME", "records".into()),
        ("BRIDGE_DEADLETTER_EVENTHUB_NAME", "deadletter".into()),
    ];
    all.extend(settings.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let bridge = Bridge::start(&all).await;
    let (status, answer) = bridge.post("TwinUpdatesEventHub", request).await;
    assert_eq!(status, 200, "{answer}");
    // Records, not events, are what the test knows to wait for: poll until every one is in.
    let deadline = tokio::time::Instant::now() + WAIT;
    let events = loop {
        let events = peer.events("records");
        let held: usize = events.iter().map(|e| record_texts(e).len()).sum();
        if held >= records || tokio::time::Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    bridge.stop();
    peer.stop().await;
    Run { events, answer }
}

/// A batch with every kind of event the bridge meets: updates with nested, escaped and removed
/// paths, per-value source times (several records per event), creates, telemetry, relationship
/// updates, lifecycle events it skips and a body that is not JSON, over eleven twins.
fn mixed_bag() -> Vec<HubEvent> {
    let mut events = Vec::new();
    for i in 0..60 {
        let twin = format!("Twin-{}", i % 11);
        let event = match i % 6 {
            0 => twin_update(
                i,
                &twin,
                json!([{"op": "replace", "path": "/Front/Temperature", "value": 20 + i},
                       {"op": "add", "path": "/a~1b", "value": "text"},
                       {"op": "remove", "path": "/Old"}]),
            ),
            1 => twin_update(
                i,
                &twin,
                json!([{"op": "replace", "path": "/Vibration", "value": 1.5 * i as f64},
                       {"op": "replace", "path": "/$metadata/Vibration/sourceTime", "value": "2026-05-01T11:00:00.5Z"},
                       {"op": "replace", "path": "/Force", "value": i}]),
            ),
            2 => typed(
                twin_update(i, &twin, json!([])),
                "Microsoft.DigitalTwins.Twin.Create",
                json!({"$dtId": twin, "$etag": "W/\"1\"", "Temperature": 21.5, "Mode": "auto",
                       "$metadata": {"$model": "dtmi:example:step;1",
                                     "Temperature": {"lastUpdateTime": "2026-05-01T10:00:00Z"}}}),
            ),
            3 => typed(
                twin_update(i, &twin, json!([])),
                "microsoft.iot.telemetry",
                json!({"Temperature": 70 + i, "Humidity": 40}),
            ),
            4 => typed(
                twin_update(i, &twin, json!([])),
                "Microsoft.DigitalTwins.Twin.Delete",
                json!({"$dtId": twin}),
            ),
            _ => twin_update(
                i,
                &twin,
                json!([{"op": "add", "path": "/Status", "value": {"State": "running", "Codes": [1, 2]}}]),
            ),
        };
        events.push(event);
    }
    events[17].body = "not json".into();
    events
}

/// `event` with another type and body (telemetry also names its twin in `source`).
fn typed(mut event: HubEvent, type_name: &str, body: Value) -> HubEvent {
    let properties = event.properties.as_object_mut().unwrap();
    if type_name == "microsoft.iot.telemetry" {
        let twin = properties["cloudEvents:subject"]
            .as_str()
            .unwrap()
            .to_owned();
        properties.insert(
            "cloudEvents:source".into(),
            json!(format!(
                "cocoa-works.api.weu.digitaltwins.azure.net/digitaltwins/{twin}"
            )),
        );
    }
    properties.insert("cloudEvents:type".into(), json!(type_name));
    event.body = body.to_string();
    event
}

fn thousand() -> Vec<HubEvent> {
    (0..1000).map(grinding_update).collect()
}

/// Checks the packed run against the unpacked one: the same records per partition in the same
/// order, each event within the bound unless it holds one record, ids and properties as the
/// spec fixes them.
fn assert_same_records(packed: &Run, none: &Run, bound: usize, format: &str) {
    let records = packed.records_by_partition();
    assert_eq!(
        records,
        none.records_by_partition(),
        "unrolled records differ"
    );
    let none_ids = none.ids_by_partition();
    let mut none_events: BTreeMap<String, Vec<&ReceivedEvent>> = BTreeMap::new();
    for event in &none.events {
        none_events
            .entry(event.partition_id.clone().unwrap())
            .or_default()
            .push(event);
    }
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for event in &packed.events {
        let partition = event.partition_id.clone().unwrap();
        let count = record_texts(event).len();
        assert!(
            event.body.len() <= bound || count == 1,
            "{} bytes, {count} records, bound {bound}",
            event.body.len()
        );
        assert_eq!(event.body.first(), Some(&b'['), "a packed body is an array");
        let start = at.entry(partition.clone()).or_default();
        let first = &none_ids[&partition][*start];
        assert_eq!(
            event.message_id.as_deref(),
            Some(format!("{first}+{count}").as_str())
        );
        *start += count;
        assert_eq!(event.properties["recordCount"], count.to_string());
        assert_eq!(event.properties["recordFormat"], format);
        assert_eq!(event.content_type.as_deref(), Some("application/json"));
        // cloudEvents:* only when every record comes from one source event.
        let sources = &none_events[&partition][*start - count..*start];
        let ids: std::collections::BTreeSet<&str> = sources
            .iter()
            .map(|e| e.properties["cloudEvents:id"].as_str())
            .collect();
        assert_eq!(
            event.properties.get("cloudEvents:id").map(String::as_str),
            (ids.len() == 1).then(|| *ids.iter().next().unwrap()),
            "{:?}",
            event.message_id
        );
    }
    assert!(packed.events.len() < none.events.len());
}

/// Prints what each mode cost (`cargo test --test packed_e2e -- --nocapture` shows it).
fn report(name: &str, packed: &Run, none: &Run) {
    println!(
        "{name}: none {} events / {} body bytes / {} with ids and properties; array {} events / {} body bytes / {} with ids and properties",
        none.events.len(),
        none.body_bytes(),
        none.event_bytes(),
        packed.events.len(),
        packed.body_bytes(),
        packed.event_bytes()
    );
}

#[tokio::test]
async fn the_mixed_bag_arrives_packed_and_unrolls_to_exactly_the_unpacked_records() {
    for format in ["tsi", "data-history"] {
        let request = event_hub_request(&mixed_bag(), HubRequestOptions::default());
        let none = run(
            &request,
            0,
            &[("BRIDGE_PACKING", "none"), ("BRIDGE_RECORD_FORMAT", format)],
        )
        .await;
        let records: usize = none.events.len();
        assert!(records > 60, "{records} records from 60 events");
        let packed = run(&request, records, &[("BRIDGE_RECORD_FORMAT", format)]).await;
        assert_same_records(&packed, &none, 65_536, format);
        assert!(
            packed.events.len() <= PARTITIONS as usize * 2,
            "{} events",
            packed.events.len()
        );
        let summary = summary(&packed.answer);
        assert!(summary.contains(&format!("sent={records}")), "{summary}");
        report(&format!("mixed bag ({format})"), &packed, &none);
    }
}

#[tokio::test]
async fn a_hundred_event_factory_batch_arrives_packed() {
    let request = event_hub_request(&thousand()[..100], HubRequestOptions::default());
    let none = run(&request, 100, &[("BRIDGE_PACKING", "none")]).await;
    assert_eq!(none.events.len(), 100);
    let packed = run(&request, 100, &[]).await;
    assert_same_records(&packed, &none, 65_536, "tsi");
    assert!(packed.events.len() <= PARTITIONS as usize);
    report("100 events", &packed, &none);
}

#[tokio::test]
async fn a_thousand_events_arrive_packed_and_a_small_bound_splits_them_in_order() {
    let request = event_hub_request(&thousand(), HubRequestOptions::default());
    let none = run(&request, 1000, &[("BRIDGE_PACKING", "none")]).await;
    assert_eq!(none.events.len(), 1000);
    let packed = run(&request, 1000, &[]).await;
    assert_same_records(&packed, &none, 65_536, "tsi");
    report("1,000 events", &packed, &none);
    // 2 KiB events: several per partition, filled in order.
    let small = run(&request, 1000, &[("BRIDGE_PACKED_EVENT_BYTES", "2048")]).await;
    assert_same_records(&small, &none, 2048, "tsi");
    let per_partition = small.ids_by_partition();
    assert!(
        per_partition.values().all(|ids| ids.len() > 3),
        "{per_partition:?}"
    );
    report("1,000 events, 2 KiB bound", &small, &none);
}

#[tokio::test]
async fn the_same_invocation_posted_twice_carries_the_same_message_ids() {
    let request = event_hub_request(&mixed_bag(), HubRequestOptions::default());
    let first = run(&request, 0, &[]).await;
    let second = run(&request, 0, &[]).await;
    assert!(!first.events.is_empty());
    assert_eq!(first.ids_by_partition(), second.ids_by_partition());
}

#[tokio::test]
async fn a_record_past_the_bound_goes_alone_and_one_past_the_link_is_dead_lettered() {
    // The bound is 4 KiB; the link takes 64 KiB transfers, so a 70 KB record can never go.
    let note = |bytes: usize| json!([{"op": "add", "path": "/Note", "value": "x".repeat(bytes)}]);
    let mut events: Vec<HubEvent> = (0..6).map(grinding_update).collect();
    events[2] = twin_update(2, "GrindingStep", note(10_000));
    events[4] = twin_update(4, "GrindingStep", note(70_000));
    let request = event_hub_request(&events, HubRequestOptions::default());
    let config = peer_config().max_message_size(65_536);
    let peer = Peer::start(config).await.unwrap();
    let bridge = Bridge::start(&[
        (
            "TsiEventHubConnection",
            emulator_connection(peer.addr(), "dev"),
        ),
        ("TSI_EVENTHUB_NAME", "records".into()),
        ("BRIDGE_DEADLETTER_EVENTHUB_NAME", "deadletter".into()),
        ("BRIDGE_PACKED_EVENT_BYTES", "4096".into()),
    ])
    .await;
    let (status, answer) = bridge.post("TwinUpdatesEventHub", &request).await;
    assert_eq!(status, 200, "{answer}");
    let summary = summary(&answer);
    assert!(
        summary.contains("sent=5") && summary.contains("too_large=1"),
        "{summary}"
    );
    let letters = peer.wait_for_events("deadletter", 1, WAIT).await;
    assert_eq!(
        letters[0].properties["deadLetterReason"],
        "record-too-large"
    );
    let received = peer.events("records");
    let alone: Vec<&ReceivedEvent> = received
        .iter()
        .filter(|e| e.message_id.as_deref() == Some("evt-00002:0+1"))
        .collect();
    assert_eq!(alone.len(), 1, "the 10 KB record goes out on its own");
    assert!(alone[0].body.len() > 10_000);
    let unrolled: usize = received.iter().map(|e| record_texts(e).len()).sum();
    assert_eq!(unrolled, 5);
    assert!(received
        .iter()
        .all(|e| e.body.len() <= 4096 || record_texts(e).len() == 1));
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn a_rejected_invocation_does_not_fail_the_one_sharing_its_transfer() {
    // One partition, and a transfer that takes 200 ms to settle: the two invocations posted
    // while the first one's transfer is in flight go out together in the lane's next round.
    let peer = Peer::start(PeerConfig::new("localhost").hub("records", 1))
        .await
        .unwrap();
    peer.faults().set_settle_delay(Duration::from_millis(200));
    peer.faults()
        .set_reject_transfers_containing(Some("POISON-RECORD"));
    let bridge = Bridge::start(&[
        (
            "TsiEventHubConnection",
            emulator_connection(peer.addr(), "dev"),
        ),
        ("TSI_EVENTHUB_NAME", "records".into()),
    ])
    .await;
    let request = |events: &[HubEvent]| event_hub_request(events, HubRequestOptions::default());
    let first = request(&[grinding_update(0)]);
    let poisoned = request(&[twin_update(
        1,
        "GrindingStep",
        json!([{"op": "replace", "path": "/Note", "value": "POISON-RECORD"}]),
    )]);
    let good = request(&[grinding_update(2), grinding_update(5)]);
    let (first_answer, (poisoned_answer, good_answer)) =
        tokio::join!(bridge.post("TwinUpdatesEventHub", &first), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            tokio::join!(
                bridge.post("TwinUpdatesEventHub", &poisoned),
                bridge.post("TwinUpdatesEventHub", &good)
            )
        });
    assert_eq!(first_answer.0, 200, "{}", first_answer.1);
    assert_eq!(poisoned_answer.0, 500, "{}", poisoned_answer.1);
    assert_eq!(good_answer.0, 200, "{}", good_answer.1);
    let held: Vec<String> = peer
        .events("records")
        .iter()
        .flat_map(record_texts)
        .collect();
    assert_eq!(held.len(), 3, "{held:?}");
    assert!(!held.iter().any(|r| r.contains("POISON-RECORD")));
    bridge.stop();
    peer.stop().await;
}
