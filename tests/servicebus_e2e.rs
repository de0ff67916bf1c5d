//! `TwinUpdatesServiceBus` end to end: host-shaped Service Bus requests (batch and single,
//! string and binary bodies, quoted and plain metadata) through the real server and the Event
//! Hubs sink to the local Event Hubs peer. The expected records are written by hand in
//! `tests/fixtures/servicebus/messages.json`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use azure_messaging_eventhubs::RetryOptions;
use eventhubs_peer::{Peer, PeerConfig, ReceivedEvent};
use serde::Deserialize;
use serde_json::Value;
use support::bridge::{emulator_connection, Bridge};
use support::servicebus::{
    service_bus_batch_request, service_bus_single_request, BusMessage, BusRequestOptions,
};
use support::{summary, Encoding};

const WAIT: Duration = Duration::from_secs(10);
const FUNCTION: &str = "TwinUpdatesServiceBus";

#[derive(Deserialize)]
struct Fixture {
    messages: Vec<Case>,
    poison: Poison,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    message_id: String,
    enqueued_time: String,
    delivery_count: u32,
    properties: Value,
    body: Value,
    records: Vec<ExpectedRecord>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpectedRecord {
    message_id: String,
    body: String,
    single_body: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Poison {
    message_id: String,
    enqueued_time: String,
    delivery_count: u32,
    properties: Value,
    body_text: String,
    dead_letter_reason: String,
}

fn fixture() -> Fixture {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/servicebus/messages.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

impl Case {
    fn message(&self) -> BusMessage {
        BusMessage {
            body: self.body.to_string(),
            properties: self.properties.clone(),
            message_id: self.message_id.clone(),
            enqueued_time: self.enqueued_time.clone(),
            delivery_count: self.delivery_count,
        }
    }

    /// (message id, body) of each record this message gives, alone or in a batch.
    fn expected(&self, single: bool) -> Vec<(String, String)> {
        self.records
            .iter()
            .map(|r| {
                let body = match (&r.single_body, single) {
                    (Some(body), true) => body,
                    _ => &r.body,
                };
                (r.message_id.clone(), body.clone())
            })
            .collect()
    }
}

impl Poison {
    fn message(&self) -> BusMessage {
        BusMessage {
            body: self.body_text.clone(),
            properties: self.properties.clone(),
            message_id: self.message_id.clone(),
            enqueued_time: self.enqueued_time.clone(),
            delivery_count: self.delivery_count,
        }
    }
}

const VARIANTS: [BusRequestOptions; 4] = [
    BusRequestOptions {
        encoding: Encoding::Quoted,
        binary: false,
    },
    BusRequestOptions {
        encoding: Encoding::Plain,
        binary: false,
    },
    BusRequestOptions {
        encoding: Encoding::Quoted,
        binary: true,
    },
    BusRequestOptions {
        encoding: Encoding::Plain,
        binary: true,
    },
];

fn peer_config() -> PeerConfig {
    PeerConfig::new("localhost")
        .hub("records", 4)
        .hub("deadletter", 1)
}

/// The bridge on `peer`, with short SDK retries: the hold, not the SDK, must be what rides out
/// an outage.
async fn start_bridge(peer: SocketAddr) -> Bridge {
    let retry = RetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(50),
        max_delay: azure_core::time::Duration::milliseconds(200),
        max_total_elapsed: azure_core::time::Duration::seconds(1),
        max_retries: 1,
    };
    let settings = [
        ("TsiEventHubConnection", emulator_connection(peer, "dev")),
        ("TSI_EVENTHUB_NAME", "records".to_owned()),
        ("BRIDGE_DEADLETTER_EVENTHUB_NAME", "deadletter".to_owned()),
    ];
    Bridge::start_with_retry(&settings, retry).await
}

/// (message id, record) of every record the peer holds; a packed event (a JSON array of
/// records) counts each element, under the id of the event that carried it.
fn received_records(events: &[ReceivedEvent]) -> Vec<(String, String)> {
    let mut records = Vec::new();
    for event in events {
        let id = event.message_id.clone().unwrap_or_default();
        match serde_json::from_slice::<Value>(&event.body).unwrap() {
            Value::Array(items) => {
                records.extend(items.iter().map(|r| (id.clone(), r.to_string())))
            }
            _ => records.push((id, String::from_utf8(event.body.clone()).unwrap())),
        }
    }
    records
}

/// The peer holds exactly `expected`: same record bodies, byte for byte, each once; unpacked
/// records carry their expected message id.
fn assert_records(received: &[ReceivedEvent], expected: &[(String, String)], label: &str) {
    let mut got = received_records(received);
    let mut want = expected.to_vec();
    if got.iter().all(|(_, body)| !body.starts_with('[')) && received.len() == got.len() {
        got.sort();
        want.sort();
        assert_eq!(got, want, "{label}");
    } else {
        let mut got: Vec<_> = got.into_iter().map(|(_, body)| body).collect();
        let mut want: Vec<_> = want.into_iter().map(|(_, body)| body).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{label}");
    }
}

#[tokio::test]
async fn batches_in_every_encoding_give_exactly_the_hand_written_records() {
    let cases = fixture().messages;
    let messages: Vec<BusMessage> = cases.iter().map(Case::message).collect();
    let expected: Vec<_> = cases.iter().flat_map(|c| c.expected(false)).collect();
    for options in VARIANTS {
        let peer = Peer::start(peer_config()).await.unwrap();
        let bridge = start_bridge(peer.addr()).await;
        let (status, body) = bridge
            .post(FUNCTION, &service_bus_batch_request(&messages, options))
            .await;
        assert_eq!(status, 200, "{options:?}: {body}");
        assert!(
            summary(&body).starts_with(&format!("{FUNCTION}: events=5 records=6 ")),
            "{options:?}: {}",
            summary(&body)
        );
        let received = peer.wait_for_events("records", expected.len(), WAIT).await;
        assert_records(&received, &expected, &format!("{options:?}"));
        bridge.stop();
        peer.stop().await;
    }
}

#[tokio::test]
async fn single_messages_in_every_encoding_give_exactly_the_hand_written_records() {
    let cases = fixture().messages;
    let peer = Peer::start(peer_config()).await.unwrap();
    let bridge = start_bridge(peer.addr()).await;
    let mut expected = Vec::new();
    for options in VARIANTS {
        for case in &cases {
            let request = service_bus_single_request(&case.message(), options);
            let (status, body) = bridge.post(FUNCTION, &request).await;
            assert_eq!(status, 200, "{options:?} {}: {body}", case.message_id);
            expected.extend(case.expected(true));
        }
    }
    let received = peer.wait_for_events("records", expected.len(), WAIT).await;
    assert_records(&received, &expected, "single messages");
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn a_poisoned_message_is_dead_lettered_and_the_rest_of_its_batch_delivered() {
    let fixture = fixture();
    let mut messages: Vec<BusMessage> = fixture.messages.iter().map(Case::message).collect();
    messages.insert(2, fixture.poison.message());
    let expected: Vec<_> = fixture
        .messages
        .iter()
        .flat_map(|c| c.expected(false))
        .collect();
    let peer = Peer::start(peer_config()).await.unwrap();
    let bridge = start_bridge(peer.addr()).await;
    let request = service_bus_batch_request(
        &messages,
        BusRequestOptions {
            encoding: Encoding::Quoted,
            binary: false,
        },
    );
    let (status, body) = bridge.post(FUNCTION, &request).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        summary(&body).contains("dead_lettered=1"),
        "{}",
        summary(&body)
    );
    let letters = peer.wait_for_events("deadletter", 1, WAIT).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(
        letters[0].body,
        fixture.poison.body_text.as_bytes(),
        "the raw body"
    );
    assert_eq!(
        letters[0].properties["deadLetterReason"],
        fixture.poison.dead_letter_reason
    );
    assert_eq!(
        letters[0].properties["cloudEvents:id"], "sb-poison-1",
        "the original properties"
    );
    let received = peer.wait_for_events("records", expected.len(), WAIT).await;
    assert_records(&received, &expected, "the rest of the batch");
    bridge.stop();
    peer.stop().await;
}

#[tokio::test]
async fn the_records_hub_down_for_3_s_is_ridden_out_inside_the_invocation() {
    let cases = fixture().messages;
    let messages: Vec<BusMessage> = cases.iter().map(Case::message).collect();
    let expected: Vec<_> = cases.iter().flat_map(|c| c.expected(false)).collect();
    let peer = Peer::start(peer_config()).await.unwrap();
    // A fresh bridge has no connection yet: every connection it opens is refused for 3 s.
    let bridge = start_bridge(peer.addr()).await;
    peer.faults().set_refuse_connections(true);
    let restore = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        peer.faults().set_refuse_connections(false);
    };
    let started = Instant::now();
    let request = service_bus_batch_request(
        &messages,
        BusRequestOptions {
            encoding: Encoding::Quoted,
            binary: false,
        },
    );
    let ((status, body), ()) = tokio::join!(bridge.post(FUNCTION, &request), restore);
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(
        took >= Duration::from_secs(3),
        "answered in {took:?}, during the outage"
    );
    let received = peer.wait_for_events("records", expected.len(), WAIT).await;
    assert_records(&received, &expected, "after the outage");
    bridge.stop();
    peer.stop().await;
}
