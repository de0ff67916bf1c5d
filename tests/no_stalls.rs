//! Nothing stalls a partition: the real `handler` binary against the local Event Hubs peer, with
//! failures that repeat on every attempt. Each must fail only early attempts, then keep the data
//! in the log and succeed, while every good record is delivered; a setting only one function
//! needs must not stop the others.

#[path = "security/handler.rs"]
mod handler;
mod support;

use std::time::Duration;

use eventhubs_peer::{Peer, PeerConfig};
use handler::Handler;
use serde_json::{json, Value};
use support::bridge::{emulator_connection, record_texts};
use support::{event_grid_request, event_hub_request, grinding_update, summary, HubRequestOptions};

const WAIT: Duration = Duration::from_secs(10);

/// A peer with a records hub and no dead-letter hub.
async fn peer_without_dead_letter_hub() -> Peer {
    Peer::start(PeerConfig::new("localhost").hub("records", 2))
        .await
        .unwrap()
}

fn settings(peer: &Peer, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut all = vec![
        (
            "TsiEventHubConnection",
            emulator_connection(peer.addr(), "dev"),
        ),
        ("TSI_EVENTHUB_NAME", "records".to_owned()),
        ("BRIDGE_DEADLETTER_EVENTHUB_NAME", "deadletter".to_owned()),
        ("BRIDGE_DEADLETTER_ATTEMPTS", "3".to_owned()),
    ];
    all.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    all
}

/// The JSON body of a raw HTTP answer.
fn json_body(answer: &str) -> Value {
    serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default())
        .unwrap_or_else(|e| panic!("not a JSON answer ({e}): {answer}"))
}

/// Every record the peer holds on the records hub, unrolled.
fn records_at(peer: &Peer) -> Vec<String> {
    peer.events("records")
        .iter()
        .flat_map(record_texts)
        .collect()
}

#[tokio::test]
async fn a_missing_dead_letter_hub_fails_early_attempts_then_logs_the_events_and_succeeds() {
    let peer = peer_without_dead_letter_hub().await;
    let handler = Handler::start(&settings(&peer, &[])).await;
    let mut events: Vec<_> = (0..5).map(grinding_update).collect();
    events[1].body = "POISON-ONE Vibration=112".into();
    events[3].body = "{\"patch\": \"POISON-TWO not an array\"}".into();
    for attempt in 0..5u32 {
        let options = HubRequestOptions {
            retry_count: Some(attempt),
            ..HubRequestOptions::default()
        };
        let request = event_hub_request(&events, options).to_string();
        let (status, answer) = handler.invoke("TwinUpdatesEventHub", &request).await;
        let body = json_body(&answer);
        if attempt < 3 {
            assert_eq!(status, 500, "attempt {attempt}: {answer}");
            assert!(
                body["Error"].as_str().unwrap().contains("dead letters"),
                "{body}"
            );
        } else {
            assert_eq!(status, 200, "attempt {attempt}: {answer}");
            let summary = summary(&body);
            assert!(
                summary.contains("logged=2") && summary.contains("dead_lettered=0"),
                "{summary}"
            );
        }
    }
    // Every good record arrived (more than once: each failed attempt had sent them already).
    let held = records_at(&peer);
    for index in [0, 2, 4] {
        let twin = ["GrindingStep", "FanningRoastingStep", "MouldingStep"][index % 3];
        assert!(
            held.iter().any(|r| r.contains(twin)),
            "no record of event {index} among {held:?}"
        );
    }
    let output = handler.stop();
    for poison in ["POISON-ONE Vibration=112", "POISON-TWO not an array"] {
        let kept = output
            .lines()
            .filter(|line| line.contains("unusable event kept in the log") && line.contains(poison))
            .count();
        assert_eq!(
            kept, 2,
            "{poison} logged whole on attempts 3 and 4:\n{output}"
        );
    }
    peer.stop().await;
}

#[tokio::test]
async fn an_unreadable_request_fails_early_attempts_then_is_logged_and_succeeds() {
    let peer = peer_without_dead_letter_hub().await;
    let handler = Handler::start(&settings(&peer, &[])).await;
    // Not JSON at all: the attempts are counted by the body.
    let garbage = "UNREADABLE{ this is no invocation";
    for attempt in 0..4 {
        let (status, answer) = handler.invoke("TwinUpdatesEventHub", garbage).await;
        let expected = if attempt < 3 { 400 } else { 200 };
        assert_eq!(status, expected, "attempt {attempt}: {answer}");
        json_body(&answer);
    }
    // JSON with a retry context but no usable envelope: its own count decides.
    let envelope = |count: u32| {
        json!({"Data": "UNREADABLE-DATA", "Metadata": {"RetryContext": {"RetryCount": count.to_string()}}})
            .to_string()
    };
    assert_eq!(
        handler.invoke("TwinUpdatesEventHub", &envelope(2)).await.0,
        400
    );
    assert_eq!(
        handler.invoke("TwinUpdatesEventHub", &envelope(3)).await.0,
        200
    );
    // A good invocation still delivers.
    let request = event_hub_request(&[grinding_update(0)], HubRequestOptions::default());
    let (status, answer) = handler
        .invoke("TwinUpdatesEventHub", &request.to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(peer.wait_for_count("records", 1, WAIT).await, 1);
    let output = handler.stop();
    for raw in ["UNREADABLE{ this is no invocation", "UNREADABLE-DATA"] {
        assert!(
            output
                .lines()
                .any(|line| line.contains("unreadable request kept in the log")
                    && line.contains(raw)),
            "{raw} not in the log:\n{output}"
        );
    }
    peer.stop().await;
}

#[tokio::test]
async fn a_bad_simulator_setting_fails_only_the_simulator() {
    let peer = peer_without_dead_letter_hub().await;
    let handler = Handler::start(&settings(&peer, &[("SIMULATOR_MODE", "sometimes")])).await;
    let timer = json!({"Data": {"timer": {"Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": false}},
                       "Metadata": {"sys": {"MethodName": "FactorySimulator", "UtcNow": "2026-05-01T12:00:00.0000000Z", "RandGuid": "x"}}});
    let (status, answer) = handler.invoke("FactorySimulator", &timer.to_string()).await;
    assert_eq!(status, 500, "{answer}");
    assert!(json_body(&answer)["Error"]
        .as_str()
        .unwrap()
        .contains("SIMULATOR_MODE"));
    let request = event_hub_request(
        &[grinding_update(0), grinding_update(1)],
        HubRequestOptions::default(),
    );
    let (status, answer) = handler
        .invoke("TwinUpdatesEventHub", &request.to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        peer.wait_for_count("records", 1, WAIT).await,
        1,
        "one packed event"
    );
    assert_eq!(records_at(&peer).len(), 2);
    let output = handler.stop();
    assert!(
        output
            .lines()
            .any(|line| line.contains("FactorySimulator function cannot run")
                && line.contains("SIMULATOR_MODE")),
        "named once at start:\n{output}"
    );
    peer.stop().await;
}

#[tokio::test]
async fn an_event_grid_dead_letter_the_hub_cannot_take_stops_failing_at_the_bound() {
    // Event Grid carries no attempt number: the same event delivered again is counted.
    let peer = peer_without_dead_letter_hub().await;
    let handler = Handler::start(&settings(&peer, &[])).await;
    let request = event_grid_request(&json!("UNUSABLE-EVENT-GRID not an event"), false).to_string();
    for attempt in 0..4 {
        let (status, answer) = handler.invoke("TwinUpdatesEventGrid", &request).await;
        let expected = if attempt < 3 { 500 } else { 200 };
        assert_eq!(status, expected, "delivery {attempt}: {answer}");
    }
    let output = handler.stop();
    assert!(
        output
            .lines()
            .any(|line| line.contains("unusable event kept in the log")
                && line.contains("UNUSABLE-EVENT-GRID not an event")),
        "{output}"
    );
    peer.stop().await;
}
