//! The choices that shape records: format, key style, number handling, which event kinds count.

use std::fmt;
use std::str::FromStr;

use crate::adt::{EventKind, EventKinds};

/// The record format written to the records hub (`BRIDGE_RECORD_FORMAT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RecordFormat {
    /// One wide record per twin and timestamp (`tsi`, the default).
    #[default]
    Tsi,
    /// One long row per property change, shaped like ADT's data history (`data-history`).
    DataHistory,
}

/// Key style of `tsi` records (`BRIDGE_TSI_KEYS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TsiKeys {
    /// Path segments become nested objects (`{"Front": {"Temperature": 20.0}}`), the default.
    #[default]
    Nested,
    /// Flat keys joined with `.` (`{"Front.Temperature": 20.0}`), as the widely copied sample wrote.
    Dotted,
}

/// Number handling of `tsi` records (`BRIDGE_NUMBERS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Numbers {
    /// Every number is written as a double, so TSI keeps one column per property (the default).
    #[default]
    Double,
    /// Numbers are written as they came.
    AsIs,
}

/// A setting value that is not one of the accepted words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not one of: {expected}")]
pub struct UnknownChoice {
    /// The value given.
    pub value: String,
    /// The accepted values.
    pub expected: &'static str,
}

macro_rules! choice {
    ($type:ty, $expected:literal, $($word:literal => $variant:expr),+) => {
        impl FromStr for $type {
            type Err = UnknownChoice;
            fn from_str(text: &str) -> Result<Self, UnknownChoice> {
                $(if text.trim().eq_ignore_ascii_case($word) { return Ok($variant); })+
                Err(UnknownChoice { value: text.to_owned(), expected: $expected })
            }
        }
    };
}

choice!(RecordFormat, "tsi, data-history", "tsi" => RecordFormat::Tsi, "data-history" => RecordFormat::DataHistory);
choice!(TsiKeys, "nested, dotted", "nested" => TsiKeys::Nested, "dotted" => TsiKeys::Dotted);
choice!(Numbers, "double, as-is", "double" => Numbers::Double, "as-is" => Numbers::AsIs);

impl RecordFormat {
    /// The setting word, also sent as the `recordFormat` property of every record.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordFormat::Tsi => "tsi",
            RecordFormat::DataHistory => "data-history",
        }
    }
}

impl fmt::Display for RecordFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the transform needs to know besides the notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransformOptions {
    /// Record format.
    pub format: RecordFormat,
    /// Key style (tsi only).
    pub tsi_keys: TsiKeys,
    /// Number handling (tsi only; data-history values are always as they came).
    pub numbers: Numbers,
    /// Event kinds switched on (`BRIDGE_EVENT_TYPES`).
    pub event_kinds: EventKinds,
}

impl Default for TransformOptions {
    fn default() -> Self {
        TransformOptions {
            format: RecordFormat::Tsi,
            tsi_keys: TsiKeys::Nested,
            numbers: Numbers::Double,
            event_kinds: EventKinds::all(),
        }
    }
}

impl TransformOptions {
    /// The kinds worth decoding: the switched-on ones this format can express
    /// (relationship updates have no place in a per-twin wide record).
    pub fn decoded_kinds(&self) -> EventKinds {
        match self.format {
            RecordFormat::Tsi => self.event_kinds.without(EventKind::RelationshipUpdate),
            RecordFormat::DataHistory => self.event_kinds,
        }
    }
}
