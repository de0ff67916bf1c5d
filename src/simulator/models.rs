//! The factory as data for Azure Digital Twins: the DTDL models (embedded from `models/`), the twins
//! with their initial values, and the relationships between them.
//!
//! `twins setup` PUTs these, in this order: models (bases before extensions), twins, relationships.

use serde_json::{json, Value};

/// Model id of the factory.
pub const FACTORY_MODEL: &str = "dtmi:com:microsoft:iot:e2e:digital_factory:chocolate_factory;1";
/// Model id of a factory floor.
pub const FLOOR_MODEL: &str = "dtmi:com:microsoft:iot:e2e:digital_factory:floor;1";
/// Model id of a production line.
pub const LINE_MODEL: &str = "dtmi:com:microsoft:iot:e2e:digital_factory:production_line;1";
/// Model id of the base production step.
pub const STEP_MODEL: &str = "dtmi:com:microsoft:iot:e2e:digital_factory:production_step;2";
/// Model id of the fanning/roasting step.
pub const ROASTING_MODEL: &str =
    "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_fanning;2";
/// Model id of the grinding step.
pub const GRINDING_MODEL: &str =
    "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_grinding;1";
/// Model id of the moulding step.
pub const MOULDING_MODEL: &str =
    "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_moulding;1";

/// The DTDL documents, bases before the models that extend them.
const MODEL_FILES: [&str; 7] = [
    include_str!("../../models/chocolate_factory.json"),
    include_str!("../../models/floor.json"),
    include_str!("../../models/production_line.json"),
    include_str!("../../models/production_step.json"),
    include_str!("../../models/production_step_fanning.json"),
    include_str!("../../models/production_step_grinding.json"),
    include_str!("../../models/production_step_moulding.json"),
];

/// The three simulated production steps, in line order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Fanning and roasting the beans (`FanningRoastingStep`).
    Roasting,
    /// Grinding the nibs (`GrindingStep`).
    Grinding,
    /// Moulding the chocolate (`MouldingStep`).
    Moulding,
}

impl Step {
    /// Every step, in line order.
    pub const ALL: [Step; 3] = [Step::Roasting, Step::Grinding, Step::Moulding];

    /// The step's twin id.
    pub fn twin_id(self) -> &'static str {
        match self {
            Step::Roasting => "FanningRoastingStep",
            Step::Grinding => "GrindingStep",
            Step::Moulding => "MouldingStep",
        }
    }

    /// The step's model id.
    pub fn model_id(self) -> &'static str {
        match self {
            Step::Roasting => ROASTING_MODEL,
            Step::Grinding => GRINDING_MODEL,
            Step::Moulding => MOULDING_MODEL,
        }
    }

    /// A short human name ("Roasting").
    pub fn name(self) -> &'static str {
        match self {
            Step::Roasting => "Roasting",
            Step::Grinding => "Grinding",
            Step::Moulding => "Moulding",
        }
    }
}

/// One twin to create: its id, model and full body (with `$metadata.$model`).
#[derive(Clone, Debug, PartialEq)]
pub struct TwinSpec {
    /// The twin id (`$dtId`).
    pub id: &'static str,
    /// The twin's model id.
    pub model_id: &'static str,
    /// The body to PUT: initial property values and `$metadata.$model`.
    pub body: Value,
}

/// One relationship to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationshipSpec {
    /// The source twin id.
    pub source: &'static str,
    /// The relationship id, stable so that setup is idempotent.
    pub id: &'static str,
    /// The relationship name, as the source's model declares it.
    pub name: &'static str,
    /// The target twin id.
    pub target: &'static str,
}

/// The DTDL models, parsed, ordered so that every base comes before the models extending it.
pub fn models() -> Vec<Value> {
    MODEL_FILES
        .iter()
        .map(|text| serde_json::from_str(text).expect("the embedded models are valid JSON"))
        .collect()
}

/// The six twins with their initial values, parents before children.
pub fn twins() -> Vec<TwinSpec> {
    vec![
        twin(
            "ChocolateFactory",
            FACTORY_MODEL,
            json!({
                "FactoryId": "CF-001",
                "FactoryName": "Contoso Chocolate Factory",
                "Country": "US",
                "ZipCode": "98052",
                "Tags": "chocolate,demo",
                "GeoLocation": { "Latitude": 47.6397, "Longitude": -122.1281 },
            }),
        ),
        twin(
            "FactoryFloor",
            FLOOR_MODEL,
            json!({
                "FloorId": "F-1",
                "FloorName": "Ground floor",
                "Temperature": 68.0,
                "ComfortIndex": 0.9,
            }),
        ),
        twin(
            "ProductionLine",
            LINE_MODEL,
            json!({
                "LineId": "PL-1",
                "LineName": "Dark chocolate line",
                "CurrentProductId": "DARK-70",
                "ProductBatchNumber": 1,
                "LineOperationStatus": 2,
            }),
        ),
        step_twin(
            Step::Roasting,
            json!({ "ChasisTemperature": 140.0, "RoastingTime": 80, "PowerUsage": 70.0, "FanSpeed": 12.0 }),
        ),
        step_twin(
            Step::Grinding,
            json!({ "ChasisTemperature": 205.0, "GrindingTime": 30, "PowerUsage": 70.0, "Force": 305.0, "Vibration": 110.0 }),
        ),
        step_twin(
            Step::Moulding,
            json!({ "ChasisTemperature": 88.0, "PowerUsage": 70.0 }),
        ),
    ]
}

/// The relationships of the twin graph: factory → floor → line → steps, and the step chain.
pub fn relationships() -> Vec<RelationshipSpec> {
    let rel = |source, id, name, target| RelationshipSpec {
        source,
        id,
        name,
        target,
    };
    vec![
        rel(
            "ChocolateFactory",
            "has-FactoryFloor",
            "rel_has_floors",
            "FactoryFloor",
        ),
        rel(
            "FactoryFloor",
            "runs-ProductionLine",
            "rel_runs_lines",
            "ProductionLine",
        ),
        rel(
            "ProductionLine",
            "runs-FanningRoastingStep",
            "rel_runs_steps",
            "FanningRoastingStep",
        ),
        rel(
            "ProductionLine",
            "runs-GrindingStep",
            "rel_runs_steps",
            "GrindingStep",
        ),
        rel(
            "ProductionLine",
            "runs-MouldingStep",
            "rel_runs_steps",
            "MouldingStep",
        ),
        rel(
            "FanningRoastingStep",
            "next-GrindingStep",
            "rel_step_link",
            "GrindingStep",
        ),
        rel(
            "GrindingStep",
            "next-MouldingStep",
            "rel_step_link",
            "MouldingStep",
        ),
    ]
}

fn twin(id: &'static str, model_id: &'static str, properties: Value) -> TwinSpec {
    let mut body = json!({ "$metadata": { "$model": model_id } });
    if let (Some(body), Value::Object(properties)) = (body.as_object_mut(), properties) {
        body.extend(properties);
    }
    TwinSpec { id, model_id, body }
}

/// A step twin: the base step's properties plus the step's own initial readings.
fn step_twin(step: Step, readings: Value) -> TwinSpec {
    let (step_id, final_step) = match step {
        Step::Roasting => ("S-1", false),
        Step::Grinding => ("S-2", false),
        Step::Moulding => ("S-3", true),
    };
    let mut properties = json!({
        "StepId": step_id,
        "StepName": step.name(),
        "StartTime": "2026-01-01T06:00:00Z",
        "FinalStep": final_step,
        "OperationStatus": 2,
    });
    if let (Some(properties), Value::Object(readings)) = (properties.as_object_mut(), readings) {
        properties.extend(readings);
    }
    twin(step.twin_id(), step.model_id(), properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_in_the_documented_order() {
        let ids: Vec<String> = models()
            .iter()
            .map(|m| m["@id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            ids,
            [
                FACTORY_MODEL,
                FLOOR_MODEL,
                LINE_MODEL,
                STEP_MODEL,
                ROASTING_MODEL,
                GRINDING_MODEL,
                MOULDING_MODEL
            ]
        );
    }

    #[test]
    fn every_twin_names_its_model_in_its_metadata() {
        for twin in twins() {
            assert_eq!(
                twin.body["$metadata"]["$model"], twin.model_id,
                "{}",
                twin.id
            );
        }
    }
}
