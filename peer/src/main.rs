//! `eventhubs-peer`: runs the local Event Hubs peer until Ctrl-C, so a developer can point a handler
//! at it and watch, one JSON line per record on stdout, exactly what the handler sends. A packed
//! event (a JSON array of records) is unrolled: a line per record, each with the event's message
//! id and the record's index in it. Logs go to stderr (`RUST_LOG`, default `eventhubs_peer=info`).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use eventhubs_peer::{Peer, PeerConfig, ReceivedEvent};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
usage: eventhubs-peer --hub NAME:PARTITIONS [--hub NAME:PARTITIONS ...]
                      [--port 5672] [--namespace localhost] [--max-message-size BYTES]

example: eventhubs-peer --port 5672 --hub records:4 --hub deadletter:1";

const DEFAULT_PORT: u16 = 5672;

/// What the command line asked for.
#[derive(Debug, PartialEq)]
enum Command {
    Run { port: u16, config: PeerConfig },
    Help,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("eventhubs_peer=info")),
        )
        .init();

    let (port, config) = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run { port, config }) => (port, config),
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("eventhubs-peer: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let peer = match Peer::start_on(config, addr).await {
        Ok(peer) => peer,
        Err(error) => {
            eprintln!("eventhubs-peer: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("connection string: {}", peer.connection_string());
    println!("custom endpoint:   {}", peer.custom_endpoint());
    watch_events(&peer).await;
    peer.stop().await;
    ExitCode::SUCCESS
}

/// Prints every record of every accepted event until Ctrl-C.
async fn watch_events(peer: &Peer) {
    let mut feed = peer.subscribe();
    loop {
        tokio::select! {
            event = feed.recv() => match event {
                Ok(event) => {
                    for line in record_lines(&event) {
                        println!("{line}");
                    }
                }
                Err(RecvError::Lagged(missed)) => eprintln!("eventhubs-peer: {missed} events not printed (output too slow)"),
                Err(RecvError::Closed) => return,
            },
            _ = tokio::signal::ctrl_c() => return,
        }
    }
}

/// One JSON line per record the event carries, with the event's fields, the record's index in the
/// event and the record as UTF-8 text (invalid bytes replaced). A packed event that cannot be
/// unrolled is printed whole, with the reason.
fn record_lines(event: &ReceivedEvent) -> Vec<String> {
    let line = |index: usize, body: &[u8]| {
        json!({
            "hub": event.hub,
            "partition": event.partition_id,
            "partition_key": event.partition_key,
            "message_id": event.message_id,
            "record_index": index,
            "content_type": event.content_type,
            "properties": event.properties,
            "body": String::from_utf8_lossy(body),
        })
    };
    match event.records() {
        Ok(records) => records
            .into_iter()
            .enumerate()
            .map(|(index, record)| line(index, record).to_string())
            .collect(),
        Err(error) => {
            let mut whole = line(0, &event.body);
            whole["unpack_error"] = json!(error.to_string());
            vec![whole.to_string()]
        }
    }
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut port = DEFAULT_PORT;
    let mut config = PeerConfig::new("localhost");
    let mut hubs = Vec::new();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(Command::Help);
        }
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => port = parse_number(&flag, &value()?)?,
            "--namespace" => config.namespace = value()?,
            "--max-message-size" => config.max_message_size = parse_number(&flag, &value()?)?,
            "--hub" => hubs.push(parse_hub(&value()?)?),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if hubs.is_empty() {
        return Err("at least one --hub NAME:PARTITIONS is needed".to_string());
    }
    for (name, partitions) in hubs {
        config = config.hub(&name, partitions);
    }
    Ok(Command::Run { port, config })
}

/// `records:4` → (`records`, 4).
fn parse_hub(text: &str) -> Result<(String, u32), String> {
    let (name, partitions) = text
        .split_once(':')
        .ok_or_else(|| format!("--hub '{text}' is not NAME:PARTITIONS"))?;
    let partitions: u32 = parse_number("--hub", partitions)?;
    if name.is_empty() || partitions == 0 {
        return Err(format!(
            "--hub '{text}' needs a name and at least one partition"
        ));
    }
    Ok((name.to_string(), partitions))
}

fn parse_number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag} '{text}' is not a valid number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn parses_the_documented_example() {
        let command = parse(&[
            "--port",
            "5673",
            "--hub",
            "records:4",
            "--hub",
            "deadletter:1",
            "--namespace",
            "ns",
            "--max-message-size",
            "2048",
        ]);
        let expected = PeerConfig::new("ns")
            .hub("records", 4)
            .hub("deadletter", 1)
            .max_message_size(2048);
        assert_eq!(
            command,
            Ok(Command::Run {
                port: 5673,
                config: expected
            })
        );
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        for (args, reason) in [
            (&[][..], "at least one --hub"),
            (&["--hub", "records"][..], "NAME:PARTITIONS"),
            (&["--hub", "records:0"][..], "at least one partition"),
            (&["--hub", "records:x"][..], "not a valid number"),
            (&["--port"][..], "needs a value"),
            (&["--bogus"][..], "unknown argument"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.contains(reason), "{args:?}: {err}");
        }
    }

    fn received(properties: &[(&str, &str)], message_id: &str, body: &str) -> ReceivedEvent {
        ReceivedEvent {
            hub: "records".into(),
            partition_id: Some("1".into()),
            partition_key: None,
            message_id: Some(message_id.into()),
            content_type: Some("application/json".into()),
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn parsed(lines: Vec<String>) -> Vec<serde_json::Value> {
        lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn an_event_with_one_record_is_one_line_with_text_body() {
        let event = received(&[("k", "v")], "m:0", "{\"a\":1}");
        let lines = parsed(record_lines(&event));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["partition"], "1");
        assert_eq!(lines[0]["properties"]["k"], "v");
        assert_eq!(lines[0]["message_id"], "m:0");
        assert_eq!(lines[0]["record_index"], 0);
        assert_eq!(lines[0]["body"], "{\"a\":1}");
    }

    #[test]
    fn a_packed_event_is_a_line_per_record_with_the_event_id_and_index() {
        let body = r#"[{"$dtId":"a","v":1.50},{"$dtId":"b","v":2}]"#;
        let event = received(&[("recordCount", "2")], "m:0+2", body);
        let lines = parsed(record_lines(&event));
        assert_eq!(lines.len(), 2);
        for (index, (line, record)) in lines
            .iter()
            .zip([r#"{"$dtId":"a","v":1.50}"#, r#"{"$dtId":"b","v":2}"#])
            .enumerate()
        {
            assert_eq!(line["message_id"], "m:0+2");
            assert_eq!(line["record_index"], index);
            assert_eq!(line["body"], record);
        }
    }

    #[test]
    fn a_packed_event_that_does_not_unroll_is_printed_whole_with_the_reason() {
        let event = received(&[("recordCount", "3")], "m:0+3", "[1,2]");
        let lines = parsed(record_lines(&event));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["body"], "[1,2]");
        assert!(lines[0]["unpack_error"]
            .as_str()
            .unwrap()
            .contains("recordCount says 3"));
    }
}
