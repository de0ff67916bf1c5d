//! The factory's DTDL models, twins and relationships hold together: every model is a DTDL v2
//! interface with valid semantic units, every twin's properties exist in its model (or the base it
//! extends) with values of the declared schema, and every relationship is declared on its source's
//! model and points at a twin of the declared target model.

use std::collections::{BTreeMap, BTreeSet};

use adt_bridge::simulator::models::{self, STEP_MODEL};
use adt_bridge::simulator::{relationships, twins, Factory, FactoryConfig};
use adt_bridge::time::Timestamp;
use chrono::{TimeZone, Utc};
use serde_json::Value;

const PREFIX: &str = "dtmi:com:microsoft:iot:e2e:digital_factory:";

/// DTDL v2 semantic types used here and the units the spec allows for each.
const UNITS: [(&str, &[&str]); 5] = [
    (
        "Temperature",
        &["kelvin", "degreeCelsius", "degreeFahrenheit"],
    ),
    (
        "Power",
        &[
            "watt",
            "microwatt",
            "milliwatt",
            "kilowatt",
            "megawatt",
            "gigawatt",
            "horsepower",
            "kilowattHourPerYear",
        ],
    ),
    (
        "TimeSpan",
        &[
            "second",
            "millisecond",
            "microsecond",
            "nanosecond",
            "minute",
            "hour",
            "day",
            "year",
        ],
    ),
    (
        "Frequency",
        &["hertz", "kilohertz", "megahertz", "gigahertz"],
    ),
    ("Force", &["newton", "pound", "ounce", "ton"]),
];

fn by_id() -> BTreeMap<String, Value> {
    models::models()
        .into_iter()
        .map(|m| (m["@id"].as_str().unwrap().to_owned(), m))
        .collect()
}

/// The contents of a model and of every model it extends.
fn contents(models: &BTreeMap<String, Value>, id: &str) -> Vec<Value> {
    let model = &models[id];
    let mut all: Vec<Value> = model["contents"].as_array().cloned().unwrap_or_default();
    for base in extends(model) {
        all.extend(contents(models, &base));
    }
    all
}

fn extends(model: &Value) -> Vec<String> {
    match &model["extends"] {
        Value::String(id) => vec![id.clone()],
        Value::Array(ids) => ids.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        _ => vec![],
    }
}

fn types(content: &Value) -> Vec<&str> {
    match &content["@type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn is_dtdl_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && name.len() <= 64
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && !name.ends_with('_')
}

#[test]
fn the_models_are_the_spec_s_seven_with_their_original_ids() {
    let ids: Vec<String> = models::models()
        .iter()
        .map(|m| {
            m["@id"]
                .as_str()
                .unwrap()
                .trim_start_matches(PREFIX)
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "chocolate_factory;1",
            "floor;1",
            "production_line;1",
            "production_step;2",
            "production_step_fanning;2",
            "production_step_grinding;1",
            "production_step_moulding;1"
        ]
    );
}

#[test]
fn every_model_is_a_dtdl_v2_interface() {
    let models = models::models();
    let mut seen = BTreeSet::new();
    for model in &models {
        let id = model["@id"].as_str().unwrap();
        assert_eq!(model["@context"], "dtmi:dtdl:context;2", "{id}");
        assert_eq!(model["@type"], "Interface", "{id}");
        assert!(id.len() <= 128 && id.starts_with(PREFIX), "{id}");
        for base in extends(model) {
            assert!(
                seen.contains(&base),
                "{id} extends {base}, which must come first"
            );
        }
        let mut names = BTreeSet::new();
        for content in model["contents"].as_array().unwrap() {
            let name = content["name"].as_str().unwrap();
            assert!(is_dtdl_name(name), "{id}: {name}");
            assert!(names.insert(name), "{id}: {name} twice");
            check_content(id, content);
        }
        seen.insert(id.to_owned());
    }
}

fn check_content(id: &str, content: &Value) {
    let name = content["name"].as_str().unwrap();
    let types = types(content);
    match types[0] {
        "Property" => check_schema(&content["schema"], &format!("{id} {name}")),
        "Relationship" => {
            let target = content["target"].as_str().unwrap();
            assert!(by_id().contains_key(target), "{id} {name} → {target}");
        }
        other => panic!("{id} {name}: unexpected {other}"),
    }
    if let Some(semantic) = types.get(1) {
        let (_, units) = UNITS
            .iter()
            .find(|(t, _)| t == semantic)
            .expect("a known semantic type");
        let unit = content["unit"]
            .as_str()
            .expect("a semantic type has a unit");
        assert!(
            units.contains(&unit),
            "{id} {name}: {unit} is not a {semantic} unit"
        );
        let schema = content["schema"].as_str().unwrap();
        assert!(
            ["double", "float", "integer", "long"].contains(&schema),
            "{id} {name}"
        );
    } else {
        assert!(
            content.get("unit").is_none(),
            "{id} {name}: a unit needs a semantic type"
        );
    }
}

fn check_schema(schema: &Value, at: &str) {
    match schema {
        Value::String(s) => assert!(
            ["string", "double", "integer", "boolean", "dateTime"].contains(&s.as_str()),
            "{at}: {s}"
        ),
        Value::Object(complex) => match complex["@type"].as_str().unwrap() {
            "Enum" => {
                assert_eq!(complex["valueSchema"], "integer", "{at}");
                for value in complex["enumValues"].as_array().unwrap() {
                    assert!(
                        value["enumValue"].is_i64()
                            && is_dtdl_name(value["name"].as_str().unwrap())
                    );
                }
            }
            "Object" => {
                for field in complex["fields"].as_array().unwrap() {
                    check_schema(&field["schema"], at);
                }
            }
            other => panic!("{at}: unexpected schema {other}"),
        },
        other => panic!("{at}: unexpected schema {other}"),
    }
}

/// Whether `value` fits `schema`.
fn fits(schema: &Value, value: &Value) -> bool {
    match (schema, value) {
        (Value::String(s), _) => match s.as_str() {
            "string" => value.is_string(),
            "double" => value.is_number(),
            "integer" => value.is_i64(),
            "boolean" => value.is_boolean(),
            "dateTime" => value.as_str().is_some_and(|t| Timestamp::parse(t).is_ok()),
            _ => false,
        },
        (Value::Object(complex), _) if complex["@type"] == "Enum" => complex["enumValues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["enumValue"] == *value),
        (Value::Object(complex), Value::Object(fields)) => fields.iter().all(|(name, v)| {
            complex["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == name.as_str() && fits(&f["schema"], v))
        }),
        _ => false,
    }
}

fn property<'a>(contents: &'a [Value], name: &str) -> Option<&'a Value> {
    contents
        .iter()
        .find(|c| types(c)[0] == "Property" && c["name"] == name)
}

#[test]
fn every_twin_property_exists_in_its_model_with_a_fitting_value() {
    let models = by_id();
    for twin in twins() {
        let contents = contents(&models, twin.model_id);
        assert_eq!(twin.body["$metadata"]["$model"], twin.model_id);
        for (name, value) in twin.body.as_object().unwrap() {
            if name.starts_with('$') {
                continue;
            }
            let declared = property(&contents, name)
                .unwrap_or_else(|| panic!("{}: {name} is not in {}", twin.id, twin.model_id));
            assert!(
                fits(&declared["schema"], value),
                "{}: {name} = {value}",
                twin.id
            );
        }
    }
}

#[test]
fn every_simulated_property_exists_in_its_step_model_and_fits_it() {
    let models = by_id();
    let time = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    for update in Factory::new(FactoryConfig::default())
        .tick(time, false)
        .updates
    {
        let contents = contents(&models, update.model_id);
        let patch = serde_json::to_value(&update.patch).unwrap();
        for op in patch.as_array().unwrap() {
            let name = op["path"].as_str().unwrap().trim_start_matches('/');
            let declared = property(&contents, name).expect("a declared property");
            assert!(
                fits(&declared["schema"], &op["value"]),
                "{}: {name}",
                update.twin_id
            );
            assert_eq!(declared["writable"], true, "{name}");
        }
    }
}

#[test]
fn every_relationship_is_declared_on_its_source_and_targets_the_right_model() {
    let models = by_id();
    let model_of: BTreeMap<&str, &str> = twins().iter().map(|t| (t.id, t.model_id)).collect();
    let mut ids = BTreeSet::new();
    for rel in relationships() {
        assert!(
            ids.insert((rel.source, rel.id)),
            "{} {} twice",
            rel.source,
            rel.id
        );
        let contents = contents(&models, model_of[rel.source]);
        let declared = contents
            .iter()
            .find(|c| types(c)[0] == "Relationship" && c["name"] == rel.name)
            .unwrap_or_else(|| panic!("{} has no {}", rel.source, rel.name));
        let target_model = model_of[rel.target];
        let lineage: Vec<String> = std::iter::once(target_model.to_owned())
            .chain(extends(&models[target_model]))
            .collect();
        assert!(
            lineage.iter().any(|m| *m == declared["target"]),
            "{} → {}",
            rel.name,
            rel.target
        );
    }
}

#[test]
fn the_graph_is_the_spec_s_chain() {
    let edges: Vec<(&str, &str, &str)> = relationships()
        .iter()
        .map(|r| (r.source, r.name, r.target))
        .collect();
    for expected in [
        ("ChocolateFactory", "rel_has_floors", "FactoryFloor"),
        ("FactoryFloor", "rel_runs_lines", "ProductionLine"),
        ("ProductionLine", "rel_runs_steps", "FanningRoastingStep"),
        ("ProductionLine", "rel_runs_steps", "GrindingStep"),
        ("ProductionLine", "rel_runs_steps", "MouldingStep"),
        ("FanningRoastingStep", "rel_step_link", "GrindingStep"),
        ("GrindingStep", "rel_step_link", "MouldingStep"),
    ] {
        assert!(edges.contains(&expected), "{expected:?}");
    }
    let steps: Vec<&str> = twins()
        .iter()
        .filter(|t| t.model_id.contains("step_"))
        .map(|t| t.id)
        .collect();
    assert_eq!(
        steps,
        ["FanningRoastingStep", "GrindingStep", "MouldingStep"]
    );
    assert!(models::models().iter().any(|m| m["@id"] == STEP_MODEL));
}
