//! Event Hubs connection settings, following the Functions convention for connections:
//! `<Name>` holds a connection string, or `<Name>__fullyQualifiedNamespace` (with an optional
//! `<Name>__clientId`) selects a managed identity. Connection strings are secrets: they are held in
//! [`Secret`] and never appear in an error or a log line.

use std::fmt;

use super::{names, ConfigError, CredentialChoice, SettingsSource};

/// A secret value. `Debug` and `Display` print a placeholder, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must hand it to the SDK.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where to dial when the connection string asks for the local emulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmulatorEndpoint {
    /// Host of the connection string's endpoint.
    pub host: String,
    /// Its port, 5672 when none is given.
    pub port: u16,
}

impl EmulatorEndpoint {
    /// The plain-AMQP URL the SDK's custom endpoint takes.
    pub fn url(&self) -> String {
        format!("amqp://{}:{}", self.host, self.port)
    }
}

/// How to reach and authenticate to a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Shared access signature from a connection string.
    ConnectionString {
        /// The namespace host, e.g. `myns.servicebus.windows.net`.
        namespace: String,
        /// The connection string.
        primary: Secret,
        /// A second connection string to switch to when the first is refused (key rotation).
        secondary: Option<Secret>,
        /// Set when the string says `UseDevelopmentEmulator=true`.
        emulator: Option<EmulatorEndpoint>,
        /// The string's `EntityPath`, if any.
        entity_path: Option<String>,
    },
    /// A managed identity (or, off Azure, the developer's Azure CLI login).
    Identity {
        /// The namespace host.
        namespace: String,
        /// The managed identity (system-assigned, or the user-assigned client id the settings
        /// name), or off Azure, without either, the developer's Azure CLI or azd login.
        credential: CredentialChoice,
    },
}

impl Connection {
    /// The namespace host name.
    pub fn namespace(&self) -> &str {
        match self {
            Connection::ConnectionString { namespace, .. }
            | Connection::Identity { namespace, .. } => namespace,
        }
    }
}

/// The setting names of one connection.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionNames {
    /// The connection string setting.
    pub connection: &'static str,
    /// Its `__fullyQualifiedNamespace` form.
    pub namespace: &'static str,
    /// Its `__clientId` form, if this connection supports one.
    pub client_id: Option<&'static str>,
    /// Its `__secondary` form, if this connection supports one.
    pub secondary: Option<&'static str>,
    /// The setting naming the hub.
    pub hub: &'static str,
}

/// The records (TSI-bound) hub's connection settings.
pub const RECORDS_HUB: ConnectionNames = ConnectionNames {
    connection: names::TSI_CONNECTION,
    namespace: names::TSI_CONNECTION_NAMESPACE,
    client_id: Some(names::TSI_CONNECTION_CLIENT_ID),
    secondary: Some(names::TSI_CONNECTION_SECONDARY),
    hub: names::TSI_EVENTHUB_NAME,
};

/// The twins hub's connection settings (the simulator's `eventhub` mode writes there).
pub const TWINS_HUB: ConnectionNames = ConnectionNames {
    connection: names::TWINS_CONNECTION,
    namespace: names::TWINS_CONNECTION_NAMESPACE,
    client_id: None,
    secondary: None,
    hub: names::TWINS_EVENTHUB_NAME,
};

/// A hub and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubSettings {
    /// The connection to its namespace.
    pub connection: Connection,
    /// The hub's name.
    pub hub: String,
}

/// Reads one hub's connection settings.
pub fn hub_settings(
    source: &dyn SettingsSource,
    names: ConnectionNames,
) -> Result<HubSettings, ConfigError> {
    let connection = connection(source, names)?;
    let entity_path = match &connection {
        Connection::ConnectionString { entity_path, .. } => entity_path.clone(),
        Connection::Identity { .. } => None,
    };
    let hub = source
        .get(names.hub)
        .map(|h| h.trim().to_owned())
        .or(entity_path)
        .ok_or(ConfigError::Missing {
            name: names.hub,
            hint: "the Event Hub's name",
        })?;
    Ok(HubSettings { connection, hub })
}

fn connection(
    source: &dyn SettingsSource,
    names: ConnectionNames,
) -> Result<Connection, ConfigError> {
    if let Some(text) = source.get(names.connection) {
        let parsed = parse_connection_string(&text).map_err(|reason| ConfigError::Invalid {
            name: names.connection,
            reason: reason.into(),
        })?;
        let secondary = match names
            .secondary
            .and_then(|name| source.get(name).map(|s| (name, s)))
        {
            Some((name, text)) => {
                parse_connection_string(&text).map_err(|reason| ConfigError::Invalid {
                    name,
                    reason: reason.into(),
                })?;
                Some(Secret::new(text.trim()))
            }
            None => None,
        };
        return Ok(Connection::ConnectionString {
            namespace: parsed.namespace,
            primary: Secret::new(text.trim()),
            secondary,
            emulator: parsed.emulator,
            entity_path: parsed.entity_path,
        });
    }
    if let Some(namespace) = source.get(names.namespace) {
        let namespace = namespace
            .trim()
            .trim_start_matches("sb://")
            .trim_end_matches('/')
            .to_owned();
        if namespace.contains(['/', ' ', ';']) {
            return Err(ConfigError::Invalid {
                name: names.namespace,
                reason: "expected a host name such as myns.servicebus.windows.net".into(),
            });
        }
        let client_id = names
            .client_id
            .and_then(|name| source.get(name))
            .map(|s| s.trim().to_owned());
        let platform = super::platform_identity_available(source);
        return Ok(Connection::Identity {
            namespace,
            credential: super::credential_choice(client_id.as_deref(), platform),
        });
    }
    Err(ConfigError::Missing {
        name: names.connection,
        hint: "set it to an Event Hubs connection string, or set <name>__fullyQualifiedNamespace to use a managed identity",
    })
}

/// What the bridge needs from a connection string (the SDK parses it again for itself).
#[derive(Debug, PartialEq, Eq)]
struct ParsedConnectionString {
    namespace: String,
    emulator: Option<EmulatorEndpoint>,
    entity_path: Option<String>,
}

/// Reads `Key=Value;...`; reasons never quote the string, which holds a key.
fn parse_connection_string(text: &str) -> Result<ParsedConnectionString, &'static str> {
    let mut endpoint = None;
    let (mut has_key_name, mut has_key, mut has_signature, mut emulator, mut entity_path) =
        (false, false, false, false, None);
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or("a part is not Key=Value")?;
        match key.trim().to_ascii_lowercase().as_str() {
            "endpoint" => endpoint = Some(value.trim().to_owned()),
            "sharedaccesskeyname" => has_key_name = !value.trim().is_empty(),
            "sharedaccesskey" => has_key = !value.trim().is_empty(),
            "sharedaccesssignature" => has_signature = !value.trim().is_empty(),
            "usedevelopmentemulator" => emulator = value.trim().eq_ignore_ascii_case("true"),
            "entitypath" => entity_path = Some(value.trim().to_owned()).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    let endpoint = endpoint.ok_or("it has no Endpoint")?;
    let has_credential = has_signature || (has_key_name && has_key);
    if !has_credential {
        return Err(
            "it has neither SharedAccessKeyName and SharedAccessKey nor SharedAccessSignature",
        );
    }
    let rest = endpoint
        .split_once("://")
        .map(|(_, rest)| rest)
        .ok_or("its Endpoint is not a URL such as sb://myns.servicebus.windows.net/")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            Some(
                port.parse::<u16>()
                    .map_err(|_| "its Endpoint has a bad port")?,
            ),
        ),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err("its Endpoint has no host");
    }
    Ok(ParsedConnectionString {
        namespace: host.to_owned(),
        emulator: emulator.then(|| EmulatorEndpoint {
            host: host.to_owned(),
            port: port.unwrap_or(5672),
        }),
        entity_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const KEY: &str = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWs=";

    fn records(pairs: &[(&'static str, &str)]) -> Result<HubSettings, ConfigError> {
        let owned: Vec<(&'static str, String)> =
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let map: BTreeMap<&str, &str> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        hub_settings(&map, RECORDS_HUB)
    }

    #[test]
    fn a_connection_string_with_a_hub_name() {
        let cs = format!("Endpoint=sb://cocoa.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={KEY}");
        let settings = records(&[
            (names::TSI_CONNECTION, &cs),
            (names::TSI_EVENTHUB_NAME, "records"),
        ])
        .unwrap();
        assert_eq!(settings.hub, "records");
        assert_eq!(
            settings.connection.namespace(),
            "cocoa.servicebus.windows.net"
        );
        assert!(matches!(
            settings.connection,
            Connection::ConnectionString {
                emulator: None,
                secondary: None,
                ..
            }
        ));
    }

    #[test]
    fn the_emulator_form_dials_plain_amqp_at_its_host_and_port() {
        let settings = records(&[(
            names::TSI_CONNECTION,
            "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath=records",
        )])
        .unwrap();
        assert_eq!(
            settings.hub, "records",
            "EntityPath names the hub when TSI_EVENTHUB_NAME is unset"
        );
        let Connection::ConnectionString {
            emulator: Some(emulator),
            ..
        } = &settings.connection
        else {
            panic!()
        };
        assert_eq!(emulator.url(), "amqp://localhost:5672");
        let settings = records(&[
            (names::TSI_CONNECTION, "Endpoint=sb://127.0.0.1:5673/;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true"),
            (names::TSI_EVENTHUB_NAME, "records"),
        ])
        .unwrap();
        let Connection::ConnectionString {
            emulator: Some(emulator),
            ..
        } = &settings.connection
        else {
            panic!()
        };
        assert_eq!(emulator.url(), "amqp://127.0.0.1:5673");
    }

    #[test]
    fn identity_settings_select_a_managed_identity() {
        let settings = records(&[
            (
                names::TSI_CONNECTION_NAMESPACE,
                "cocoa.servicebus.windows.net",
            ),
            (
                names::TSI_CONNECTION_CLIENT_ID,
                "00000000-0000-0000-0000-000000000001",
            ),
            (names::TSI_EVENTHUB_NAME, "records"),
        ])
        .unwrap();
        assert_eq!(
            settings.connection,
            Connection::Identity {
                namespace: "cocoa.servicebus.windows.net".into(),
                credential: CredentialChoice::ManagedIdentity {
                    client_id: Some("00000000-0000-0000-0000-000000000001".into())
                },
            }
        );
    }

    #[test]
    fn missing_and_malformed_settings_are_named_and_secrets_never_shown() {
        let missing = records(&[(names::TSI_EVENTHUB_NAME, "records")])
            .unwrap_err()
            .to_string();
        assert!(missing.contains("TsiEventHubConnection"), "{missing}");
        let no_hub = records(&[(
            names::TSI_CONNECTION_NAMESPACE,
            "cocoa.servicebus.windows.net",
        )])
        .unwrap_err()
        .to_string();
        assert!(no_hub.contains("TSI_EVENTHUB_NAME"), "{no_hub}");
        let bad = format!("Endpoint=cocoa;SharedAccessKeyName=send;SharedAccessKey={KEY}");
        let error = records(&[
            (names::TSI_CONNECTION, &bad),
            (names::TSI_EVENTHUB_NAME, "records"),
        ])
        .unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(
            shown.contains("TsiEventHubConnection") && !shown.contains(KEY),
            "{shown}"
        );
        let no_key = records(&[
            (
                names::TSI_CONNECTION,
                "Endpoint=sb://x/;SharedAccessKeyName=send",
            ),
            (names::TSI_EVENTHUB_NAME, "r"),
        ])
        .unwrap_err();
        assert!(no_key.to_string().contains("SharedAccessKey"), "{no_key}");
        let settings = records(&[
            (
                names::TSI_CONNECTION,
                &format!("Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey={KEY}"),
            ),
            (names::TSI_EVENTHUB_NAME, "r"),
        ])
        .unwrap();
        assert!(!format!("{settings:?}").contains(KEY));
    }

    #[test]
    fn a_secondary_connection_string_is_read_and_checked() {
        let primary = "Endpoint=sb://x/;SharedAccessKeyName=primary;SharedAccessKey=a";
        let settings = records(&[
            (names::TSI_CONNECTION, primary),
            (
                names::TSI_CONNECTION_SECONDARY,
                "Endpoint=sb://x/;SharedAccessKeyName=secondary;SharedAccessKey=b",
            ),
            (names::TSI_EVENTHUB_NAME, "r"),
        ])
        .unwrap();
        assert!(matches!(
            settings.connection,
            Connection::ConnectionString {
                secondary: Some(_),
                ..
            }
        ));
        let bad = records(&[
            (names::TSI_CONNECTION, primary),
            (names::TSI_CONNECTION_SECONDARY, "nonsense"),
            (names::TSI_EVENTHUB_NAME, "r"),
        ]);
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("TsiEventHubConnection__secondary"));
    }
}
