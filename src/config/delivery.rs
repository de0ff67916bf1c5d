//! How records leave the bridge: packed into JSON arrays or one per event, and how long an
//! undeliverable dead letter may hold up a partition.

use super::{names, parse_optional, ConfigError, SettingsSource};

/// How records become Event Hubs events (`BRIDGE_PACKING`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// One record per event, the body the record's object.
    None,
    /// The records one invocation sends to one partition in as few events as possible, each body
    /// a JSON array of records of at most `max_event_bytes` (less, when the link allows less).
    Array {
        /// `BRIDGE_PACKED_EVENT_BYTES`.
        max_event_bytes: usize,
    },
}

/// The default bound of a packed event: one 64 KB Event Hubs billing unit.
pub const DEFAULT_PACKED_EVENT_BYTES: usize = 65_536;
/// The accepted range of `BRIDGE_PACKED_EVENT_BYTES`.
pub const PACKED_EVENT_BYTES_RANGE: std::ops::RangeInclusive<usize> = 1024..=1024 * 1024;
/// The default of `BRIDGE_DEADLETTER_ATTEMPTS`.
pub const DEFAULT_DEADLETTER_ATTEMPTS: u64 = 5;

impl Default for Packing {
    fn default() -> Self {
        Packing::Array {
            max_event_bytes: DEFAULT_PACKED_EVENT_BYTES,
        }
    }
}

/// Delivery settings every twin-update function shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliverySettings {
    /// `BRIDGE_PACKING` and `BRIDGE_PACKED_EVENT_BYTES`.
    pub packing: Packing,
    /// `BRIDGE_DEADLETTER_ATTEMPTS`: attempts during which a dead letter the hub cannot take
    /// fails the invocation; from that attempt on, the event is written whole to the error log.
    pub deadletter_attempts: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            packing: Packing::default(),
            deadletter_attempts: DEFAULT_DEADLETTER_ATTEMPTS,
        }
    }
}

/// Reads the delivery settings, naming the setting that is malformed.
///
/// ```
/// use std::collections::BTreeMap;
/// use adt_bridge::config::delivery::{delivery_settings, Packing};
/// let none = BTreeMap::from([("BRIDGE_PACKING", "none")]);
/// assert_eq!(delivery_settings(&none).unwrap().packing, Packing::None);
/// let small = BTreeMap::from([("BRIDGE_PACKED_EVENT_BYTES", "100")]);
/// assert!(delivery_settings(&small).unwrap_err().to_string().contains("BRIDGE_PACKED_EVENT_BYTES"));
/// ```
pub fn delivery_settings(source: &dyn SettingsSource) -> Result<DeliverySettings, ConfigError> {
    let max_event_bytes = parse_optional::<usize>(source, names::BRIDGE_PACKED_EVENT_BYTES)?
        .unwrap_or(DEFAULT_PACKED_EVENT_BYTES);
    if !PACKED_EVENT_BYTES_RANGE.contains(&max_event_bytes) {
        return Err(ConfigError::Invalid {
            name: names::BRIDGE_PACKED_EVENT_BYTES,
            reason: format!(
                "{max_event_bytes} is outside {}..={} bytes (1 KiB to 1 MiB)",
                PACKED_EVENT_BYTES_RANGE.start(),
                PACKED_EVENT_BYTES_RANGE.end()
            ),
        });
    }
    let packing = match source.get(names::BRIDGE_PACKING).as_deref().map(str::trim) {
        None => Packing::Array { max_event_bytes },
        Some(word) if word.eq_ignore_ascii_case("array") => Packing::Array { max_event_bytes },
        Some(word) if word.eq_ignore_ascii_case("none") => Packing::None,
        Some(word) => {
            return Err(ConfigError::Invalid {
                name: names::BRIDGE_PACKING,
                reason: format!("{word:?} is not one of: array, none"),
            })
        }
    };
    Ok(DeliverySettings {
        packing,
        deadletter_attempts: parse_optional(source, names::BRIDGE_DEADLETTER_ATTEMPTS)?
            .unwrap_or(DEFAULT_DEADLETTER_ATTEMPTS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn read(pairs: &[(&'static str, &'static str)]) -> Result<DeliverySettings, ConfigError> {
        delivery_settings(&pairs.iter().copied().collect::<BTreeMap<_, _>>())
    }

    #[test]
    fn packed_arrays_of_one_billing_unit_by_default() {
        assert_eq!(read(&[]).unwrap(), DeliverySettings::default());
        assert_eq!(
            read(&[]).unwrap().packing,
            Packing::Array {
                max_event_bytes: 65_536
            }
        );
        assert_eq!(read(&[]).unwrap().deadletter_attempts, 5);
    }

    #[test]
    fn every_value_is_read() {
        let read = read(&[
            ("BRIDGE_PACKING", "ARRAY"),
            ("BRIDGE_PACKED_EVENT_BYTES", "1048576"),
            ("BRIDGE_DEADLETTER_ATTEMPTS", "0"),
        ])
        .unwrap();
        assert_eq!(
            read.packing,
            Packing::Array {
                max_event_bytes: 1_048_576
            }
        );
        assert_eq!(read.deadletter_attempts, 0);
    }

    #[test]
    fn bad_values_name_the_setting() {
        for (pairs, name) in [
            (&[("BRIDGE_PACKING", "gzip")][..], "BRIDGE_PACKING"),
            (
                &[("BRIDGE_PACKED_EVENT_BYTES", "1023")][..],
                "BRIDGE_PACKED_EVENT_BYTES",
            ),
            (
                &[("BRIDGE_PACKED_EVENT_BYTES", "1048577")][..],
                "BRIDGE_PACKED_EVENT_BYTES",
            ),
            (
                &[("BRIDGE_PACKED_EVENT_BYTES", "64k")][..],
                "BRIDGE_PACKED_EVENT_BYTES",
            ),
            (
                &[("BRIDGE_DEADLETTER_ATTEMPTS", "-1")][..],
                "BRIDGE_DEADLETTER_ATTEMPTS",
            ),
        ] {
            let error = read(pairs).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
        // The bound is checked even when packing is off: a typo should not wait for a switch.
        assert!(read(&[
            ("BRIDGE_PACKING", "none"),
            ("BRIDGE_PACKED_EVENT_BYTES", "5")
        ])
        .is_err());
    }
}
