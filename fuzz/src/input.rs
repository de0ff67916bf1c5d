//! How a structured target reads its bytes: a few selector bytes up front, then the body.
//!
//! Each selector byte picks an attribute value from a short list of the values that matter (the
//! ones the specs name, and their edge cases), or past the list's end reads a free string: a
//! length byte and that many bytes. A seed is therefore easy to write by hand (selectors from the
//! lists, then a JSON body), and the fuzzer still reaches any string. The format needs nothing but
//! the standard library, so the replay test reads saved inputs exactly as the fuzzer did.

use adt_bridge::adt::{EventHubMessage, EventKind, EventKinds};
use adt_bridge::time::Timestamp;
use serde_json::{Map, Value};

/// The bytes still to read. Reading past the end yields zeros and empty slices, never a failure,
/// so that every input is a valid one.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    pub fn byte(&mut self) -> u8 {
        let (first, rest) = self.data.split_first().unwrap_or((&0, &[]));
        self.data = rest;
        *first
    }

    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        taken
    }

    /// Selector 0: absent. 1..=len: `list[s - 1]`. Anything else: a free string.
    pub fn pick(&mut self, list: &[&str]) -> Option<String> {
        let selector = usize::from(self.byte());
        match selector {
            0 => None,
            s if s <= list.len() => Some(list[s - 1].to_owned()),
            _ => {
                let len = usize::from(self.byte());
                Some(String::from_utf8_lossy(self.take(len)).into_owned())
            }
        }
    }
}

/// Event types: every kind the transform knows, the skipped ones, and near misses.
pub const TYPES: &[&str] = &[
    "Microsoft.DigitalTwins.Twin.Update",
    "Microsoft.DigitalTwins.Twin.Create",
    "Microsoft.DigitalTwins.Twin.Delete",
    "Microsoft.DigitalTwins.Relationship.Update",
    "Microsoft.DigitalTwins.Relationship.Create",
    "microsoft.iot.telemetry",
    "SensorChange",
    "SpaceChange",
    "TopologyOperation",
    "microsoft.digitaltwins.twin.update",
    "",
];

pub const IDS: &[&str] = &["evt-1", "evt-1:0", "", "  ", "a\u{7}b"];

pub const SOURCES: &[&str] = &[
    "cocoa-works.api.weu.digitaltwins.azure.net",
    "cocoa-works.api.weu.digitaltwins.azure.net/digitaltwins/Thermostat1",
    "cocoa-works.api.weu.digitaltwins.azure.net/digitaltwins/",
    "x/digitaltwins/ /",
    "/digitaltwins/a/digitaltwins/b//",
    "",
];

pub const SUBJECTS: &[&str] = &[
    "GrindingStep",
    "GrindingStep/relationships/feeds",
    "/relationships/r",
    "t/relationships/",
    "a/relationships/b/relationships/c",
    "",
    " \t",
    "a\u{0}b",
    "comp1",
];

pub const TIMES: &[&str] = &[
    "2026-05-01T12:00:00.1234567Z",
    "2026-05-01T12:00:00",
    "2026-05-01T14:00:00.5+02:00",
    "2026-05-01 12:00:00,25-0130",
    "0001-01-01T00:00:00Z",
    "2016-12-31T23:59:60.5Z",
    "9999-12-31T23:59:59.9-01:00",
    "0000-01-01T00:00:00+23:59",
    "2026-05-01T12:00:00.1234567891234Z",
    "not a time",
];

pub const SCHEMAS: &[&str] = &["dtmi:com:example:thermostat;1", ""];

/// One Event Hub message: nine selector bytes, then the body.
///
/// `[type, id, source, subject, time, dataschema, enqueued, flags, kinds]` where `flags` bit 0
/// spells the properties `cloudEvents_` instead of `cloudEvents:`, bit 1 adds the other spelling
/// with a clashing value, and bit 2 sends the subject as a number. A type selector of 0 leaves
/// the type out, which makes the body a structured (Event Grid or CloudEvents) event.
pub fn event_hub_message(bytes: &mut Bytes<'_>) -> (EventHubMessage, EventKinds) {
    let attributes = [
        ("type", bytes.pick(TYPES)),
        ("id", bytes.pick(IDS)),
        ("source", bytes.pick(SOURCES)),
        ("subject", bytes.pick(SUBJECTS)),
        ("time", bytes.pick(TIMES)),
        ("dataschema", bytes.pick(SCHEMAS)),
    ];
    let enqueued = bytes.pick(TIMES);
    let flags = bytes.byte();
    let kinds = event_kinds(bytes.byte());
    let (main, other) = if flags & 1 == 0 {
        ("cloudEvents:", "cloudEvents_")
    } else {
        ("cloudEvents_", "cloudEvents:")
    };
    let mut properties = Map::new();
    for (name, value) in attributes {
        let Some(value) = value else { continue };
        let value = match (name, flags & 4 != 0) {
            ("subject", true) => Value::from(value.len()),
            _ => Value::String(value),
        };
        if flags & 2 != 0 {
            properties.insert(format!("{other}{name}"), Value::from("clash"));
        }
        properties.insert(format!("{main}{name}"), value);
    }
    let message = EventHubMessage {
        body: bytes.take(usize::MAX).to_vec(),
        properties,
        // As the envelope decoder hands it over: parsed, placeholders dropped.
        enqueued_time: enqueued
            .and_then(|t| Timestamp::parse(&t).ok())
            .filter(|t| !t.is_placeholder()),
    };
    (message, kinds)
}

/// Bit 7 set (or a zero byte): every kind; otherwise the low five bits, one per kind.
pub fn event_kinds(byte: u8) -> EventKinds {
    if byte == 0 || byte & 0x80 != 0 {
        return EventKinds::all();
    }
    EventKind::ALL
        .into_iter()
        .enumerate()
        .filter(|(bit, _)| byte & (1 << bit) != 0)
        .map(|(_, kind)| kind)
        .collect()
}
