//! Where a link points: the claims-based-security node, the management node, or an event hub
//! (or one of its partitions).
//!
//! The SDK writes full URLs (`amqps://<ns>/<hub>/Partitions/<n>`), fe2o3's management and CBS
//! clients write bare node names (`$management`, `$cbs`). Routing uses the path alone, so a
//! connection string naming another host still reaches this peer.

/// The node a link address names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAddress {
    /// `$cbs`: put-token requests (claims-based security).
    Cbs,
    /// `$management` or `<hub>/$management`: READ requests for hub and partition properties.
    Management,
    /// An event hub, or one partition of it when `partition` is set.
    Entity {
        /// The hub name as written in the address (not yet checked against the configuration).
        hub: String,
        /// The partition id from a `.../Partitions/<id>` address.
        partition: Option<String>,
    },
}

impl NodeAddress {
    /// Parses a link address; `None` when it names nothing this peer serves (for example a
    /// consumer-group path).
    ///
    /// ```
    /// use eventhubs_peer::address::NodeAddress;
    ///
    /// let entity = |hub: &str, partition: Option<&str>| NodeAddress::Entity {
    ///     hub: hub.to_string(),
    ///     partition: partition.map(str::to_string),
    /// };
    /// assert_eq!(NodeAddress::parse("amqps://localhost/records"), Some(entity("records", None)));
    /// assert_eq!(
    ///     NodeAddress::parse("amqps://localhost/records/Partitions/2"),
    ///     Some(entity("records", Some("2")))
    /// );
    /// assert_eq!(NodeAddress::parse("records"), Some(entity("records", None)));
    /// assert_eq!(NodeAddress::parse("$cbs"), Some(NodeAddress::Cbs));
    /// assert_eq!(NodeAddress::parse("amqps://ns/records/$management"), Some(NodeAddress::Management));
    /// assert_eq!(NodeAddress::parse("amqps://ns/records/ConsumerGroups/$Default/Partitions/0"), None);
    /// ```
    pub fn parse(address: &str) -> Option<NodeAddress> {
        let segments: Vec<&str> = path_of(address)
            .split('/')
            .filter(|segment| !segment.is_empty())
            .collect();
        match segments.as_slice() {
            ["$cbs"] => Some(NodeAddress::Cbs),
            ["$management"] | [_, "$management"] => Some(NodeAddress::Management),
            [hub] if !hub.starts_with('$') => Some(NodeAddress::Entity {
                hub: hub.to_string(),
                partition: None,
            }),
            [hub, partitions, id] if partitions.eq_ignore_ascii_case("partitions") => {
                Some(NodeAddress::Entity {
                    hub: hub.to_string(),
                    partition: Some(id.to_string()),
                })
            }
            _ => None,
        }
    }
}

/// The path part of `address`: everything after the host of a `scheme://host/` URL, or the whole
/// address when it has no scheme.
fn path_of(address: &str) -> &str {
    match address.split_once("://") {
        Some((_scheme, rest)) => rest.split_once('/').map_or("", |(_host, path)| path),
        None => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_addresses() {
        let entity = |hub: &str, partition: Option<&str>| {
            Some(NodeAddress::Entity {
                hub: hub.into(),
                partition: partition.map(Into::into),
            })
        };
        let cases = [
            ("amqps://localhost/records", entity("records", None)),
            ("amqp://127.0.0.1:5672/records/", entity("records", None)),
            (
                "amqps://ns/records/partitions/0",
                entity("records", Some("0")),
            ),
            ("/records/Partitions/7", entity("records", Some("7"))),
            ("$cbs", Some(NodeAddress::Cbs)),
            ("$management", Some(NodeAddress::Management)),
            ("amqps://ns/hub/$management", Some(NodeAddress::Management)),
            ("amqps://localhost", None),
            ("", None),
            ("$other", None),
            ("amqps://ns/a/b", None),
        ];
        for (address, expected) in cases {
            assert_eq!(NodeAddress::parse(address), expected, "{address}");
        }
    }
}
