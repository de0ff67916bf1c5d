//! `handler twins setup`: the factory's models, twins and relationships, created idempotently.
//! A second run finds everything in place and writes nothing.

use serde_json::{json, Value};
use tracing::info;

use super::{ApiError, Created, DigitalTwinsClient};
use crate::simulator::{RelationshipSpec, TwinSpec};

/// What a setup run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupReport {
    /// Models uploaded by this run.
    pub models_uploaded: usize,
    /// Models already present.
    pub models_present: usize,
    /// Twins created by this run.
    pub twins_created: usize,
    /// Twins already present.
    pub twins_present: usize,
    /// Relationships created by this run.
    pub relationships_created: usize,
    /// Relationships already present.
    pub relationships_present: usize,
}

impl std::fmt::Display for SetupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "models: {} uploaded, {} present; twins: {} created, {} present; relationships: {} created, {} present",
            self.models_uploaded, self.models_present, self.twins_created, self.twins_present, self.relationships_created, self.relationships_present
        )
    }
}

/// Uploads missing models (in dependency order, one call), then creates missing twins and relationships.
pub async fn setup(
    client: &DigitalTwinsClient,
    models: &[Value],
    twins: &[TwinSpec],
    relationships: &[RelationshipSpec],
) -> Result<SetupReport, ApiError> {
    let mut report = SetupReport::default();
    let mut missing = Vec::new();
    for model in models {
        let id = model["@id"].as_str().unwrap_or_default();
        if client.model_exists(id).await? {
            report.models_present += 1;
        } else {
            missing.push(model.clone());
        }
    }
    if !missing.is_empty() {
        client.create_models(&missing).await?;
        report.models_uploaded = missing.len();
    }
    for twin in twins {
        match client.create_twin_if_absent(twin.id, &twin.body).await? {
            Created::Created => report.twins_created += 1,
            Created::Existed => report.twins_present += 1,
        }
    }
    for relationship in relationships {
        let body =
            json!({"$targetId": relationship.target, "$relationshipName": relationship.name});
        match client
            .create_relationship_if_absent(relationship.source, relationship.id, &body)
            .await?
        {
            Created::Created => report.relationships_created += 1,
            Created::Existed => report.relationships_present += 1,
        }
    }
    info!(%report, "twins setup done");
    Ok(report)
}
