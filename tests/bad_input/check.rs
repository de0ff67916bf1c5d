//! The checks of one case's outcome: the answer, the records and dead letters the sink received,
//! and the counts of the invocation's summary line. Each returns what went wrong as text, so a run
//! reports every failing case, not just the first.

use adt_bridge::records::OwnedRecord;
use adt_bridge::sink::DeadLetter;
use serde_json::{Map, Value};

use super::case::{Encoding, EventExpect};
use super::http::Response;
use super::request::{good_record, BatchEvent};

/// What the sink received during one request.
pub struct Received {
    pub records: Vec<OwnedRecord>,
    pub letters: Vec<DeadLetter>,
}

/// The answer is a JSON object sent as `application/json`, whatever the status.
pub fn json_answer(response: &Response) -> Result<Value, String> {
    let content_type = response.content_type.as_deref().unwrap_or_default();
    if content_type != "application/json" {
        return Err(format!(
            "content type {content_type:?}, not application/json"
        ));
    }
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(body) if body.is_object() => Ok(body),
        _ => Err(format!(
            "the answer is not a JSON object: {:?}",
            String::from_utf8_lossy(&response.body[..response.body.len().min(200)])
        )),
    }
}

pub fn status(response: &Response, expected: u16, body: &Value) -> Result<(), String> {
    if response.status == expected {
        Ok(())
    } else {
        Err(format!(
            "status {} where {expected} was expected: {body}",
            response.status
        ))
    }
}

/// What one event of a batch must give, with what only the runner knows about it.
pub struct Expected<'a> {
    pub expect: EventExpect,
    /// The event as sent.
    pub event: &'a BatchEvent,
    /// The exact record text, for good events.
    pub exact: Option<String>,
}

impl<'a> Expected<'a> {
    /// A good event at position `n` of the good ones.
    pub fn good(event: &'a BatchEvent, n: usize) -> Self {
        Expected {
            expect: EventExpect {
                records: 1,
                ..EventExpect::default()
            },
            event,
            exact: Some(good_record(n)),
        }
    }
}

/// Checks records, dead letters and the summary line against the events' expectations, in
/// batch order: the records of a batch are its events' records, concatenated.
pub fn batch_outcome(
    function: &str,
    expected: &[Expected<'_>],
    encoding: Encoding,
    answer: &Value,
    received: &Received,
) -> Result<(), String> {
    let mut records = received.records.iter();
    for (position, item) in expected.iter().enumerate() {
        let mine: Vec<&OwnedRecord> = records.by_ref().take(item.expect.records).collect();
        if mine.len() < item.expect.records {
            return Err(format!(
                "event {position}: {} record(s) arrived where {} were expected",
                mine.len(),
                item.expect.records
            ));
        }
        event_records(position, item, &mine).map_err(|e| format!("event {position}: {e}"))?;
    }
    let extra = records.count();
    if extra > 0 {
        return Err(format!("{extra} record(s) more than expected"));
    }
    dead_letters(expected, encoding, &received.letters)?;
    summary(function, expected, answer)
}

fn event_records(
    position: usize,
    item: &Expected<'_>,
    records: &[&OwnedRecord],
) -> Result<(), String> {
    if records.is_empty() {
        return Ok(());
    }
    let prefix = match &item.expect.message_id_prefix {
        Some(prefix) => prefix.clone(),
        None => format!(
            "{}:",
            item.event
                .event_id()
                .ok_or("the event has no text id: give messageIdPrefix")?
        ),
    };
    for (index, record) in records.iter().enumerate() {
        let id = &record.message_id;
        let numbered = id == &format!("{prefix}{index}");
        let derived =
            !prefix.ends_with(':') && id.starts_with(&prefix) && id.ends_with(&format!(":{index}"));
        if !(numbered || derived) {
            return Err(format!("message id {id:?} does not follow {prefix:?}"));
        }
        if record.twin_id.as_str().trim().is_empty() {
            return Err("a record without a twin id".into());
        }
    }
    let first = records[0];
    if let Some(exact) = &item.exact {
        if &first.body != exact {
            return Err(format!(
                "good event {position} gave {} instead of {exact}",
                first.body
            ));
        }
    }
    let body: Map<String, Value> = serde_json::from_str(&first.body)
        .map_err(|e| format!("a record that is not a JSON object: {e}"))?;
    for (key, value) in item.expect.record.iter().flatten() {
        if body.get(key) != Some(value) {
            return Err(format!(
                "record member {key:?} is {:?}, expected {value}",
                body.get(key)
            ));
        }
    }
    if let Some(members) = item.expect.record_members {
        if body.len() != members {
            return Err(format!(
                "the record has {} members, expected {members}",
                body.len()
            ));
        }
    }
    Ok(())
}

fn dead_letters(
    expected: &[Expected<'_>],
    encoding: Encoding,
    letters: &[DeadLetter],
) -> Result<(), String> {
    let unusable: Vec<(&str, Vec<u8>)> = expected
        .iter()
        .filter_map(|item| {
            let reason = item.expect.unusable.as_deref()?;
            Some((reason, item.event.delivered_body(encoding)))
        })
        .collect();
    let too_large: usize = expected.iter().map(|item| item.expect.too_large).sum();
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.code()).collect();
    let mut wanted: Vec<&str> = unusable.iter().map(|(reason, _)| *reason).collect();
    wanted.extend(std::iter::repeat_n("record-too-large", too_large));
    if reasons != wanted {
        return Err(format!(
            "dead letters {reasons:?}, expected {wanted:?}: {:?}",
            letters.iter().map(|l| &l.detail).collect::<Vec<_>>()
        ));
    }
    for ((reason, body), letter) in unusable.iter().zip(letters) {
        if &letter.body != body {
            return Err(format!(
                "the {reason} dead letter does not hold the raw body ({} bytes, not {})",
                letter.body.len(),
                body.len()
            ));
        }
    }
    Ok(())
}

/// The number after `key=` in a summary line.
pub fn counter(line: &str, key: &str) -> Option<usize> {
    let start = line
        .split(' ')
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))?;
    start
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn summary(function: &str, expected: &[Expected<'_>], answer: &Value) -> Result<(), String> {
    let line = answer["Logs"][0]
        .as_str()
        .ok_or_else(|| format!("no summary line in Logs: {answer}"))?;
    if !line.starts_with(&format!("{function}: ")) {
        return Err(format!("the summary line does not name {function}: {line}"));
    }
    let sum = |f: fn(&EventExpect) -> usize| expected.iter().map(|i| f(&i.expect)).sum::<usize>();
    let wanted = [
        ("events", expected.len()),
        ("records", sum(|e| e.records + e.too_large)),
        ("skipped", sum(|e| usize::from(e.skipped.is_some()))),
        ("unusable", sum(|e| usize::from(e.unusable.is_some()))),
        ("invalid_ops", sum(|e| e.invalid_ops)),
        ("sent", sum(|e| e.records)),
        ("too_large", sum(|e| e.too_large)),
        (
            "dead_lettered",
            sum(|e| usize::from(e.unusable.is_some()) + e.too_large),
        ),
    ];
    for (key, count) in wanted {
        if counter(line, key) != Some(count) {
            return Err(format!("{key} should be {count}: {line}"));
        }
    }
    for item in expected {
        if let Some(type_name) = &item.expect.skipped {
            if !line.contains(&format!("{type_name}:")) {
                return Err(format!("the skip of {type_name:?} is not counted: {line}"));
            }
        }
    }
    Ok(())
}
