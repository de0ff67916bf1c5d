//! What the peer pretends to host: one namespace, its event hubs, and how many partitions each has.
//!
//! The configuration is fixed when the peer starts. Links are checked against it: an attach to a hub
//! or partition that is not listed here is refused with `amqp:not-found`, as the real service does.

/// The `max-message-size` a peer advertises on sender links unless told otherwise (1 MiB, the
/// Event Hubs standard tier limit).
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 1_048_576;

/// One event hub the peer accepts events for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSpec {
    /// The event hub name, as it appears in link addresses (`amqps://<ns>/<name>`).
    pub name: String,
    /// How many partitions the hub has; their ids are `"0"` to `"<count - 1>"`.
    pub partition_count: u32,
}

impl HubSpec {
    /// The partition ids, in order, as the management node reports them.
    pub fn partition_ids(&self) -> Vec<String> {
        (0..self.partition_count).map(|id| id.to_string()).collect()
    }

    /// Whether `id` names one of this hub's partitions, in canonical form (`"2"`, not `"02"`).
    pub fn has_partition(&self, id: &str) -> bool {
        id.parse::<u32>()
            .is_ok_and(|n| n < self.partition_count && n.to_string() == id)
    }
}

/// How a [`Peer`](crate::Peer) is set up: the namespace it answers for and the hubs it hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// The AMQP hostname clients use, e.g. `"localhost"`. Link addresses carry it
    /// (`amqps://localhost/records`); the peer logs it but routes by path alone.
    pub namespace: String,
    /// The event hubs the peer accepts links and events for.
    pub hubs: Vec<HubSpec>,
    /// The `max-message-size` advertised on every link a client sends on; the SDK sizes its
    /// batches from it.
    pub max_message_size: u64,
}

impl PeerConfig {
    /// A configuration for `namespace` with no hubs and the default maximum message size.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            hubs: Vec::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// Adds an event hub with `partitions` partitions, replacing a hub of the same name.
    pub fn hub(mut self, name: &str, partitions: u32) -> Self {
        self.hubs.retain(|hub| !hub.name.eq_ignore_ascii_case(name));
        self.hubs.push(HubSpec {
            name: name.to_string(),
            partition_count: partitions,
        });
        self
    }

    /// Sets the `max-message-size` advertised on sender links.
    pub fn max_message_size(mut self, bytes: u64) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The hub called `name`; event hub names are case-insensitive, as in Azure.
    pub fn find_hub(&self, name: &str) -> Option<&HubSpec> {
        self.hubs
            .iter()
            .find(|hub| hub.name.eq_ignore_ascii_case(name))
    }

    /// Checks that `hub` (and `partition`, when given) exist, and returns the entity a link
    /// sends to, with the hub name as configured. The error text goes into the `amqp:not-found`
    /// description.
    pub(crate) fn resolve(&self, hub: &str, partition: Option<&str>) -> Result<Entity, String> {
        let spec = self.find_hub(hub).ok_or_else(|| {
            format!(
                "The messaging entity '{}/{hub}' could not be found.",
                self.namespace
            )
        })?;
        match partition {
            Some(id) if !spec.has_partition(id) => Err(format!(
                "Partition '{id}' does not exist in event hub '{}', which has {} partitions.",
                spec.name, spec.partition_count
            )),
            _ => Ok(Entity {
                hub: spec.name.clone(),
                partition: partition.map(str::to_string),
            }),
        }
    }
}

/// A hub, or one partition of it, that a client attached a sender link to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entity {
    pub hub: String,
    pub partition: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PeerConfig {
        PeerConfig::new("localhost")
            .hub("records", 4)
            .hub("deadletter", 1)
    }

    #[test]
    fn resolves_hubs_case_insensitively_to_the_configured_name() {
        let entity = config().resolve("Records", None).unwrap();
        assert_eq!(entity.hub, "records");
        assert_eq!(entity.partition, None);
    }

    #[test]
    fn resolves_only_canonical_partition_ids_in_range() {
        let config = config();
        assert!(config.resolve("records", Some("3")).is_ok());
        assert!(config.resolve("records", Some("4")).is_err());
        assert!(config.resolve("records", Some("03")).is_err());
        assert!(config.resolve("records", Some("x")).is_err());
    }

    #[test]
    fn unknown_hub_is_an_error_naming_it() {
        let err = config().resolve("nope", None).unwrap_err();
        assert!(err.contains("localhost/nope"), "{err}");
    }

    #[test]
    fn adding_a_hub_twice_replaces_it() {
        let config = config().hub("RECORDS", 2);
        assert_eq!(config.hubs.len(), 2);
        assert_eq!(config.find_hub("records").unwrap().partition_count, 2);
    }

    #[test]
    fn partition_ids_count_from_zero() {
        let hub = HubSpec {
            name: "h".into(),
            partition_count: 3,
        };
        assert_eq!(hub.partition_ids(), ["0", "1", "2"]);
    }
}
