//! How attaches are planned, for the addresses the SDK and fe2o3's node clients use.

use fe2o3_amqp::types::definitions::{ReceiverSettleMode, SenderSettleMode};
use fe2o3_amqp::types::messaging::{Source, Target};

use super::*;

fn config() -> PeerConfig {
    PeerConfig::new("localhost").hub("records", 4)
}

fn attach(role: Role, source: Option<&str>, target: Option<&str>) -> Attach {
    Attach {
        name: "link".into(),
        handle: 0.into(),
        role,
        snd_settle_mode: SenderSettleMode::Mixed,
        rcv_settle_mode: ReceiverSettleMode::First,
        source: source.map(|address| Box::new(Source::builder().address(address).build())),
        target: target.map(|address| {
            Box::new(TargetArchetype::Target(
                Target::builder().address(address).build(),
            ))
        }),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: Some(0),
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn refused(plan: LinkPlan) -> AmqpError {
    match plan {
        LinkPlan::Refuse { condition, .. } => condition,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn sdk_sender_links_become_event_links() {
    let plan = plan_link(
        &attach(
            Role::Sender,
            None,
            Some("amqps://localhost/records/Partitions/3"),
        ),
        &config(),
    );
    assert_eq!(
        plan,
        LinkPlan::Events(Entity {
            hub: "records".into(),
            partition: Some("3".into())
        })
    );
}

#[test]
fn unknown_hubs_and_partitions_are_not_found() {
    let config = config();
    let to = |address| plan_link(&attach(Role::Sender, None, Some(address)), &config);
    assert_eq!(refused(to("amqps://localhost/nope")), AmqpError::NotFound);
    assert_eq!(
        refused(to("amqps://localhost/records/Partitions/4")),
        AmqpError::NotFound
    );
    assert_eq!(refused(to("amqps://localhost/a/b")), AmqpError::NotFound);
    assert_eq!(
        refused(plan_link(&attach(Role::Sender, None, None), &config)),
        AmqpError::NotFound
    );
}

#[test]
fn cbs_and_management_pairs_become_requests_and_replies() {
    let config = config();
    assert_eq!(
        plan_link(
            &attach(Role::Sender, Some("rust_amqp_cbs"), Some("$cbs")),
            &config
        ),
        LinkPlan::Requests(RequestNode::Cbs)
    );
    assert_eq!(
        plan_link(
            &attach(Role::Receiver, Some("$cbs"), Some("rust_amqp_cbs")),
            &config
        ),
        LinkPlan::Replies {
            node: RequestNode::Cbs,
            reply_to: "rust_amqp_cbs".into()
        }
    );
    assert_eq!(
        plan_link(&attach(Role::Sender, None, Some("$management")), &config),
        LinkPlan::Requests(RequestNode::Management)
    );
    assert_eq!(
        refused(plan_link(
            &attach(Role::Receiver, Some("$management"), None),
            &config
        )),
        AmqpError::InvalidField
    );
}

#[test]
fn consumers_are_not_served() {
    let plan = plan_link(
        &attach(
            Role::Receiver,
            Some("amqps://localhost/records/Partitions/0"),
            Some("me"),
        ),
        &config(),
    );
    assert_eq!(refused(plan), AmqpError::NotImplemented);
}
