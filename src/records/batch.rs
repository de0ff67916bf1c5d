//! A batch of decoded events to records, with the counts one summary line reports.

use std::collections::BTreeMap;
use std::fmt;

use super::options::TransformOptions;
use super::{transform_into, Records};
use crate::adt::{Decoded, InvalidOp, Message, TwinId, Unusable, UnusableReason};
use crate::time::Timestamp;

/// Counts of what happened to a batch's events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events in.
    pub events: usize,
    /// Records out.
    pub records: usize,
    /// Skipped events by type as sent.
    pub skipped: BTreeMap<String, usize>,
    /// Unusable events by reason.
    pub unusable: BTreeMap<UnusableReason, usize>,
    /// Remove ops (no value in `tsi`; `Delete` rows in `data-history`).
    pub removes: usize,
    /// Ops skipped for being malformed.
    pub invalid_ops: usize,
    /// Values dropped because their key collides with the record's own keys.
    pub reserved_keys: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "events={} records={}", self.events, self.records)?;
        let skipped: usize = self.skipped.values().sum();
        write!(f, " skipped={skipped}")?;
        write_counts(f, self.skipped.iter().map(|(k, v)| (k.as_str(), *v)))?;
        let unusable: usize = self.unusable.values().sum();
        write!(f, " unusable={unusable}")?;
        write_counts(f, self.unusable.iter().map(|(k, v)| (k.code(), *v)))?;
        write!(
            f,
            " removes={} invalid_ops={}",
            self.removes, self.invalid_ops
        )?;
        if self.reserved_keys > 0 {
            write!(f, " reserved_keys={}", self.reserved_keys)?;
        }
        Ok(())
    }
}

fn write_counts<'a>(
    f: &mut fmt::Formatter<'_>,
    counts: impl Iterator<Item = (&'a str, usize)>,
) -> fmt::Result {
    // Event type names come from the input: escaped, so none can break the summary line.
    let parts: Vec<String> = counts
        .map(|(k, v)| format!("{}:{v}", k.escape_debug()))
        .collect();
    if parts.is_empty() {
        Ok(())
    } else {
        write!(f, "({})", parts.join(","))
    }
}

/// What a batch produced: the records, the unusable events by position, the skipped ops.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchOutcome {
    /// Every record, event by event, in order.
    pub records: Records,
    /// Unusable events: (position in the batch, verdict).
    pub unusable: Vec<(usize, Unusable)>,
    /// Malformed ops: (position in the batch, twin, op).
    pub invalid_ops: Vec<(usize, TwinId, InvalidOp)>,
    /// The counts.
    pub summary: Summary,
}

/// The pipeline's pure middle, for every caller (the functions, the demo, `transform-file`, the
/// benches, the tests and the fuzz targets): each message decoded, keeping the notification kinds
/// `options` asks for, and transformed into records stamped, where nothing better is known, with
/// `now`.
pub fn process<M: Message>(
    messages: impl IntoIterator<Item = M>,
    options: &TransformOptions,
    now: Timestamp,
) -> BatchOutcome {
    let kinds = options.decoded_kinds();
    let mut outcome = BatchOutcome::default();
    // Each event is independent of the others: the records of a batch are the records of its
    // events, concatenated.
    for (index, message) in messages.into_iter().enumerate() {
        outcome.summary.events += 1;
        match message.decode(kinds) {
            Decoded::Notification(notification) => {
                let before = outcome.records.len();
                let (removes, reserved_keys) =
                    transform_into(&notification, options, now, &mut outcome.records);
                let summary = &mut outcome.summary;
                summary.records += outcome.records.len() - before;
                summary.removes += removes;
                summary.reserved_keys += reserved_keys;
                if let Some(patch) = notification.content.patch() {
                    summary.invalid_ops += patch.invalid.len();
                    let twin = notification.content.twin_id();
                    outcome.invalid_ops.extend(
                        patch
                            .invalid
                            .iter()
                            .map(|op| (index, twin.clone(), op.clone())),
                    );
                }
            }
            Decoded::Skipped { type_name } => {
                *outcome
                    .summary
                    .skipped
                    .entry(type_name.to_string())
                    .or_default() += 1;
            }
            Decoded::Unusable(unusable) => {
                *outcome.summary.unusable.entry(unusable.reason).or_default() += 1;
                outcome.unusable.push((index, unusable));
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_from_the_input_cannot_break_the_summary_line() {
        let mut summary = Summary::default();
        summary
            .skipped
            .insert("Evil\nERROR forged line".to_owned(), 1);
        let line = summary.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("Evil\\nERROR forged line:1"), "{line}");
    }
}
