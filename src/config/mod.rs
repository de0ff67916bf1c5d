//! Typed settings, read once at start from a swappable source (the environment in production,
//! a map in tests). A missing or malformed setting is an error that names it; values that may be
//! secret are never echoed.

pub mod delivery;
pub mod eventhubs;
pub mod names;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::adt::{EventKind, EventKinds};
use crate::records::{Numbers, RecordFormat, TransformOptions, TsiKeys};

/// Where settings come from.
pub trait SettingsSource {
    /// The value of a setting; blank values count as unset.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment, where the Functions host puts every app setting.
#[derive(Clone, Copy, Debug, Default)]
pub struct Environment;

impl SettingsSource for Environment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl SettingsSource for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }
}

impl SettingsSource for BTreeMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*v).to_owned())
    }
}

/// A setting that is missing or malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is not set.
    #[error("app setting {name} is not set: {hint}")]
    Missing {
        /// The setting's name.
        name: &'static str,
        /// What it should hold.
        hint: &'static str,
    },
    /// A setting's value cannot be used.
    #[error("app setting {name} is invalid: {reason}")]
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// Why (never the value itself when it may be secret).
        reason: String,
    },
}

/// Reads an optional setting through `FromStr`, naming the setting on failure.
pub fn parse_optional<T>(
    source: &dyn SettingsSource,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    source
        .get(name)
        .map(|value| {
            value.trim().parse::<T>().map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })
        })
        .transpose()
}

/// Reads the settings that shape records.
///
/// ```
/// use std::collections::BTreeMap;
/// use adt_bridge::config::transform_options;
/// use adt_bridge::records::RecordFormat;
/// let settings = BTreeMap::from([("BRIDGE_RECORD_FORMAT", "data-history")]);
/// assert_eq!(transform_options(&settings).unwrap().format, RecordFormat::DataHistory);
/// let bad = BTreeMap::from([("BRIDGE_NUMBERS", "float")]);
/// assert!(transform_options(&bad).unwrap_err().to_string().contains("BRIDGE_NUMBERS"));
/// ```
pub fn transform_options(source: &dyn SettingsSource) -> Result<TransformOptions, ConfigError> {
    Ok(TransformOptions {
        format: parse_optional::<RecordFormat>(source, names::BRIDGE_RECORD_FORMAT)?
            .unwrap_or_default(),
        tsi_keys: parse_optional::<TsiKeys>(source, names::BRIDGE_TSI_KEYS)?.unwrap_or_default(),
        numbers: parse_optional::<Numbers>(source, names::BRIDGE_NUMBERS)?.unwrap_or_default(),
        event_kinds: match source.get(names::BRIDGE_EVENT_TYPES) {
            Some(list) => event_kinds(&list)?,
            None => EventKinds::all(),
        },
    })
}

/// Set by App Service and Azure Functions when the app has a managed identity (a platform
/// variable, not an app setting).
const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";

/// Whether the platform offers a managed identity to this process.
pub fn platform_identity_available(source: &dyn SettingsSource) -> bool {
    source.get(IDENTITY_ENDPOINT).is_some()
}

/// How the credential for an identity connection is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialChoice {
    /// Azure Functions' managed identity (system-assigned, or the given user-assigned client id).
    ManagedIdentity { client_id: Option<String> },
    /// Off Azure: the developer's Azure CLI or azd login.
    DeveloperTools,
}

/// Picks the credential: a managed identity where the platform offers one (App Service and
/// Functions set `IDENTITY_ENDPOINT`) or a client id is configured, else the developer's login.
pub fn credential_choice(
    client_id: Option<&str>,
    platform_identity_endpoint: bool,
) -> CredentialChoice {
    if platform_identity_endpoint || client_id.is_some() {
        CredentialChoice::ManagedIdentity {
            client_id: client_id.map(str::to_owned),
        }
    } else {
        CredentialChoice::DeveloperTools
    }
}

/// The credential for a connection without a client id of its own (ADT's REST API).
pub fn platform_credential(source: &dyn SettingsSource) -> CredentialChoice {
    credential_choice(None, platform_identity_available(source))
}

/// Settings of the HTTP side of the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlerSettings {
    /// `FUNCTIONS_CUSTOMHANDLER_PORT`, when set.
    pub port: Option<u16>,
    /// Largest request body read (`BRIDGE_MAX_REQUEST_BYTES`, default 128 MiB).
    pub max_request_bytes: usize,
    /// How long a Service Bus invocation retries a failed records send (`BRIDGE_SERVICEBUS_HOLD`).
    pub service_bus_hold: Duration,
    /// Threads serving invocations (`BRIDGE_WORKERS`, default one per core).
    pub workers: usize,
}

/// Default request-body bound: a 1,000-event batch of 32 KB twins with the host's encoding fits.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 128 * 1024 * 1024;

/// Default Service Bus hold: well inside the default one-minute message lock.
pub const DEFAULT_SERVICE_BUS_HOLD: Duration = Duration::from_secs(45);
/// The longest hold: a message lock lasts at most five minutes.
const MAX_SERVICE_BUS_HOLD_SECONDS: u64 = 300;

/// Reads the handler's own settings.
pub fn handler_settings(source: &dyn SettingsSource) -> Result<HandlerSettings, ConfigError> {
    Ok(HandlerSettings {
        port: parse_optional(source, names::FUNCTIONS_CUSTOMHANDLER_PORT)?,
        max_request_bytes: parse_optional(source, names::BRIDGE_MAX_REQUEST_BYTES)?
            .unwrap_or(DEFAULT_MAX_REQUEST_BYTES),
        service_bus_hold: service_bus_hold(source)?,
        workers: workers(source)?,
    })
}

/// `BRIDGE_WORKERS`: 1 to 64 serving threads; unset or 0, one per core the process may use.
///
/// ```
/// use std::collections::BTreeMap;
/// use adt_bridge::config::handler_settings;
/// let workers = |value| handler_settings(&BTreeMap::from([("BRIDGE_WORKERS", value)]));
/// assert_eq!(workers("3").unwrap().workers, 3);
/// assert!(workers(" ").unwrap().workers >= 1);
/// assert_eq!(workers("0").unwrap().workers, workers(" ").unwrap().workers);
/// assert!(workers("-1").unwrap_err().to_string().contains("BRIDGE_WORKERS"));
/// assert!(workers("65").unwrap_err().to_string().contains("at most 64"));
/// ```
fn workers(source: &dyn SettingsSource) -> Result<usize, ConfigError> {
    match parse_optional::<usize>(source, names::BRIDGE_WORKERS)? {
        None | Some(0) => Ok(std::thread::available_parallelism().map_or(1, usize::from)),
        Some(count) if count > MAX_WORKERS => Err(ConfigError::Invalid {
            name: names::BRIDGE_WORKERS,
            reason: format!("{count} threads; at most {MAX_WORKERS}"),
        }),
        Some(count) => Ok(count),
    }
}

/// The most serving threads: each holds an Event Hubs connection of its own.
const MAX_WORKERS: usize = 64;

/// `BRIDGE_SERVICEBUS_HOLD`: whole seconds, 0 (fail at once) to 300 (the longest message lock).
///
/// ```
/// use std::collections::BTreeMap;
/// use std::time::Duration;
/// use adt_bridge::config::handler_settings;
/// let hold = |value| handler_settings(&BTreeMap::from([("BRIDGE_SERVICEBUS_HOLD", value)]));
/// assert_eq!(hold("20").unwrap().service_bus_hold, Duration::from_secs(20));
/// assert_eq!(hold(" ").unwrap().service_bus_hold, Duration::from_secs(45));
/// assert!(hold("45s").unwrap_err().to_string().contains("BRIDGE_SERVICEBUS_HOLD"));
/// assert!(hold("301").unwrap_err().to_string().contains("at most 300"));
/// ```
fn service_bus_hold(source: &dyn SettingsSource) -> Result<Duration, ConfigError> {
    match parse_optional::<u64>(source, names::BRIDGE_SERVICEBUS_HOLD)? {
        None => Ok(DEFAULT_SERVICE_BUS_HOLD),
        Some(seconds) if seconds <= MAX_SERVICE_BUS_HOLD_SECONDS => {
            Ok(Duration::from_secs(seconds))
        }
        Some(seconds) => Err(ConfigError::Invalid {
            name: names::BRIDGE_SERVICEBUS_HOLD,
            reason: format!(
                "{seconds} seconds is longer than any message lock; at most {MAX_SERVICE_BUS_HOLD_SECONDS}"
            ),
        }),
    }
}

/// What a tick does (`SIMULATOR_MODE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SimulatorMode {
    /// Nothing (the default): the function answers and does no work.
    #[default]
    Off,
    /// PATCH the step twins through ADT's REST API.
    Adt,
    /// Send ADT-shaped twin-update notifications into the twins hub.
    EventHub,
}

impl std::str::FromStr for SimulatorMode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(SimulatorMode::Off),
            "adt" => Ok(SimulatorMode::Adt),
            "eventhub" => Ok(SimulatorMode::EventHub),
            _ => Err(format!("{text:?} is not one of: off, adt, eventhub")),
        }
    }
}

/// Settings of the simulator function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatorSettings {
    /// `SIMULATOR_MODE`: off (default), adt or eventhub.
    pub mode: SimulatorMode,
    /// `SIMULATOR_SEED` (default 42).
    pub seed: u64,
    /// `ADT_INSTANCE_URL`, required in `adt` mode.
    pub adt_instance_url: Option<String>,
}

/// Reads the simulator's settings; `adt` mode without `ADT_INSTANCE_URL` is an error.
pub fn simulator_settings(source: &dyn SettingsSource) -> Result<SimulatorSettings, ConfigError> {
    let mode = parse_optional::<SimulatorMode>(source, names::SIMULATOR_MODE)?.unwrap_or_default();
    let adt_instance_url = source
        .get(names::ADT_INSTANCE_URL)
        .map(|u| u.trim().to_owned());
    if mode == SimulatorMode::Adt && adt_instance_url.is_none() {
        return Err(ConfigError::Missing {
            name: names::ADT_INSTANCE_URL,
            hint: "SIMULATOR_MODE=adt patches twins through this instance, e.g. https://myinstance.api.weu.digitaltwins.azure.net",
        });
    }
    Ok(SimulatorSettings {
        mode,
        seed: parse_optional(source, names::SIMULATOR_SEED)?.unwrap_or(42),
        adt_instance_url,
    })
}

fn event_kinds(list: &str) -> Result<EventKinds, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: names::BRIDGE_EVENT_TYPES,
        reason,
    };
    let valid = || EventKinds::all().to_string().replace(',', ", ");
    let mut kinds = Vec::new();
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word.eq_ignore_ascii_case("all") {
            return Ok(EventKinds::all());
        }
        let kind = EventKind::from_setting_name(word)
            .ok_or_else(|| invalid(format!("{word:?} is not one of: all, {}", valid())))?;
        kinds.push(kind);
    }
    if kinds.is_empty() {
        return Err(invalid(format!(
            "no event kind listed; use some of: all, {}",
            valid()
        )));
    }
    Ok(kinds.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_follows_the_settings_and_the_platform() {
        assert_eq!(
            credential_choice(None, true),
            CredentialChoice::ManagedIdentity { client_id: None }
        );
        assert_eq!(
            credential_choice(Some("abc"), true),
            CredentialChoice::ManagedIdentity {
                client_id: Some("abc".into())
            }
        );
        assert_eq!(
            credential_choice(Some("abc"), false),
            CredentialChoice::ManagedIdentity {
                client_id: Some("abc".into())
            }
        );
        assert_eq!(
            credential_choice(None, false),
            CredentialChoice::DeveloperTools
        );
    }

    fn options(pairs: &[(&'static str, &'static str)]) -> Result<TransformOptions, ConfigError> {
        transform_options(&pairs.iter().copied().collect::<BTreeMap<_, _>>())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        assert_eq!(options(&[]).unwrap(), TransformOptions::default());
        assert_eq!(
            options(&[(names::BRIDGE_RECORD_FORMAT, " ")]).unwrap(),
            TransformOptions::default()
        );
    }

    #[test]
    fn every_value_is_read() {
        let got = options(&[
            (names::BRIDGE_RECORD_FORMAT, "Data-History"),
            (names::BRIDGE_TSI_KEYS, "dotted"),
            (names::BRIDGE_NUMBERS, "as-is"),
            (names::BRIDGE_EVENT_TYPES, "twin-update, telemetry"),
        ])
        .unwrap();
        assert_eq!(got.format, RecordFormat::DataHistory);
        assert_eq!(got.tsi_keys, TsiKeys::Dotted);
        assert_eq!(got.numbers, Numbers::AsIs);
        assert!(got.event_kinds.contains(EventKind::Telemetry));
        assert!(!got.event_kinds.contains(EventKind::TwinCreate));
    }

    #[test]
    fn bad_values_name_the_setting_and_the_choices() {
        for (name, value, expect) in [
            (names::BRIDGE_RECORD_FORMAT, "parquet", "tsi, data-history"),
            (names::BRIDGE_TSI_KEYS, "flat", "nested, dotted"),
            (names::BRIDGE_NUMBERS, "int", "double, as-is"),
            (
                names::BRIDGE_EVENT_TYPES,
                "twin-update,twin-delete",
                "relationship-update",
            ),
            (names::BRIDGE_EVENT_TYPES, ",", "no event kind"),
        ] {
            let message = options(&[(name, value)]).unwrap_err().to_string();
            assert!(message.contains(name), "{message}");
            assert!(message.contains(expect), "{message}");
        }
    }
}
