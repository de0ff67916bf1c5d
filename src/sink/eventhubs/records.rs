//! The records hub: a batch's records, packed and grouped by partition, each partition's events
//! handed to its lane (see `lanes`), and the Event Hubs event each packed event becomes.

use azure_messaging_eventhubs::models::EventData;
use futures_util::future::join_all;

use super::producer::Opened;
use crate::config::delivery::Packing;
use crate::records::Records;
use crate::sink::packing::{pack, OutEvent};
use crate::sink::partition::positions_by_partition;
use crate::sink::{Delivery, SinkError};

impl OutEvent {
    /// The Event Hubs event, taking the body as it is.
    pub(super) fn into_event_data(self) -> EventData {
        let properties = self.properties();
        event_data(self.body, self.message_id, properties)
    }

    /// The Event Hubs event, with a copy of the body (the event stays, to be sent again).
    pub(super) fn to_event_data(&self) -> EventData {
        event_data(
            self.body.clone(),
            self.message_id.clone(),
            self.properties(),
        )
    }

    /// `recordFormat`; `recordCount` when packed; the source event's `cloudEvents:*` when every
    /// record comes from one event.
    fn properties(&self) -> Vec<(&'static str, Property)> {
        let mut properties = Vec::with_capacity(5);
        if let Some(origin) = &self.origin {
            properties.push((
                "cloudEvents:id",
                Property::Text(origin.event_id.to_string()),
            ));
            properties.push((
                "cloudEvents:type",
                Property::Text(origin.type_name.to_string()),
            ));
            if let Some(source) = &origin.source {
                properties.push(("cloudEvents:source", Property::Text(source.to_string())));
            }
        }
        properties.push(("recordFormat", Property::Static(self.format.as_str())));
        if self.packed {
            properties.push(("recordCount", Property::Count(self.record_count() as i64)));
        }
        properties
    }
}

/// An application property's value.
enum Property {
    Text(String),
    Static(&'static str),
    Count(i64),
}

fn event_data(
    body: Vec<u8>,
    message_id: String,
    properties: Vec<(&'static str, Property)>,
) -> EventData {
    let mut builder = EventData::builder()
        .with_body(body)
        .with_content_type("application/json".to_owned())
        .with_message_id(message_id);
    for (key, value) in properties {
        builder = match value {
            Property::Text(text) => builder.add_property(key.to_owned(), text),
            Property::Static(text) => builder.add_property(key.to_owned(), text),
            Property::Count(count) => builder.add_property(key.to_owned(), count),
        };
    }
    builder.build()
}

#[tracing::instrument(skip_all, fields(records = records.len(), partitions = opened.partitions.len()))]
pub(super) async fn send_by_partition(
    opened: &Opened,
    records: &Records,
    packing: Packing,
) -> Result<Delivery, SinkError> {
    let twins = records.iter().map(|record| record.twin_id.as_str());
    let groups = positions_by_partition(twins, opened.partitions.len());
    let bound = opened.packed_event_bound(packing);
    let sends = groups
        .iter()
        .enumerate()
        .filter(|(_, indices)| !indices.is_empty())
        .map(|(lane, indices)| {
            send_partition(
                opened,
                lane,
                pack(records, indices, packing, bound),
                indices,
            )
        });
    let mut delivery = Delivery::default();
    for result in join_all(sends).await {
        let part = result?;
        delivery.sent += part.sent;
        delivery.events += part.events;
        delivery.too_large.extend(part.too_large);
    }
    delivery.too_large.sort_unstable();
    Ok(delivery)
}

/// Hands one partition's events, in order, to its lane, which sends them with those of the
/// other invocations in flight. `indices` maps the events' record positions to the batch's.
async fn send_partition(
    opened: &Opened,
    lane: usize,
    events: Vec<OutEvent>,
    indices: &[usize],
) -> Result<Delivery, SinkError> {
    let spans: Vec<std::ops::Range<usize>> = events.iter().map(|e| e.records.clone()).collect();
    let done = opened.lanes.send(lane, events).await?;
    let too_large: Vec<usize> = done
        .too_large
        .iter()
        .flat_map(|&event| spans[event].clone())
        .map(|position| indices[position])
        .collect();
    Ok(Delivery {
        sent: indices.len() - too_large.len(),
        events: done.sent,
        too_large,
    })
}
