//! End to end: the real server and the Event Hubs sink against the local Event Hubs peer.
//! Host-shaped requests go in; the peer shows exactly what reached the records and dead-letter hubs.
//! The records it must hold are the transform table's, written by hand (`eventhubs_e2e/table.rs`).

mod support;
#[path = "transform_table/case.rs"]
#[allow(dead_code)] // the table runner reads every field; these tests read a part
mod transform_case;
mod eventhubs_e2e {
    pub mod table;
}

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use adt_bridge::config::eventhubs::hub_settings;
use adt_bridge::host::{serve, App, Server};
use adt_bridge::sink::partition::partition_index;
use eventhubs_e2e::table::{Expected, TableBatch};
use eventhubs_peer::{Peer, PeerConfig, ReceivedEvent};
use serde_json::{json, Value};
use support::bridge::{emulator_connection, peer_config, quick_retry, Bridge, PARTITIONS, WAIT};
use support::*;

fn emulator_settings(addr: SocketAddr, format: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TsiEventHubConnection", emulator_connection(addr, "dev")),
        ("TSI_EVENTHUB_NAME", "records".into()),
        ("BRIDGE_DEADLETTER_EVENTHUB_NAME", "deadletter".into()),
        ("BRIDGE_RECORD_FORMAT", format.into()),
        // The tests written before packing check one record per event, as `none` sends them.
        ("BRIDGE_PACKING", "none".into()),
    ]
}

/// Checks the peer holds exactly `expected` (each once) in per-twin order.
fn assert_delivered_exactly(received: &[ReceivedEvent], expected: &[Expected]) {
    assert_holds_exactly(received, expected);
    assert_in_twin_order(received, expected);
}

/// Checks the peer holds exactly `expected` (each once), on the partition the service would pick
/// for the twin, with body, content type, message id and properties.
fn assert_holds_exactly(received: &[ReceivedEvent], expected: &[Expected]) {
    assert_eq!(received.len(), expected.len(), "event count");
    let by_id: HashMap<&str, &ReceivedEvent> = received
        .iter()
        .map(|e| (e.message_id.as_deref().unwrap(), e))
        .collect();
    assert_eq!(by_id.len(), expected.len(), "message ids are unique");
    for record in expected {
        let event = by_id
            .get(record.message_id.as_str())
            .unwrap_or_else(|| panic!("no event {}", record.message_id));
        assert_eq!(
            String::from_utf8_lossy(&event.body),
            record.body,
            "{}",
            record.message_id
        );
        assert_eq!(event.content_type.as_deref(), Some("application/json"));
        let partition = partition_index(&record.twin_id, PARTITIONS as usize).to_string();
        assert_eq!(
            event.partition_id.as_deref(),
            Some(partition.as_str()),
            "twin {}",
            record.twin_id
        );
        assert_eq!(event.properties, record.properties, "{}", record.message_id);
    }
}

/// Checks each twin's records of `expected` arrived in the order `expected` lists them.
fn assert_in_twin_order(received: &[ReceivedEvent], expected: &[Expected]) {
    let arrival: HashMap<&str, usize> = received
        .iter()
        .enumerate()
        .map(|(at, event)| (event.message_id.as_deref().unwrap(), at))
        .collect();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for record in expected {
        let at = arrival[record.message_id.as_str()];
        if let Some(before) = last.insert(record.twin_id.as_str(), at) {
            assert!(before < at, "twin {}: records out of order", record.twin_id);
        }
    }
}

#[tokio::test]
async fn tsi_records_reach_the_peer_exactly_over_the_emulator_connection_string() {
    let peer = Peer::start(peer_config()).await.unwrap();
    let bridge = Bridge::start(&emulator_settings(peer.addr(), "tsi")).await;
    let batch = TableBatch::new("tsi", 3, "");
    let (status, body) = bridge.post("TwinUpdatesEventHub", &batch.request).await;
    assert_eq!(status, 200, "{body}");
    let received = peer
        .wait_for_events("records", batch.expected.len(), WAIT)
        .await;
    assert_delivered_exactly(&received, &batch.expected);
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn data_history_rows_reach_the_peer_over_a_connection_string_with_entity_path() {
    let peer = Peer::start(peer_config()).await.unwrap();
    let connection = format!(
        "{};EntityPath=records",
        emulator_connection(peer.addr(), "dev")
    );
    let bridge = Bridge::start(&[
        ("TsiEventHubConnection", connection),
        ("BRIDGE_RECORD_FORMAT", "data-history".into()),
        ("BRIDGE_PACKING", "none".into()),
    ])
    .await;
    let batch = TableBatch::new("data-history", 2, "");
    let (status, body) = bridge.post("TwinUpdatesEventHub", &batch.request).await;
    assert_eq!(status, 200, "{body}");
    let received = peer
        .wait_for_events("records", batch.expected.len(), WAIT)
        .await;
    assert_delivered_exactly(&received, &batch.expected);
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn the_peer_down_at_the_first_request_fails_it_and_the_retry_delivers_everything() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let bridge = Bridge::start(&emulator_settings(addr, "tsi")).await;
    let batch = TableBatch::new("tsi", 1, "");
    let (status, body) = bridge.post("TwinUpdatesEventHub", &batch.request).await;
    assert_eq!(status, 500, "{body}");
    assert!(body["Error"].is_string());
    let peer = Peer::start_on(peer_config(), addr).await.unwrap();
    let (status, body) = bridge.post("TwinUpdatesEventHub", &batch.request).await;
    assert_eq!(status, 200, "{body}");
    let received = peer
        .wait_for_events("records", batch.expected.len(), WAIT)
        .await;
    assert_delivered_exactly(&received, &batch.expected);
    bridge.stop();
    peer.stop().await;
}

/// Retries a request the way the host's retry policy does, until it answers 200.
async fn until_delivered(bridge: &Bridge, request: &Value) -> usize {
    for attempt in 1..=10 {
        let (status, _) = bridge.post("TwinUpdatesEventHub", request).await;
        if status == 200 {
            return attempt;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("not delivered after 10 attempts");
}

/// Every expected record is present, and every event the peer holds is an expected record with
/// its body: duplicates (from retries) carry the same message id and body.
fn assert_at_least_once(received: &[ReceivedEvent], expected: &[Expected]) {
    let bodies: HashMap<&str, &str> = expected
        .iter()
        .map(|r| (r.message_id.as_str(), r.body.as_str()))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for event in received {
        let id = event.message_id.as_deref().unwrap();
        let body = bodies
            .get(id)
            .unwrap_or_else(|| panic!("{id} is no expected record"));
        assert_eq!(&String::from_utf8_lossy(&event.body), body, "{id}");
        *seen.entry(id).or_default() += 1;
    }
    for record in expected {
        assert!(
            seen.contains_key(record.message_id.as_str()),
            "lost {}",
            record.message_id
        );
    }
    println!(
        "peer holds {} events for {} records ({} duplicates)",
        received.len(),
        expected.len(),
        received.len() - seen.len()
    );
}

#[tokio::test]
async fn a_connection_dropped_mid_batch_loses_nothing() {
    let peer = Peer::start(peer_config()).await.unwrap();
    let bridge = Bridge::start(&emulator_settings(peer.addr(), "tsi")).await;
    let batch = TableBatch::new("tsi", 3, "");
    peer.faults().drop_connection_after_transfers(Some(1));
    let attempts = until_delivered(&bridge, &batch.request).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = peer.events("records");
    println!("delivered after {attempts} attempt(s)");
    assert_at_least_once(&received, &batch.expected);
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn rejected_transfers_fail_the_invocation_until_the_hub_accepts_again() {
    let peer = Peer::start(peer_config()).await.unwrap();
    let bridge = Bridge::start(&emulator_settings(peer.addr(), "tsi")).await;
    let batch = TableBatch::new("tsi", 1, "");
    peer.faults().set_reject_transfers(true);
    let (status, body) = bridge.post("TwinUpdatesEventHub", &batch.request).await;
    assert_eq!(status, 500, "{body}");
    peer.faults().set_reject_transfers(false);
    until_delivered(&bridge, &batch.request).await;
    let received = peer
        .wait_for_events("records", batch.expected.len(), WAIT)
        .await;
    assert_at_least_once(&received, &batch.expected);
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn refused_authentication_is_named_without_the_secret_and_the_secondary_takes_over() {
    let peer = Peer::start(peer_config()).await.unwrap();
    let primary =
        emulator_connection(peer.addr(), "primary").replace("ZGV2a2V5", "cHJpbWFyeS1rZXktdmFsdWU=");
    let mut settings = emulator_settings(peer.addr(), "tsi");
    settings[0].1 = primary;
    peer.faults()
        .set_reject_token_containing(Some("skn=primary".into()));
    let bridge = Bridge::start(&settings).await;
    let batch = TableBatch::new("tsi", 1, "");
    let (status, body) = bridge.post("TwinUpdatesEventHub", &batch.request).await;
    assert_eq!(status, 500, "{body}");
    let error = body["Error"].as_str().unwrap();
    assert!(error.contains("authentication"), "{error}");
    assert!(!error.contains("cHJpbWFyeS1rZXktdmFsdWU="), "{error}");
    bridge.stop();

    settings.push((
        "TsiEventHubConnection__secondary",
        emulator_connection(peer.addr(), "secondary"),
    ));
    let bridge = Bridge::start(&settings).await;
    let (status, body) = bridge.post("TwinUpdatesEventHub", &batch.request).await;
    assert_eq!(status, 200, "{body}");
    let received = peer
        .wait_for_events("records", batch.expected.len(), WAIT)
        .await;
    assert_delivered_exactly(&received, &batch.expected);
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn poisoned_events_and_oversized_records_go_to_the_dead_letter_hub_and_the_rest_is_delivered()
{
    let peer = Peer::start(peer_config().max_message_size(8192))
        .await
        .unwrap();
    let bridge = Bridge::start(&emulator_settings(peer.addr(), "tsi")).await;
    let mut events: Vec<_> = (0..6).map(grinding_update).collect();
    events[1].body = "Vibration=112".into();
    events[3]
        .properties
        .as_object_mut()
        .unwrap()
        .remove("cloudEvents:subject");
    events[4] = twin_update(
        4,
        "GrindingStep",
        json!([{"op": "add", "path": "/Note", "value": "x".repeat(9000)}]),
    );
    let request = event_hub_request(&events, HubRequestOptions::default());
    let (status, body) = bridge.post("TwinUpdatesEventHub", &request).await;
    assert_eq!(status, 200, "{body}");
    let summary = summary(&body);
    assert!(
        summary.contains("too_large=1") && summary.contains("dead_lettered=3"),
        "{summary}"
    );
    let delivered: Vec<_> = peer
        .wait_for_events("records", 3, WAIT)
        .await
        .iter()
        .map(|e| e.message_id.clone().unwrap())
        .collect();
    let mut delivered = delivered;
    delivered.sort();
    assert_eq!(delivered, ["evt-00000:0", "evt-00002:0", "evt-00005:0"]);
    let letters = peer.wait_for_events("deadletter", 3, WAIT).await;
    let reasons: Vec<_> = letters
        .iter()
        .map(|l| l.properties["deadLetterReason"].clone())
        .collect();
    assert_eq!(reasons, ["body-not-json", "no-twin-id", "record-too-large"]);
    assert_eq!(letters[0].body, b"Vibration=112", "the raw body");
    assert_eq!(
        letters[0].properties["cloudEvents:id"], "evt-00001",
        "the original properties"
    );
    assert!(
        letters[2]
            .properties
            .contains_key("deadLetterTruncatedFrom"),
        "cut to fit the dead-letter hub"
    );
    bridge.stop();
    peer.stop().await;
}

/// A record past half the link's limit is too large for a batch (which counts its first event
/// twice). Sent alone it would fit a plain message, but the bridge holds it to the same limit
/// either way, so whether it is delivered never depends on what else was in flight.
#[tokio::test]
async fn a_lone_record_too_large_for_a_batch_is_too_large_alone_too() {
    let peer = Peer::start(peer_config().max_message_size(8192))
        .await
        .unwrap();
    let bridge = Bridge::start(&emulator_settings(peer.addr(), "tsi")).await;
    let events = [twin_update(
        0,
        "GrindingStep",
        json!([{"op": "add", "path": "/Note", "value": "x".repeat(5000)}]),
    )];
    let request = event_hub_request(&events, HubRequestOptions::default());
    let (status, body) = bridge.post("TwinUpdatesEventHub", &request).await;
    assert_eq!(status, 200, "{body}");
    let summary = summary(&body);
    assert!(
        summary.contains("sent=0") && summary.contains("too_large=1"),
        "{summary}"
    );
    let letters = peer.wait_for_events("deadletter", 1, WAIT).await;
    assert_eq!(
        letters[0].properties["deadLetterReason"],
        "record-too-large"
    );
    assert_eq!(peer.event_count("records"), 0);
    bridge.stop();
    peer.stop().await;
}

/// The whole local pipeline with no ADT: the simulator's `eventhub` mode writes ADT-shaped
/// notifications to the twins hub; what the peer received goes to the bridge as the Functions
/// host would deliver it; the records reach the records hub.
#[tokio::test]
async fn simulator_to_twins_hub_to_bridge_to_records_hub() {
    use adt_bridge::config::eventhubs::TWINS_HUB;
    use adt_bridge::simulator::{Factory, FactoryConfig};
    use adt_bridge::sink::eventhubs::KeyedWriter;
    use adt_bridge::sink::memory::MemorySink;
    use adt_bridge::tick_delivery::{Simulator, SimulatorMode, TwinsHubNotifications};

    let peer = Peer::start(
        PeerConfig::new("localhost")
            .hub("twins", 2)
            .hub("records", PARTITIONS)
            .hub("deadletter", 1),
    )
    .await
    .unwrap();
    let twins_settings = BTreeMap::from([
        (
            "TwinsEventHubConnection",
            emulator_connection(peer.addr(), "dev"),
        ),
        ("TWINS_EVENTHUB_NAME", "twins".to_owned()),
    ]);
    let twins_settings: BTreeMap<&str, &str> = twins_settings
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let writer = KeyedWriter::new(
        hub_settings(&twins_settings, TWINS_HUB).unwrap(),
        quick_retry(),
    );
    let simulator = Simulator {
        factory: Factory::new(FactoryConfig::with_seed(5)),
        mode: SimulatorMode::EventHub,
        delivery: Some(Arc::new(TwinsHubNotifications {
            writer,
            instance_host: "cocoa-works.api.weu.digitaltwins.azure.net".into(),
        })),
    };
    let server = Arc::new(Server {
        app: App::new(Default::default(), Arc::new(MemorySink::new())).with_simulator(simulator),
        max_request_bytes: 1 << 20,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let simulator_addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, server, std::future::pending()));
    for second in [0, 5, 10] {
        let timer = json!({"Data": {"timer": {"Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": false}},
                           "Metadata": {"sys": {"MethodName": "FactorySimulator", "UtcNow": format!("2026-05-01T12:00:{second:02}.0000000Z"), "RandGuid": "x"}}});
        let (status, body) = post_chunked(
            simulator_addr,
            "/FactorySimulator",
            timer.to_string().as_bytes(),
            4096,
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let notifications = peer.wait_for_events("twins", 9, WAIT).await;
    assert_eq!(notifications.len(), 9);
    let events: Vec<HubEvent> = notifications
        .iter()
        .map(|n| HubEvent {
            body: String::from_utf8(n.body.clone()).unwrap(),
            properties: serde_json::to_value(&n.properties).unwrap(),
        })
        .collect();
    let request = event_hub_request(&events, HubRequestOptions::default());
    let bridge = Bridge::start(&emulator_settings(peer.addr(), "tsi")).await;
    let (status, body) = bridge.post("TwinUpdatesEventHub", &request).await;
    assert_eq!(status, 200, "{body}");
    let records = peer.wait_for_events("records", 9, WAIT).await;
    assert_eq!(
        records.len(),
        9,
        "one record per step update (values and sourceTimes share a timestamp)"
    );
    for record in &records {
        let body: Value = serde_json::from_slice(&record.body).unwrap();
        assert!(
            body["timestamp"]
                .as_str()
                .unwrap()
                .starts_with("2026-05-01T12:00:"),
            "{body}"
        );
        assert!(["FanningRoastingStep", "GrindingStep", "MouldingStep"]
            .contains(&body["$dtId"].as_str().unwrap()));
        assert!(body["ChasisTemperature"].is_f64(), "{body}");
    }
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn invocations_in_flight_share_transfers_and_each_keeps_its_twins_in_order() {
    let peer = Peer::start(peer_config()).await.unwrap();
    // A slow hub, so invocations arrive while a partition's transfer is in flight.
    peer.faults().set_settle_delay(Duration::from_millis(50));
    let bridge = Arc::new(Bridge::start(&emulator_settings(peer.addr(), "tsi")).await);
    // Distinct event ids per invocation, so the batches can be told apart.
    let batches: Vec<TableBatch> = (0..12)
        .map(|n| TableBatch::new("tsi", 2, &format!("invocation{n}-")))
        .collect();
    let posts = batches.iter().map(|batch| {
        let bridge = bridge.clone();
        let request = batch.request.clone();
        tokio::spawn(async move { bridge.post("TwinUpdatesEventHub", &request).await })
    });
    for answer in futures_util::future::join_all(posts).await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let all: Vec<Expected> = batches.iter().flat_map(|b| b.expected.clone()).collect();
    let received = peer.wait_for_events("records", all.len(), WAIT).await;
    assert_holds_exactly(&received, &all);
    for batch in &batches {
        assert_in_twin_order(&received, &batch.expected);
    }
    // Twelve invocations touching four partitions each would be 48 transfers one by one.
    let transfers = peer.transfer_count();
    assert!(transfers < 24, "{transfers} transfers for 12 invocations");
    if let Ok(bridge) = Arc::try_unwrap(bridge) {
        bridge.stop();
    }
    peer.stop().await;
}
