//! The transform table's fixture format, `tests/fixtures/transform/*.json`, read by the table
//! runner and by the end-to-end tests that send its events through the real server.
//!
//! A fixture file holds a list of cases. Each case gives one event as a transport delivers it
//! (`eventhub`: body + application properties + enqueued time; `eventgrid`: the event JSON), the
//! invocation's `now`, optional settings, and what must come out, per record format: the exact
//! records (compared as JSON, so `20` and `20.0` differ; `"records": []` says no record comes out),
//! their message ids, or a skip or an unusable reason.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub transport: String,
    pub event: Value,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    #[serde(default = "default_now")]
    pub now: String,
    /// Per record format (`tsi`, `data-history`).
    pub expect: BTreeMap<String, Expect>,
}

fn default_now() -> String {
    "2026-05-01T12:00:09.0000000Z".into()
}

/// What one record format must make of the event. Unknown keys are refused: a misspelt
/// expectation would otherwise check nothing.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub records: Option<Vec<Value>>,
    #[serde(default)]
    pub message_ids: Option<Vec<String>>,
    #[serde(default)]
    pub skipped: Option<String>,
    #[serde(default)]
    pub unusable: Option<String>,
    #[serde(default)]
    pub invalid_ops: Option<usize>,
    #[serde(default)]
    pub removes: Option<usize>,
}

impl Expect {
    /// Whether any expectation is written down: a case without one would pass whatever the
    /// transform did.
    pub fn expects_something(&self) -> bool {
        self.records.is_some()
            || self.message_ids.is_some()
            || self.skipped.is_some()
            || self.unusable.is_some()
            || self.invalid_ops.is_some()
            || self.removes.is_some()
    }
}

impl Case {
    /// The `eventhub` event's fields.
    fn hub_event(&self) -> &Map<String, Value> {
        self.event
            .as_object()
            .unwrap_or_else(|| panic!("{}: an eventhub case is an object", self.name))
    }

    /// The `eventhub` event's body bytes: `body` (JSON), `bodyText` or `bodyBase64`.
    pub fn body(&self) -> Vec<u8> {
        let event = self.hub_event();
        match (
            event.get("body"),
            event.get("bodyText"),
            event.get("bodyBase64"),
        ) {
            (Some(body), _, _) => serde_json::to_vec(body).unwrap(),
            (_, Some(Value::String(text)), _) => text.clone().into_bytes(),
            (_, _, Some(Value::String(b64))) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
            _ => panic!("{}: no body", self.name),
        }
    }

    /// The `eventhub` event's application properties.
    pub fn properties(&self) -> Map<String, Value> {
        self.hub_event()
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// The `eventhub` event's enqueued time, as written.
    pub fn enqueued_time(&self) -> Option<&str> {
        self.hub_event().get("enqueuedTime").and_then(Value::as_str)
    }
}

/// Every case of every fixture file, in file order, each with its file's name.
pub fn read_table() -> Vec<(String, Case)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transform");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file_cases: Vec<Case> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        cases.extend(file_cases.into_iter().map(|case| (file.clone(), case)));
    }
    cases
}
