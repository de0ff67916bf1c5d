//! The bad-input corpus (`tests/fixtures/bad_input/*.json`) against the real server: port 0, the
//! same `App` and `Server` the `handler` binary builds, settings read through the config module,
//! and a `MemorySink` that refuses records over 1 MiB as the records hub would.
//!
//! Every bad event travels between good ones in the same batch; every case is followed by a good
//! invocation and a `GET /`, so a case passes only if its own outcome is right, the rest of its
//! batch is delivered, and the handler is still serving. Run with `--nocapture` for the per-family
//! counts that docs/robustness.md reports.

mod bad_input {
    pub mod case;
    pub mod check;
    pub mod http;
    pub mod request;
}

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use adt_bridge::config::{handler_settings, transform_options};
use adt_bridge::host::{serve, App, Server};
use adt_bridge::sink::memory::MemorySink;

use bad_input::case::{render, render_text, Case, Family, Kind};
use bad_input::check::{self, Expected, Received};
use bad_input::http::{exchange, host_headers, Framing};
use bad_input::request;

/// Largest record the stand-in records hub takes: Event Hubs Standard's 1 MiB.
const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The request bound the corpus runs with (`BRIDGE_MAX_REQUEST_BYTES`): small enough that the
/// over-the-bound cases are quick to send, large enough for the 10,000-op and 1.5 MB-string cases.
const MAX_REQUEST_BYTES: &str = "8388608";
/// Chunk size of request bodies, as the host sends them in Azure (no Content-Length).
const CHUNK: usize = 16 * 1024;

struct Bridge {
    addr: SocketAddr,
    sink: Arc<MemorySink>,
}

async fn start() -> Bridge {
    let settings = BTreeMap::from([("BRIDGE_MAX_REQUEST_BYTES", MAX_REQUEST_BYTES)]);
    let sink = Arc::new(MemorySink::with_max_record_bytes(MAX_RECORD_BYTES));
    let server = Arc::new(Server {
        app: App::new(transform_options(&settings).unwrap(), sink.clone()),
        max_request_bytes: handler_settings(&settings).unwrap().max_request_bytes,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, server, std::future::pending()));
    Bridge { addr, sink }
}

impl Bridge {
    /// POSTs a body the way the host does.
    async fn invoke(&self, function: &str, body: &[u8]) -> bad_input::http::Response {
        exchange(
            self.addr,
            "POST",
            &format!("/{function}"),
            &host_headers("4f1d6c3e-2b1a-4d7e-9c8f-0a1b2c3d4e5f"),
            body,
            Framing::Chunked(CHUNK),
        )
        .await
    }

    /// Runs `request` and returns what the sink received meanwhile.
    async fn watch<F: std::future::Future<Output = bad_input::http::Response>>(
        &self,
        request: F,
    ) -> (bad_input::http::Response, Received) {
        let (records, letters) = (self.sink.records().len(), self.sink.dead_letters().len());
        let response = request.await;
        let received = Received {
            records: self.sink.records().split_off(records),
            letters: self.sink.dead_letters().split_off(letters),
        };
        (response, received)
    }

    async fn still_serving(&self) -> Result<(), String> {
        let response = exchange(self.addr, "GET", "/", &[], &[], Framing::NoBody).await;
        let body = check::json_answer(&response)?;
        check::status(&response, 200, &body).map_err(|e| format!("GET / after the case: {e}"))
    }
}

async fn event_hub_case(bridge: &Bridge, tag: &str, case: &Case) -> Result<(), String> {
    let events = request::batch(tag, case);
    let body = request::event_hub_body(&events, case);
    let (response, received) = bridge
        .watch(bridge.invoke("TwinUpdatesEventHub", &body))
        .await;
    let answer = check::json_answer(&response)?;
    check::status(&response, case.expect.status.unwrap_or(200), &answer)?;
    let mut good = 0;
    let expected: Vec<Expected<'_>> = events
        .iter()
        .map(|event| match event.bad {
            Some(k) => Expected {
                expect: case.events[k].expect.clone(),
                event,
                exact: None,
            },
            None => {
                good += 1;
                Expected::good(event, good - 1)
            }
        })
        .collect();
    check::batch_outcome(
        "TwinUpdatesEventHub",
        &expected,
        case.encoding,
        &answer,
        &received,
    )
}

async fn event_grid_case(bridge: &Bridge, tag: &str, case: &Case) -> Result<(), String> {
    let event = render_text(case.event.as_ref().ok_or("an eventgrid case needs event")?);
    let utc_now = case.utc_now.as_deref().unwrap_or(request::UTC_NOW);
    let body = request::event_grid_body(&event, utc_now);
    let (response, received) = bridge
        .watch(bridge.invoke("TwinUpdatesEventGrid", &body))
        .await;
    let answer = check::json_answer(&response)?;
    check::status(&response, case.expect.status.unwrap_or(200), &answer)?;
    if let Some(expect) = &case.event_expect {
        let sent = request::BatchEvent {
            properties: "{}".into(),
            // What the handler dead-letters: text as the binding held it, an event as JSON.
            body: match serde_json::from_str::<serde_json::Value>(&event) {
                Ok(serde_json::Value::String(text)) => text.into_bytes(),
                Ok(value) => value.to_string().into_bytes(),
                Err(_) => event.clone().into_bytes(),
            },
            bad: Some(0),
        };
        let expected = [Expected {
            expect: expect.clone(),
            event: &sent,
            exact: None,
        }];
        check::batch_outcome(
            "TwinUpdatesEventGrid",
            &expected,
            case.encoding,
            &answer,
            &received,
        )?;
    } else {
        refused_without_effects(&answer, &received, case)?;
    }
    let id = format!("good-eg-{tag}");
    let (response, received) = bridge
        .watch(bridge.invoke(
            "TwinUpdatesEventGrid",
            &request::event_grid_body(&request::good_grid_event(&id, 7), request::UTC_NOW),
        ))
        .await;
    let answer = check::json_answer(&response)?;
    check::status(&response, 200, &answer)?;
    match received.records.as_slice() {
        [record] if record.message_id == format!("{id}:0") => Ok(()),
        other => Err(format!(
            "the good Event Grid event after the case gave {} record(s)",
            other.len()
        )),
    }
}

/// A refused request changes nothing: no record, no dead letter, an `Error` saying why.
fn refused_without_effects(
    answer: &serde_json::Value,
    received: &Received,
    case: &Case,
) -> Result<(), String> {
    if !received.records.is_empty() || !received.letters.is_empty() {
        return Err("a refused request still sent records or dead letters".into());
    }
    let error = answer["Error"].as_str().ok_or("a refusal without Error")?;
    match &case.expect.error_contains {
        Some(text) if !error.contains(text.as_str()) => {
            Err(format!("the error {error:?} does not say {text:?}"))
        }
        _ => Ok(()),
    }
}

async fn http_case(bridge: &Bridge, tag: &str, case: &Case) -> Result<(), String> {
    let spec = case.request.as_ref().ok_or("an http case needs request")?;
    let mut headers = host_headers("7a1d6c3e-2b1a-4d7e-9c8f-0a1b2c3d4e5f");
    for (name, value) in &spec.headers {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if let Some(value) = value {
            headers.push((name.clone(), value.clone()));
        }
    }
    let body = spec.body.as_ref().map(render).unwrap_or_default();
    let framing = match (&spec.body, spec.declared_length, spec.content_length) {
        _ if spec.raw_chunked => Framing::RawChunked,
        (_, Some(length), _) => Framing::Length(length),
        (None, None, _) => Framing::NoBody,
        (Some(_), None, true) => Framing::Length(body.len() as u64),
        (Some(_), None, false) => Framing::Chunked(CHUNK),
    };
    let (response, received) = bridge
        .watch(exchange(
            bridge.addr,
            &spec.method,
            &spec.path,
            &headers,
            &body,
            framing,
        ))
        .await;
    let answer = check::json_answer(&response)?;
    let wanted = case.expect.status.unwrap_or(200);
    check::status(&response, wanted, &answer)?;
    if wanted >= 400 {
        refused_without_effects(&answer, &received, case)?;
    } else {
        let records = case.expect.records.unwrap_or(0);
        let letters = case.expect.dead_letters.unwrap_or(0);
        if received.records.len() != records || received.letters.len() != letters {
            return Err(format!(
                "{} record(s) and {} dead letter(s), expected {records} and {letters}",
                received.records.len(),
                received.letters.len()
            ));
        }
    }
    good_batch_after(bridge, tag).await
}

/// A good batch after a case that had none of its own.
async fn good_batch_after(bridge: &Bridge, tag: &str) -> Result<(), String> {
    let case: Case = serde_json::from_value(serde_json::json!({
        "name": "after", "exercises": "the handler still delivers", "kind": "eventhub"}))
    .unwrap();
    event_hub_case(bridge, &format!("after-{tag}"), &case)
        .await
        .map_err(|e| format!("the good batch after the case: {e}"))
}

async fn run_case(bridge: &Bridge, tag: &str, case: &Case) -> Result<(), String> {
    match case.kind {
        Kind::Eventhub => event_hub_case(bridge, tag, case).await?,
        Kind::Eventgrid => event_grid_case(bridge, tag, case).await?,
        Kind::Http => http_case(bridge, tag, case).await?,
    }
    bridge.still_serving().await
}

/// What a family's cases came to, for the report.
#[derive(Default)]
struct Tally {
    cases: usize,
    outcomes: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, case: &Case) {
        self.cases += 1;
        let mut count = |outcome: String| *self.outcomes.entry(outcome).or_default() += 1;
        match case.kind {
            Kind::Eventhub => case
                .events
                .iter()
                .for_each(|e| count(e.expect.outcome().into())),
            Kind::Eventgrid => match &case.event_expect {
                Some(expect) => count(expect.outcome().into()),
                None => count(format!("http {}", case.expect.status.unwrap_or(200))),
            },
            Kind::Http => count(format!("http {}", case.expect.status.unwrap_or(200))),
        }
    }
}

fn families() -> Vec<(String, Family)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad_input");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let family =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (
                path.file_stem().unwrap().to_string_lossy().into_owned(),
                family,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_of_the_corpus_gets_its_expected_outcome_and_the_handler_stays_up() {
    let bridge = start().await;
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for (file, family) in families() {
        let mut tally = Tally::default();
        for (n, case) in family.cases.iter().enumerate() {
            assert!(
                !case.exercises.trim().is_empty(),
                "{file} / {}: say what it exercises",
                case.name
            );
            let tag = format!("{}-{n:02}", &file[..2]);
            if let Err(problem) = run_case(&bridge, &tag, case).await {
                failures.push(format!("{file} / {}: {problem}", case.name));
            }
            tally.add(case);
        }
        assert!(
            !family.description.is_empty(),
            "{file}: describe the family"
        );
        report.push((family.family, tally));
    }
    println!(
        "\nbad-input corpus: family | cases | outcomes (events for batches, answers for requests)"
    );
    let mut total = 0;
    for (family, tally) in &report {
        let outcomes: Vec<String> = tally
            .outcomes
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        println!("{family} | {} | {}", tally.cases, outcomes.join(", "));
        total += tally.cases;
    }
    println!("total cases: {total}; failures: {}", failures.len());
    assert!(total >= 100, "the corpus has {total} cases");
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
