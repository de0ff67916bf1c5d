//! The names of every app setting the handler reads, in one place.
//!
//! Each constant is the exact environment variable name. `scripts/check-infra.py` reads this
//! file to check that every name here is provisioned in `infra/` and listed in
//! `local.settings.json.example`, so add new settings here and nowhere else.

/// Port the Functions host assigns to the custom handler on every start.
pub const FUNCTIONS_CUSTOMHANDLER_PORT: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";

/// Record format: `tsi` (default) or `data-history`.
pub const BRIDGE_RECORD_FORMAT: &str = "BRIDGE_RECORD_FORMAT";
/// Key style of `tsi` records: `nested` (default) or `dotted`.
pub const BRIDGE_TSI_KEYS: &str = "BRIDGE_TSI_KEYS";
/// Number handling of `tsi` records: `double` (default) or `as-is`.
pub const BRIDGE_NUMBERS: &str = "BRIDGE_NUMBERS";
/// Comma-separated event kinds that produce records (default: all).
pub const BRIDGE_EVENT_TYPES: &str = "BRIDGE_EVENT_TYPES";
/// Largest request body the handler reads, in bytes.
pub const BRIDGE_MAX_REQUEST_BYTES: &str = "BRIDGE_MAX_REQUEST_BYTES";
/// Threads serving invocations, each with its own Event Hubs connection (unset or 0: one per core).
pub const BRIDGE_WORKERS: &str = "BRIDGE_WORKERS";
/// Optional Event Hub (same namespace and credential as the records) for unusable input.
pub const BRIDGE_DEADLETTER_EVENTHUB_NAME: &str = "BRIDGE_DEADLETTER_EVENTHUB_NAME";
/// Attempts (host retries) during which a dead letter that cannot be delivered fails the
/// invocation; from then on the unusable event is written whole to the error log (default 5).
pub const BRIDGE_DEADLETTER_ATTEMPTS: &str = "BRIDGE_DEADLETTER_ATTEMPTS";
/// How records become Event Hubs events: `array` (default: packed JSON arrays) or `none`.
pub const BRIDGE_PACKING: &str = "BRIDGE_PACKING";
/// Largest body of a packed event, in bytes (default 65536; 1024 to 1048576).
pub const BRIDGE_PACKED_EVENT_BYTES: &str = "BRIDGE_PACKED_EVENT_BYTES";

/// Connection to the records (TSI-bound) hub's namespace: a connection string.
pub const TSI_CONNECTION: &str = "TsiEventHubConnection";
/// Identity-based connection to the records hub's namespace: its host name.
pub const TSI_CONNECTION_NAMESPACE: &str = "TsiEventHubConnection__fullyQualifiedNamespace";
/// Client id of a user-assigned managed identity for the records hub.
pub const TSI_CONNECTION_CLIENT_ID: &str = "TsiEventHubConnection__clientId";
/// Secondary connection string, used when the primary is refused for authorization.
pub const TSI_CONNECTION_SECONDARY: &str = "TsiEventHubConnection__secondary";
/// Name of the records (TSI-bound) hub.
pub const TSI_EVENTHUB_NAME: &str = "TSI_EVENTHUB_NAME";

/// Connection to the twins hub's namespace (trigger input; simulator output in `eventhub` mode).
pub const TWINS_CONNECTION: &str = "TwinsEventHubConnection";
/// Identity-based connection to the twins hub's namespace: its host name.
pub const TWINS_CONNECTION_NAMESPACE: &str = "TwinsEventHubConnection__fullyQualifiedNamespace";
/// Name of the twins hub that ADT routes notifications to.
pub const TWINS_EVENTHUB_NAME: &str = "TWINS_EVENTHUB_NAME";
/// Consumer group the bridge reads the twins hub with (read by the host's trigger).
pub const TWINS_EVENTHUB_CONSUMER_GROUP: &str = "TWINS_EVENTHUB_CONSUMER_GROUP";

/// What a simulator tick does: `off` (default), `adt` or `eventhub`.
pub const SIMULATOR_MODE: &str = "SIMULATOR_MODE";
/// NCRONTAB schedule of the simulator's timer (read by the host's trigger).
pub const SIMULATOR_SCHEDULE: &str = "SIMULATOR_SCHEDULE";
/// Seed of the simulator's readings.
pub const SIMULATOR_SEED: &str = "SIMULATOR_SEED";
/// Azure Digital Twins instance URL, e.g. `https://myinstance.api.weu.digitaltwins.azure.net`.
pub const ADT_INSTANCE_URL: &str = "ADT_INSTANCE_URL";

/// Connection to the twins Service Bus namespace (trigger input): a connection string.
pub const TWINS_SERVICEBUS_CONNECTION: &str = "TwinsServiceBusConnection";
/// Identity-based connection to the twins Service Bus namespace: its host name.
pub const TWINS_SERVICEBUS_CONNECTION_NAMESPACE: &str =
    "TwinsServiceBusConnection__fullyQualifiedNamespace";
/// Topic that ADT routes notifications to (read by the host's trigger).
pub const TWINS_SERVICEBUS_TOPIC_NAME: &str = "TWINS_SERVICEBUS_TOPIC_NAME";
/// The bridge's subscription on that topic (read by the host's trigger).
pub const TWINS_SERVICEBUS_SUBSCRIPTION_NAME: &str = "TWINS_SERVICEBUS_SUBSCRIPTION_NAME";
/// How long a Service Bus invocation keeps retrying a failed records send before it fails, in
/// seconds (default 45, under the default one-minute message lock).
pub const BRIDGE_SERVICEBUS_HOLD: &str = "BRIDGE_SERVICEBUS_HOLD";
