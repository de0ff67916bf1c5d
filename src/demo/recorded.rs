//! The records read back from `records.jsonl`: one time series per (twin, property), built only
//! from what the bridge wrote, as an operator's query over the time-series store would see it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::DemoError;
use crate::time::Timestamp;

/// One property's readings, in time order.
pub type Series = Vec<(DateTime<Utc>, f64)>;

/// Every numeric top-level value of every `tsi` record, by twin and property.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorded {
    series: BTreeMap<(String, String), Series>,
    records: usize,
}

impl Recorded {
    /// Reads a JSON-lines file of `tsi` records (`$dtId`, `timestamp`, values).
    pub fn read(path: &Path) -> Result<Self, DemoError> {
        let file = File::open(path).map_err(|source| DemoError::io("reading", path, source))?;
        let mut recorded = Recorded::default();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| DemoError::io("reading", path, source))?;
            if line.trim().is_empty() {
                continue;
            }
            recorded
                .add_line(&line)
                .map_err(|reason| DemoError::Record {
                    path: path.to_owned(),
                    line: index + 1,
                    reason,
                })?;
        }
        for series in recorded.series.values_mut() {
            series.sort_by_key(|(time, _)| *time);
        }
        Ok(recorded)
    }

    /// How many records were read.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The readings of `property` of `twin` (empty if none were recorded).
    pub fn series(&self, twin: &str, property: &str) -> &[(DateTime<Utc>, f64)] {
        self.series
            .get(&(twin.to_owned(), property.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// The earliest and latest timestamps of any reading.
    pub fn span(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let firsts = self.series.values().filter_map(|s| s.first());
        let lasts = self.series.values().filter_map(|s| s.last());
        Some((firsts.map(|p| p.0).min()?, lasts.map(|p| p.0).max()?))
    }

    fn add_line(&mut self, line: &str) -> Result<(), String> {
        let record: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let twin = record["$dtId"].as_str().ok_or("no $dtId")?;
        let timestamp = record["timestamp"].as_str().ok_or("no timestamp")?;
        let time = Timestamp::parse(timestamp)
            .map_err(|e| e.to_string())?
            .instant();
        let values = record.as_object().ok_or("not an object")?;
        for (property, value) in values {
            if let Some(number) = value.as_f64() {
                let key = (twin.to_owned(), property.clone());
                self.series.entry(key).or_default().push((time, number));
            }
        }
        self.records += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_values_become_series_and_other_keys_are_ignored() {
        let mut recorded = Recorded::default();
        let lines = [
            r#"{"$dtId":"GrindingStep","timestamp":"2026-05-01T12:00:05.0000000Z","Vibration":112.5,"Note":"x"}"#,
            r#"{"$dtId":"GrindingStep","timestamp":"2026-05-01T12:00:00.0000000Z","Vibration":110.0}"#,
        ];
        for line in lines {
            recorded.add_line(line).unwrap();
        }
        let series = &recorded.series[&("GrindingStep".into(), "Vibration".into())];
        assert_eq!(series.len(), 2);
        assert_eq!(recorded.series("GrindingStep", "Note"), &[]);
        assert_eq!(recorded.records(), 2);
        assert!(recorded
            .add_line(r#"{"timestamp":"2026-05-01T12:00:00Z"}"#)
            .is_err());
    }
}
