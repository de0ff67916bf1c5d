//! The security pass: the `handler` binary listens on IPv4 loopback only, refuses bodies past the
//! bound before reading them whole, and never lets a secret (a connection string's key, a SAS
//! signature, a bearer token) reach a log line, an answer body or its `Logs`.

#[path = "security/handler.rs"]
mod handler;
mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use eventhubs_peer::{Peer, PeerConfig};
use handler::{free_port, Handler};
use serde_json::json;
use support::{event_hub_request, grinding_update, HubRequestOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A key no text the handler writes may contain.
const KEY: &str = "S2V5VGhhdE11c3ROZXZlckxlYWsvMTIzNDU2Nzg5MA==";
/// A pre-formed SAS signature that must never show either.
const SIGNATURE: &str = "c2lnbmF0dXJlLW11c3QtbmV2ZXItbGVhaw%3D%3D";

fn batch() -> String {
    let mut events: Vec<_> = (0..3).map(grinding_update).collect();
    events[1].body = "not json, to be dead-lettered".into();
    event_hub_request(&events, HubRequestOptions::default()).to_string()
}

fn timer() -> String {
    json!({"Data": {"timer": {"Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": false}},
           "Metadata": {"sys": {"MethodName": "FactorySimulator", "UtcNow": "2026-05-01T12:00:00.0000000Z", "RandGuid": "x"}}})
    .to_string()
}

/// Runs the handler against `connection` (records, dead letters and the simulator's twins hub all
/// on it), makes every kind of invocation that dials it, and checks that each failed with a JSON
/// answer and that none of `secrets` appears in any answer or anything the process wrote.
async fn no_secret_reaches_any_output(connection: String, secrets: &[&str]) -> String {
    let handler = Handler::start(&[
        ("TsiEventHubConnection", connection.clone()),
        ("TSI_EVENTHUB_NAME", "records".into()),
        ("BRIDGE_DEADLETTER_EVENTHUB_NAME", "deadletter".into()),
        ("TwinsEventHubConnection", connection),
        ("TWINS_EVENTHUB_NAME", "twins".into()),
        ("SIMULATOR_MODE", "eventhub".into()),
        // Debug level: the most a user would turn on while chasing a connection problem.
        ("RUST_LOG", "debug".into()),
    ])
    .await;
    let mut answers = String::new();
    for (function, body) in [
        ("TwinUpdatesEventHub", batch()),
        ("TwinUpdatesEventHub", batch()),
        ("FactorySimulator", timer()),
    ] {
        let (status, answer) = handler.invoke(function, &body).await;
        assert_eq!(status, 500, "{function}: delivery cannot succeed: {answer}");
        let json_body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let parsed: serde_json::Value = serde_json::from_str(json_body)
            .unwrap_or_else(|e| panic!("{function}: not a JSON answer ({e}): {answer}"));
        assert!(parsed["Error"].is_string(), "{parsed}");
        answers.push_str(&answer);
    }
    let written = handler.stop();
    for secret in secrets {
        assert!(
            !answers.contains(secret),
            "an answer holds {secret}: {answers}"
        );
        assert!(
            !written.contains(secret),
            "the process wrote {secret}:\n{written}"
        );
    }
    format!("{answers}\n{written}")
}

fn peer_config() -> PeerConfig {
    PeerConfig::new("localhost")
        .hub("records", 2)
        .hub("deadletter", 1)
        .hub("twins", 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_never_reaches_logs_or_answers() {
    let peer = Peer::start(peer_config()).await.unwrap();
    peer.faults().set_put_token_status(401);
    let connection = format!(
        "Endpoint=sb://localhost:{}/;SharedAccessKeyName=bridge;SharedAccessKey={KEY};UseDevelopmentEmulator=true",
        peer.addr().port()
    );
    // The SAS tokens the handler signed with the key are secrets too.
    let everything = no_secret_reaches_any_output(connection.clone(), &[KEY]).await;
    let tokens = peer.token_requests();
    assert!(!tokens.is_empty(), "the handler presented tokens");
    for token in &tokens {
        assert_eq!(token.status_code, 401);
        let signature = token
            .token
            .split("sig=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert!(
            !everything.contains(signature),
            "a signed token's signature leaked"
        );
    }
    assert!(
        everything.contains("authentication"),
        "the failure is still named: {everything}"
    );
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_for_a_closed_port_never_reaches_logs_or_answers() {
    let connection = format!(
        "Endpoint=sb://127.0.0.1:{}/;SharedAccessKeyName=bridge;SharedAccessKey={KEY};UseDevelopmentEmulator=true",
        free_port()
    );
    no_secret_reaches_any_output(connection, &[KEY]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_access_signature_never_reaches_logs_or_answers() {
    let peer = Peer::start(peer_config()).await.unwrap();
    peer.faults().set_put_token_status(401);
    let connection = format!(
        "Endpoint=sb://localhost:{}/;SharedAccessSignature=SharedAccessSignature sr=amqp%3A%2F%2Flocalhost%2Frecords&sig={SIGNATURE}&se=4102444800&skn=bridge;UseDevelopmentEmulator=true",
        peer.addr().port()
    );
    no_secret_reaches_any_output(connection, &[SIGNATURE]).await;
    let presented: Vec<String> = peer.token_requests().into_iter().map(|t| t.token).collect();
    assert!(
        presented.iter().any(|t| t.contains(SIGNATURE)),
        "the signature was used: {presented:?}"
    );
    peer.stop().await;
}

/// A records hub that is never dialled: these tests make no invocation that sends records.
fn unreachable_records() -> Vec<(&'static str, String)> {
    vec![
        (
            "TsiEventHubConnection",
            format!("Endpoint=sb://127.0.0.1:9/;SharedAccessKeyName=dev;SharedAccessKey={KEY};UseDevelopmentEmulator=true"),
        ),
        ("TSI_EVENTHUB_NAME", "records".into()),
    ]
}

/// The listening sockets the process owns, from /proc: (address, port, is IPv6).
#[cfg(target_os = "linux")]
fn listening_sockets(pid: u32) -> Vec<(String, u16, bool)> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let mut found = Vec::new();
    for (table, ipv6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields[1], fields[3], fields[9]);
            if state == "0A" && inodes.iter().any(|i| i == inode) {
                let (address, port) = local.split_once(':').unwrap();
                found.push((
                    address.to_owned(),
                    u16::from_str_radix(port, 16).unwrap(),
                    ipv6,
                ));
            }
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_handler_binary_listens_on_ipv4_loopback_only() {
    let handler = Handler::start(&unreachable_records()).await;
    let sockets = listening_sockets(handler.child.id());
    let port = handler.port;
    handler.stop();
    // /proc/net/tcp writes 127.0.0.1 as the little-endian hex 0100007F.
    assert_eq!(sockets, [("0100007F".to_owned(), port, false)]);
}

/// Sends chunked body data until the handler answers; returns the answer and how much was sent.
async fn send_until_answered(port: u16, chunks: usize) -> (String, usize) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"POST /TwinUpdatesEventHub HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "x".repeat(16 * 1024));
    let mut sent = 0;
    for _ in 0..chunks {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
        sent += 16 * 1024;
    }
    // The body is never finished: only a handler that stops reading at the bound can answer.
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer before the body ends")
        .unwrap();
    (String::from_utf8_lossy(&answer[..n]).into_owned(), sent)
}

#[tokio::test]
async fn a_body_over_the_bound_gets_413_json_before_it_is_all_sent() {
    let mut settings = unreachable_records();
    settings.push(("BRIDGE_MAX_REQUEST_BYTES", "65536".into()));
    let handler = Handler::start(&settings).await;
    // 1 MiB offered in 16 KiB chunks, and the end of the body never comes.
    let (answer, sent) = send_until_answered(handler.port, 64).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("content-type: application/json"),
        "{answer}"
    );
    assert!(answer.contains("larger than 65536 bytes"), "{answer}");
    println!("413 after {sent} bytes sent of an unending body");
    // A declared length past the bound is refused without a byte of body.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", handler.port))
        .await
        .unwrap();
    stream
        .write_all(b"POST /TwinUpdatesEventHub HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000000\r\n\r\n")
        .await
        .unwrap();
    let mut head = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut head))
        .await
        .expect("an answer with no body sent")
        .unwrap();
    assert!(head[..n].starts_with(b"HTTP/1.1 413"));
    let (status, _) = handler.invoke("TwinUpdatesEventHub", "{}").await;
    assert_eq!(status, 400, "still serving after the refusals");
    handler.stop();
}

/// Everything the test process logs, for the in-process bearer-token test.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Capture(sink.clone()))
            .init();
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[path = "security/bearer.rs"]
mod bearer;
