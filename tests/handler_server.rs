//! The real server on port 0, invoked with host-shaped requests (host-protocol.md).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adt_bridge::host::{serve, App, Server};
use adt_bridge::records::TransformOptions;
use adt_bridge::sink::memory::MemorySink;
use serde_json::{json, Value};
use support::*;

struct Running {
    addr: SocketAddr,
    sink: Arc<MemorySink>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_with(sink: MemorySink, max_request_bytes: usize) -> Running {
    let sink = Arc::new(sink);
    let server = Arc::new(Server {
        app: App::new(TransformOptions::default(), sink.clone()),
        max_request_bytes,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, server, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        sink,
        stop: Some(stop),
        task,
    }
}

async fn start() -> Running {
    start_with(MemorySink::new(), 128 * 1024 * 1024).await
}

impl Running {
    async fn post(&self, function: &str, body: &Value) -> (u16, Value) {
        self.post_text(function, body.to_string()).await
    }

    async fn post_text(&self, function: &str, body: String) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("http://{}/{function}", self.addr))
            .header("Content-Type", "application/json; charset=utf-8")
            .header(
                "X-Azure-Functions-InvocationId",
                "9b2f6a1e-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            )
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(response.headers()["content-type"], "application/json");
        (
            status,
            response
                .json()
                .await
                .expect("every answer is a JSON object"),
        )
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn batches_of_1_100_and_1000_events_deliver_every_record_in_order() {
    let server = start().await;
    let mut expected = 0;
    for size in [1, 100, 1000] {
        let events: Vec<_> = (0..size).map(grinding_update).collect();
        let (status, body) = server
            .post(
                "TwinUpdatesEventHub",
                &event_hub_request(&events, HubRequestOptions::default()),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ReturnValue"], Value::Null);
        assert!(
            summary(&body).contains(&format!("events={size} records={size} ")),
            "{}",
            summary(&body)
        );
        expected += size;
    }
    let records = server.sink.records();
    assert_eq!(records.len(), expected);
    let last_batch = &records[101..];
    for (index, record) in last_batch.iter().enumerate() {
        assert_eq!(record.message_id, format!("evt-{index:05}:0"));
        let body: Value = serde_json::from_str(&record.body).unwrap();
        assert_eq!(
            body["$dtId"],
            ["GrindingStep", "FanningRoastingStep", "MouldingStep"][index % 3]
        );
        assert_eq!(body["PowerUsage"], json!(70.0));
    }
    server.stop().await;
}

#[tokio::test]
async fn quoted_and_plain_metadata_binary_bodies_and_a_missing_partition_context_all_decode() {
    let server = start().await;
    let events: Vec<_> = (0..3).map(grinding_update).collect();
    for options in [
        HubRequestOptions {
            encoding: Encoding::Quoted,
            ..HubRequestOptions::default()
        },
        HubRequestOptions {
            encoding: Encoding::Plain,
            ..HubRequestOptions::default()
        },
        HubRequestOptions {
            binary: true,
            ..HubRequestOptions::default()
        },
        HubRequestOptions {
            trigger_partition_context: false,
            retry_count: None,
            ..HubRequestOptions::default()
        },
    ] {
        let (status, body) = server
            .post("TwinUpdatesEventHub", &event_hub_request(&events, options))
            .await;
        assert_eq!(status, 200, "{options:?}: {body}");
        assert!(
            summary(&body).contains("events=3 records=3 "),
            "{options:?}: {}",
            summary(&body)
        );
    }
    let records = server.sink.records();
    assert_eq!(records.len(), 12);
    for record in &records {
        // The event's own time (cloudEvents:time), never the invocation's.
        let body: Value = serde_json::from_str(&record.body).unwrap();
        assert!(
            body["timestamp"]
                .as_str()
                .unwrap()
                .starts_with("2026-05-01T12:00:0"),
            "{body}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn the_retry_context_is_reported_in_the_summary() {
    let server = start().await;
    let request = event_hub_request(
        &[grinding_update(0)],
        HubRequestOptions {
            retry_count: Some(3),
            ..HubRequestOptions::default()
        },
    );
    let (status, body) = server.post("TwinUpdatesEventHub", &request).await;
    assert_eq!(status, 200);
    assert!(summary(&body).ends_with("retry=3"), "{}", summary(&body));
    server.stop().await;
}

#[tokio::test]
async fn enqueued_times_without_a_zone_stamp_events_without_a_time() {
    let server = start().await;
    let mut event = grinding_update(0);
    event
        .properties
        .as_object_mut()
        .unwrap()
        .remove("cloudEvents:time");
    let (status, _) = server
        .post(
            "TwinUpdatesEventHub",
            &event_hub_request(&[event], HubRequestOptions::default()),
        )
        .await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&server.sink.records()[0].body).unwrap();
    assert_eq!(body["timestamp"], "2026-05-01T12:00:00.5Z");
    server.stop().await;
}

#[tokio::test]
async fn event_grid_in_both_schemas_and_as_object_or_string() {
    let server = start().await;
    let events = [
        event_grid_schema_update("eg-1", "GrindingStep", 111.0),
        cloud_events_update("ce-1", "GrindingStep", 112.0),
    ];
    for event in &events {
        for as_string in [false, true] {
            let (status, body) = server
                .post(
                    "TwinUpdatesEventGrid",
                    &event_grid_request(event, as_string),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert!(
                summary(&body).contains("events=1 records=1 "),
                "{}",
                summary(&body)
            );
        }
    }
    let ids: Vec<_> = server
        .sink
        .records()
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(ids, ["eg-1:0", "eg-1:0", "ce-1:0", "ce-1:0"]);
    server.stop().await;
}

#[tokio::test]
async fn a_value_written_minus_zero_keeps_its_sign_in_the_record() {
    // The host's JSON carries the event as an object, read with simd-json, which reads `-0` as
    // the integer 0; the record must carry what serde_json reads, −0.0, as it did before.
    let server = start().await;
    let event = event_grid_schema_update("eg-1", "GrindingStep", 111.0);
    let request = event_grid_request(&event, false).to_string();
    assert_eq!(
        request.matches("111.0").count(),
        2,
        "in Data and in Metadata"
    );
    let (status, body) = server
        .post_text("TwinUpdatesEventGrid", request.replace("111.0", "-0"))
        .await;
    assert_eq!(status, 200, "{body}");
    let record: Value = serde_json::from_str(&server.sink.records()[0].body).unwrap();
    assert_eq!(record["Vibration"].to_string(), "-0.0", "{record}");
    server.stop().await;
}

#[tokio::test]
async fn poisoned_events_cost_nothing_of_the_rest_of_their_batch() {
    let server = start().await;
    let mut events: Vec<_> = (0..6).map(grinding_update).collect();
    events[1].body = "Vibration=112".into();
    events[3].body = json!({"modelId": "dtmi:x;1"}).to_string();
    events[5]
        .properties
        .as_object_mut()
        .unwrap()
        .remove("cloudEvents:subject");
    let (status, body) = server
        .post(
            "TwinUpdatesEventHub",
            &event_hub_request(&events, HubRequestOptions::default()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let line = summary(&body);
    assert!(line.contains("records=3 "), "{line}");
    assert!(
        line.contains("unusable=3(body-not-json:1,missing-patch:1,no-twin-id:1)"),
        "{line}"
    );
    let delivered: Vec<_> = server
        .sink
        .records()
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(delivered, ["evt-00000:0", "evt-00002:0", "evt-00004:0"]);
    let letters = server.sink.dead_letters();
    let reasons: Vec<_> = letters.iter().map(|l| l.reason.code()).collect();
    assert_eq!(reasons, ["body-not-json", "missing-patch", "no-twin-id"]);
    assert_eq!(letters[0].body, b"Vibration=112");
    assert_eq!(letters[0].properties["cloudEvents:id"], "evt-00001");
    server.stop().await;
}

#[tokio::test]
async fn a_failing_sink_answers_500_with_json_and_the_retry_succeeds() {
    let server = start().await;
    server.sink.fail_next(1);
    let request = event_hub_request(
        &[grinding_update(0), grinding_update(1)],
        HubRequestOptions::default(),
    );
    let (status, body) = server.post("TwinUpdatesEventHub", &request).await;
    assert_eq!(status, 500);
    assert!(
        body["Error"].as_str().unwrap().contains("unreachable"),
        "{body}"
    );
    assert!(server.sink.records().is_empty());
    let (status, body) = server.post("TwinUpdatesEventHub", &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.sink.records().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn the_body_is_bounded_without_content_length() {
    let server = start_with(MemorySink::new(), 4096).await;
    let small = event_hub_request(&[grinding_update(0)], HubRequestOptions::default()).to_string();
    let (status, body) =
        post_chunked(server.addr, "/TwinUpdatesEventHub", small.as_bytes(), 512).await;
    assert_eq!(
        status, 200,
        "a chunked body under the bound is served: {body}"
    );
    let events: Vec<_> = (0..100).map(grinding_update).collect();
    let large = event_hub_request(&events, HubRequestOptions::default()).to_string();
    let (status, body) =
        post_chunked(server.addr, "/TwinUpdatesEventHub", large.as_bytes(), 1024).await;
    assert_eq!(status, 413);
    assert!(
        body["Error"]
            .as_str()
            .unwrap()
            .contains("larger than 4096 bytes"),
        "{body}"
    );
    let (status, _) =
        post_chunked(server.addr, "/TwinUpdatesEventHub", small.as_bytes(), 512).await;
    assert_eq!(status, 200, "the server is still up");
    server.stop().await;
}

#[tokio::test]
async fn readiness_unknown_functions_and_broken_envelopes_get_json_answers() {
    let server = start().await;
    let client = reqwest::Client::new();
    let ready = client
        .get(format!("http://{}/", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.json::<Value>().await.unwrap().is_object());
    let (status, _) = server.post("twinupdateseventhub", &json!({})).await;
    assert_eq!(status, 404, "function names match byte for byte");
    let (status, body) = server
        .post("TwinUpdatesEventHub", &json!({"Metadata": {}}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["Error"].as_str().unwrap().contains("Data.events"),
        "{body}"
    );
    let wrong = client
        .delete(format!("http://{}/TwinUpdatesEventHub", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    assert!(wrong.json::<Value>().await.unwrap()["Error"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_invocation_finish() {
    struct SlowSink(MemorySink);
    impl adt_bridge::sink::RecordSink for SlowSink {
        fn send<'a>(
            &'a self,
            records: &'a adt_bridge::records::Records,
        ) -> futures_util::future::BoxFuture<
            'a,
            Result<adt_bridge::sink::Delivery, adt_bridge::sink::SinkError>,
        > {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.0.send(records).await
            })
        }
        fn dead_letter<'a>(
            &'a self,
            letters: &'a [adt_bridge::sink::DeadLetter],
        ) -> futures_util::future::BoxFuture<'a, Result<usize, adt_bridge::sink::SinkError>>
        {
            self.0.dead_letter(letters)
        }
    }
    let server = Arc::new(Server {
        app: App::new(
            TransformOptions::default(),
            Arc::new(SlowSink(MemorySink::new())),
        ),
        max_request_bytes: 1 << 20,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, server, async {
        let _ = stopped.await;
    }));
    let request =
        event_hub_request(&[grinding_update(0)], HubRequestOptions::default()).to_string();
    let in_flight = tokio::spawn(async move {
        post_chunked(addr, "/TwinUpdatesEventHub", request.as_bytes(), 4096).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = Instant::now();
    stop.send(()).unwrap();
    let (status, _) = in_flight.await.unwrap();
    assert_eq!(status, 200, "the in-flight invocation finished");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stopping.elapsed() >= Duration::from_millis(150),
        "the server waited for it"
    );
}

#[tokio::test]
async fn a_declared_length_past_the_bound_is_refused_unread() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let running = start_with(MemorySink::new(), 1024).await;
    let mut stream = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    // A large declared length and a short body that never ends: only a check of the declared
    // length before reading can answer; reading would wait for bytes that never come.
    stream
        .write_all(b"POST /TwinUpdatesEventHub HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"Data\"")
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer without the rest of the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}
