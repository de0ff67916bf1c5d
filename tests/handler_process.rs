//! The real `handler` binary as the Functions host starts it: port in FUNCTIONS_CUSTOMHANDLER_PORT,
//! readiness polled with `GET /` every 25 ms, SIGTERM to stop.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UNREACHABLE_HUB: &str = "Endpoint=sb://127.0.0.1:9/;SharedAccessKeyName=dev;SharedAccessKey=ZGV2;UseDevelopmentEmulator=true";

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get_root(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// Starts the handler and polls `GET /` until it answers; returns the time to the first answer.
fn time_to_first_answer() -> Duration {
    let port = free_port();
    let started = Instant::now();
    // The records hub is never dialled before the first invocation: an unreachable one is fine here.
    let mut child = Command::new(env!("CARGO_BIN_EXE_handler"))
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("TsiEventHubConnection", UNREACHABLE_HUB)
        .env("TSI_EVENTHUB_NAME", "records")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let answer = loop {
        if let Some(response) = get_root(port) {
            break response;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no answer on GET / after 10 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    let elapsed = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop(&mut child);
    elapsed
}

fn stop(child: &mut std::process::Child) {
    // SIGTERM, as the host does; the handler must exit cleanly and promptly.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the handler did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_handler_answers_get_root_soon_after_start_and_stops_on_sigterm() {
    let mut times: Vec<Duration> = (0..10).map(|_| time_to_first_answer()).collect();
    times.sort();
    println!(
        "start to first answer on GET / over 10 starts: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        times[0].as_secs_f64() * 1e3,
        times[5].as_secs_f64() * 1e3,
        times[9].as_secs_f64() * 1e3
    );
    // The target (50 ms) is checked by this figure and by the load tool, not by a timing assertion
    // that a busy CI machine could break; this bound only catches a handler that hangs at start.
    assert!(times[5] < Duration::from_secs(2));
}

#[test]
fn without_a_port_the_handler_says_which_setting_is_missing() {
    let output = Command::new(env!("CARGO_BIN_EXE_handler"))
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("FUNCTIONS_CUSTOMHANDLER_PORT"), "{stderr}");
}

#[test]
fn a_bad_setting_fails_the_start_with_its_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_handler"))
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", free_port().to_string())
        .env("BRIDGE_RECORD_FORMAT", "parquet")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("BRIDGE_RECORD_FORMAT") && stderr.contains("tsi, data-history"),
        "{stderr}"
    );
}

#[test]
fn without_a_records_hub_the_handler_says_which_setting_is_missing() {
    let output = Command::new(env!("CARGO_BIN_EXE_handler"))
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", free_port().to_string())
        .env_remove("TsiEventHubConnection")
        .env_remove("TsiEventHubConnection__fullyQualifiedNamespace")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TsiEventHubConnection"), "{stderr}");
}
