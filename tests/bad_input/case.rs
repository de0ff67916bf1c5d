//! The corpus's fixture format, and the templates that keep huge or malformed inputs small on disk.
//!
//! A family file holds cases of three kinds: `eventhub` (bad events, each placed between good ones
//! in one batch), `eventgrid` (one bad event, then a good one) and `http` (a whole request).
//!
//! Bodies are templates: plain JSON is written as it is; `{"$text": "..."}` is inserted verbatim
//! (truncated JSON, duplicate keys, `1e400`); `{"$base64": "..."}` gives raw bytes (invalid UTF-8);
//! `{"$gen": ...}` generates long strings, deep nesting or many ops.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

/// One fixture file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub family: String,
    pub description: String,
    pub cases: Vec<Case>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Eventhub,
    Eventgrid,
    Http,
}

/// How the request carries metadata and bodies (host-protocol.md, "How values are encoded").
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Current hosts: arrays and strings as JSON text.
    #[default]
    Quoted,
    /// Older hosts: plain JSON values.
    Plain,
    /// `dataType: binary`: bodies as base64, metadata quoted.
    Binary,
}

/// The shape of the good events placed around the bad ones.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GoodShape {
    /// Attributes in `PropertiesArray`, the body only the update (ADT's Event Hub endpoint).
    #[default]
    Binary,
    /// A CloudEvents JSON body and no properties: for cases that break `PropertiesArray` itself.
    Structured,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// What the case exercises and why its outcome is the right one.
    pub exercises: String,
    pub kind: Kind,
    /// `eventhub`: the bad events.
    #[serde(default)]
    pub events: Vec<BadEvent>,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default)]
    pub good: GoodShape,
    /// `eventhub`: Metadata keys to replace (`{"$remove": true}` removes one; `{"$text"}` is
    /// inserted verbatim).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// `eventgrid`: the value of `Data.event`, a template.
    #[serde(default)]
    pub event: Option<Value>,
    /// `eventgrid`: what that event must give.
    #[serde(default)]
    pub event_expect: Option<EventExpect>,
    /// `eventgrid`: `Metadata.sys.UtcNow`, when the case needs another one.
    #[serde(default)]
    pub utc_now: Option<String>,
    /// `http`: the request.
    #[serde(default)]
    pub request: Option<HttpRequest>,
    #[serde(default)]
    pub expect: CaseExpect,
}

/// One bad event of an `eventhub` case.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BadEvent {
    /// Replaces the default properties entirely: an object, or `{"$text"}` for raw JSON text.
    #[serde(default)]
    pub properties: Option<Value>,
    /// Merged onto the default properties; `{"$remove": true}` removes one.
    #[serde(default)]
    pub set_properties: Map<String, Value>,
    /// The body, a template.
    pub body: Value,
    pub expect: EventExpect,
}

/// What one event must give.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventExpect {
    /// Records delivered to the records hub.
    #[serde(default)]
    pub records: usize,
    /// Records too large for the hub, dead-lettered as `record-too-large`.
    #[serde(default)]
    pub too_large: usize,
    /// The event is poisoned: dead-lettered with this reason code.
    #[serde(default)]
    pub unusable: Option<String>,
    /// The event is skipped, counted under this type name.
    #[serde(default)]
    pub skipped: Option<String>,
    /// Ops skipped inside a usable patch.
    #[serde(default)]
    pub invalid_ops: usize,
    /// Members the first record must have (a subset of its JSON).
    #[serde(default)]
    pub record: Option<Map<String, Value>>,
    /// Exact number of members of the first record, `$dtId` and `timestamp` included.
    #[serde(default)]
    pub record_members: Option<usize>,
    /// Message ids start with this instead of `<cloudEvents:id>:` (`sha256-` for derived ids).
    #[serde(default)]
    pub message_id_prefix: Option<String>,
}

impl EventExpect {
    /// The outcome's name in the report.
    pub fn outcome(&self) -> &'static str {
        if self.unusable.is_some() || self.too_large > 0 {
            "poisoned"
        } else if self.skipped.is_some() {
            "skipped"
        } else if self.records > 0 {
            "records"
        } else {
            "no records"
        }
    }
}

/// What the whole case must give.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseExpect {
    /// The HTTP status (200 unless given).
    #[serde(default)]
    pub status: Option<u16>,
    /// Text the `Error` member of a refusal must contain.
    #[serde(default)]
    pub error_contains: Option<String>,
    /// `http` cases answered 200: records delivered by the request.
    #[serde(default)]
    pub records: Option<usize>,
    /// `http` cases answered 200: dead letters written by the request.
    #[serde(default)]
    pub dead_letters: Option<usize>,
}

/// A whole HTTP request of an `http` case.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRequest {
    #[serde(default = "post")]
    pub method: String,
    pub path: String,
    /// Extra headers, or replacements of the host's (`null` drops one).
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
    /// The body, a template; none sends no body.
    #[serde(default)]
    pub body: Option<Value>,
    /// Send the body with a `Content-Length` instead of chunked.
    #[serde(default)]
    pub content_length: bool,
    /// Declare this `Content-Length` whatever the body's length (the body is cut to it if longer).
    #[serde(default)]
    pub declared_length: Option<u64>,
    /// Say `Transfer-Encoding: chunked` but write the body as it is (for broken chunk framing).
    #[serde(default)]
    pub raw_chunked: bool,
}

fn post() -> String {
    "POST".into()
}

/// Renders a template to bytes.
pub fn render(template: &Value) -> Vec<u8> {
    if let Some(Value::String(b64)) = single(template, "$base64") {
        return base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("valid base64 in a fixture");
    }
    let mut out = String::new();
    write_text(template, &mut out);
    out.into_bytes()
}

/// Renders a template to text (templates other than `$base64` are always UTF-8).
pub fn render_text(template: &Value) -> String {
    String::from_utf8(render(template)).expect("a text template")
}

/// The value of `key` when `value` is an object holding only that key.
fn single<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(key),
        _ => None,
    }
}

/// Appends a template's text to `out`.
pub fn write_text(template: &Value, out: &mut String) {
    if let Some(Value::String(text)) = single(template, "$text") {
        out.push_str(text);
        return;
    }
    if let Some(generator) = template.get("$gen").and_then(Value::as_str) {
        generate(generator, template, out);
        return;
    }
    match template {
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_text(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (n, (key, value)) in map.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_text(value, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `string` (`prefix` + `char` × `len`, as a JSON string), `nested` (`open` × `depth`, `leaf`,
/// `close` × `depth`), `ops` (`count` replace ops on `/P<n>`), `repeat` (`item` × `count`,
/// comma-separated, for inside an array).
fn generate(generator: &str, spec: &Value, out: &mut String) {
    let text = |key: &str| spec.get(key).and_then(Value::as_str).unwrap_or_default();
    let number = |key: &str| {
        spec.get(key)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("$gen {generator} needs {key}")) as usize
    };
    match generator {
        "string" => {
            let body = format!("{}{}", text("prefix"), text("char").repeat(number("len")));
            out.push_str(&Value::String(body).to_string());
        }
        "nested" => {
            let depth = number("depth");
            out.push_str(&text("open").repeat(depth));
            write_text(spec.get("leaf").unwrap_or(&Value::Null), out);
            out.push_str(&text("close").repeat(depth));
        }
        "ops" => {
            out.push('[');
            for n in 0..number("count") {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&format!(r#"{{"op":"replace","path":"/P{n}","value":{n}}}"#));
            }
            out.push(']');
        }
        "repeat" => {
            let item = spec.get("item").unwrap_or(&Value::Null);
            for n in 0..number("count") {
                if n > 0 {
                    out.push(',');
                }
                write_text(item, out);
            }
        }
        other => panic!("unknown generator {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_render_verbatim_text_generated_parts_and_plain_json() {
        let template = json!({"a": {"$text": "1e400"}, "b": {"$gen": "string", "char": "x", "len": 3},
                              "c": {"$gen": "nested", "depth": 2, "open": "[", "close": "]", "leaf": 1}});
        assert_eq!(render_text(&template), r#"{"a":1e400,"b":"xxx","c":[[1]]}"#);
        assert_eq!(render(&json!({"$base64": "/w=="})), [0xff]);
    }
}
