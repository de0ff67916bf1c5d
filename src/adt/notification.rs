//! The notification model: one ADT event, whatever transport carried it.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::ids::{EventId, ModelId, Source, TwinId};
use super::patch::Patch;
use crate::time::Timestamp;

/// The CloudEvents `type` of a notification, keyed on the type string, never on the body's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `Microsoft.DigitalTwins.Twin.Update`
    TwinUpdate,
    /// `Microsoft.DigitalTwins.Twin.Create`
    TwinCreate,
    /// `Microsoft.DigitalTwins.Twin.Delete`
    TwinDelete,
    /// `Microsoft.DigitalTwins.Relationship.Update`
    RelationshipUpdate,
    /// `Microsoft.DigitalTwins.Relationship.Create`
    RelationshipCreate,
    /// `Microsoft.DigitalTwins.Relationship.Delete`
    RelationshipDelete,
    /// `microsoft.iot.telemetry`
    Telemetry,
    /// The 2018 preview's `SensorChange`.
    SensorChange,
    /// The 2018 preview's `SpaceChange`.
    SpaceChange,
    /// Anything else: the preview's `TopologyOperation`, `UdfCustom`, `DeviceMessage`, unknown types.
    Other,
}

impl EventType {
    /// Reads a type string, ignoring ASCII case.
    ///
    /// ```
    /// use adt_bridge::adt::EventType;
    /// assert_eq!(EventType::parse("Microsoft.DigitalTwins.Twin.Update"), EventType::TwinUpdate);
    /// assert_eq!(EventType::parse("microsoft.iot.telemetry"), EventType::Telemetry);
    /// assert_eq!(EventType::parse("UdfCustom"), EventType::Other);
    /// ```
    pub fn parse(type_name: &str) -> Self {
        const TABLE: [(&str, EventType); 9] = [
            ("Microsoft.DigitalTwins.Twin.Update", EventType::TwinUpdate),
            ("Microsoft.DigitalTwins.Twin.Create", EventType::TwinCreate),
            ("Microsoft.DigitalTwins.Twin.Delete", EventType::TwinDelete),
            (
                "Microsoft.DigitalTwins.Relationship.Update",
                EventType::RelationshipUpdate,
            ),
            (
                "Microsoft.DigitalTwins.Relationship.Create",
                EventType::RelationshipCreate,
            ),
            (
                "Microsoft.DigitalTwins.Relationship.Delete",
                EventType::RelationshipDelete,
            ),
            ("microsoft.iot.telemetry", EventType::Telemetry),
            ("SensorChange", EventType::SensorChange),
            ("SpaceChange", EventType::SpaceChange),
        ];
        // Types nearly always come spelled exactly as in the table, which is the cheaper test.
        TABLE
            .iter()
            .find(|(name, _)| *name == type_name)
            .or_else(|| {
                let trimmed = type_name.trim();
                TABLE
                    .iter()
                    .find(|(name, _)| trimmed.eq_ignore_ascii_case(name))
            })
            .map_or(EventType::Other, |(_, kind)| *kind)
    }

    /// The record-producing kind this type belongs to, if any.
    pub fn kind(self) -> Option<EventKind> {
        match self {
            EventType::TwinUpdate => Some(EventKind::TwinUpdate),
            EventType::TwinCreate => Some(EventKind::TwinCreate),
            EventType::Telemetry => Some(EventKind::Telemetry),
            EventType::RelationshipUpdate => Some(EventKind::RelationshipUpdate),
            EventType::SensorChange | EventType::SpaceChange => Some(EventKind::Legacy),
            _ => None,
        }
    }
}

/// The kinds of events that can produce records, as named in `BRIDGE_EVENT_TYPES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `twin-update`: twin property changes.
    TwinUpdate,
    /// `twin-create`: a new twin's initial values.
    TwinCreate,
    /// `telemetry`: telemetry routed through ADT.
    Telemetry,
    /// `relationship-update`: relationship property changes (data-history only).
    RelationshipUpdate,
    /// `legacy`: the 2018 preview's SensorChange and SpaceChange.
    Legacy,
}

impl EventKind {
    /// Every kind, in setting order.
    pub const ALL: [EventKind; 5] = [
        EventKind::TwinUpdate,
        EventKind::TwinCreate,
        EventKind::Telemetry,
        EventKind::RelationshipUpdate,
        EventKind::Legacy,
    ];

    /// The name used in `BRIDGE_EVENT_TYPES`.
    pub fn setting_name(self) -> &'static str {
        match self {
            EventKind::TwinUpdate => "twin-update",
            EventKind::TwinCreate => "twin-create",
            EventKind::Telemetry => "telemetry",
            EventKind::RelationshipUpdate => "relationship-update",
            EventKind::Legacy => "legacy",
        }
    }

    /// Reads a setting name, ignoring case and surrounding blanks.
    pub fn from_setting_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.setting_name().eq_ignore_ascii_case(name.trim()))
    }
}

/// A set of event kinds: the ones decoded into notifications; the rest are skipped unread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKinds(u8);

impl EventKinds {
    /// No kind.
    pub const NONE: EventKinds = EventKinds(0);

    /// Every kind.
    pub fn all() -> Self {
        EventKind::ALL.into_iter().collect()
    }

    /// Whether `kind` is in the set.
    pub fn contains(self, kind: EventKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    /// The set without `kind`.
    pub fn without(self, kind: EventKind) -> Self {
        EventKinds(self.0 & !(1 << kind as u8))
    }
}

impl FromIterator<EventKind> for EventKinds {
    fn from_iter<I: IntoIterator<Item = EventKind>>(iter: I) -> Self {
        EventKinds(
            iter.into_iter()
                .fold(0, |bits, kind| bits | 1 << kind as u8),
        )
    }
}

impl fmt::Display for EventKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = EventKind::ALL
            .into_iter()
            .filter(|k| self.contains(*k))
            .map(EventKind::setting_name)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// The attributes every notification has, whatever its type.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The event id; when the event carried none, a stable hash of (source, subject, time, body).
    pub id: EventId,
    /// The event's source (the instance host name), when sent.
    pub source: Option<Source>,
    /// The type as sent, e.g. `Microsoft.DigitalTwins.Twin.Update`.
    pub type_name: Arc<str>,
    /// The type, parsed.
    pub event_type: EventType,
    /// The subject, when sent.
    pub subject: Option<String>,
    /// When ADT applied the operation (placeholder dates such as year 0001 are dropped).
    pub time: Option<Timestamp>,
    /// When the event reached the Event Hub, for Event Hub deliveries.
    pub enqueued_time: Option<Timestamp>,
}

/// What a notification says, by kind. Only kinds that produce records are decoded this far.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// A twin's properties changed.
    TwinUpdate {
        twin_id: TwinId,
        model_id: Option<ModelId>,
        patch: Patch,
    },
    /// A relationship's properties changed.
    RelationshipUpdate {
        twin_id: TwinId,
        relationship_id: String,
        model_id: Option<ModelId>,
        patch: Patch,
    },
    /// A twin was created: its whole body as a GET returns it.
    TwinCreate {
        twin_id: TwinId,
        model_id: Option<ModelId>,
        twin: Map<String, Value>,
    },
    /// Telemetry routed through ADT: its fields exactly as sent.
    Telemetry {
        twin_id: TwinId,
        model_id: Option<ModelId>,
        fields: Map<String, Value>,
    },
    /// A 2018 preview SensorChange or SpaceChange: one typed value.
    Legacy {
        twin_id: TwinId,
        data_type: String,
        value: Value,
        time: Option<Timestamp>,
    },
}

impl Content {
    /// The twin whose time series the records belong to.
    pub fn twin_id(&self) -> &TwinId {
        match self {
            Content::TwinUpdate { twin_id, .. }
            | Content::RelationshipUpdate { twin_id, .. }
            | Content::TwinCreate { twin_id, .. }
            | Content::Telemetry { twin_id, .. }
            | Content::Legacy { twin_id, .. } => twin_id,
        }
    }

    /// The patch of an update, if this is one.
    pub fn patch(&self) -> Option<&Patch> {
        match self {
            Content::TwinUpdate { patch, .. } | Content::RelationshipUpdate { patch, .. } => {
                Some(patch)
            }
            _ => None,
        }
    }

    /// The model id, when the notification carried one.
    pub fn model_id(&self) -> Option<&ModelId> {
        match self {
            Content::TwinUpdate { model_id, .. }
            | Content::RelationshipUpdate { model_id, .. }
            | Content::TwinCreate { model_id, .. }
            | Content::Telemetry { model_id, .. } => model_id.as_ref(),
            Content::Legacy { .. } => None,
        }
    }
}

/// One decoded ADT notification.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// Attributes common to all types.
    pub header: Header,
    /// The type-specific content.
    pub content: Content,
}
