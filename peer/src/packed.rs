//! The records an event carries. The bridge sends either one record per event (the body is the
//! record's JSON object, message id `<event id>:<index>`), or packs many into one event: the body
//! is a compact JSON array of records, the application property `recordCount` says how many, and
//! the message id is `<first record's message id>+<count>`. Watchers and loss checks unroll both
//! into records the same way.

use serde_json::value::RawValue;

use crate::record::ReceivedEvent;

/// The application property of a packed event: how many records its body holds.
pub const RECORD_COUNT_PROPERTY: &str = "recordCount";

/// Why an event's records cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpackError {
    /// The `recordCount` property is not a number.
    #[error("recordCount {0:?} is not a number")]
    BadCount(String),
    /// The body of a packed event is not a JSON array.
    #[error("a packed body is not a JSON array: {0}")]
    NotAnArray(String),
    /// The array holds another number of records than `recordCount` says.
    #[error("recordCount says {declared} records, the body holds {found}")]
    CountMismatch { declared: usize, found: usize },
    /// The message id of a packed event does not end in `+<count>` with the right count.
    #[error("message id {0:?} does not end in +<record count>")]
    BadMessageId(Option<String>),
}

impl ReceivedEvent {
    /// Whether the event packs several records (it carries [`RECORD_COUNT_PROPERTY`]).
    pub fn is_packed(&self) -> bool {
        self.properties.contains_key(RECORD_COUNT_PROPERTY)
    }

    /// The records this event carries, in order, as the bytes they were sent as: each element of
    /// a packed event's array, or the whole body of an event that is one record. A packed event
    /// must agree with itself: as many elements as `recordCount`, a message id ending `+<count>`.
    ///
    /// ```
    /// use eventhubs_peer::ReceivedEvent;
    /// let packed = ReceivedEvent {
    ///     hub: "records".into(),
    ///     partition_id: Some("0".into()),
    ///     partition_key: None,
    ///     message_id: Some("evt-1:0+2".into()),
    ///     content_type: Some("application/json".into()),
    ///     properties: [("recordCount".to_string(), "2".to_string())].into(),
    ///     body: br#"[{"$dtId":"a"},{"$dtId":"b"}]"#.to_vec(),
    /// };
    /// let records = packed.records().unwrap();
    /// assert_eq!(records, [&br#"{"$dtId":"a"}"#[..], &br#"{"$dtId":"b"}"#[..]]);
    /// ```
    pub fn records(&self) -> Result<Vec<&[u8]>, UnpackError> {
        let Some(count) = self.properties.get(RECORD_COUNT_PROPERTY) else {
            return Ok(vec![&self.body[..]]);
        };
        let declared: usize = count
            .parse()
            .map_err(|_| UnpackError::BadCount(count.clone()))?;
        let elements: Vec<&RawValue> = serde_json::from_slice(&self.body)
            .map_err(|error| UnpackError::NotAnArray(error.to_string()))?;
        if elements.len() != declared {
            return Err(UnpackError::CountMismatch {
                declared,
                found: elements.len(),
            });
        }
        let count_in_id = self
            .message_id
            .as_deref()
            .and_then(|id| id.rsplit_once('+'))
            .map(|(_, count)| count);
        if count_in_id != Some(declared.to_string().as_str()) {
            return Err(UnpackError::BadMessageId(self.message_id.clone()));
        }
        Ok(elements
            .into_iter()
            .map(|element| element.get().as_bytes())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message_id: &str, count: Option<&str>, body: &str) -> ReceivedEvent {
        ReceivedEvent {
            hub: "records".into(),
            partition_id: Some("1".into()),
            partition_key: None,
            message_id: Some(message_id.into()),
            content_type: Some("application/json".into()),
            properties: count
                .map(|count| (RECORD_COUNT_PROPERTY.to_string(), count.to_string()))
                .into_iter()
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn an_unpacked_event_is_one_record_even_if_its_body_is_an_array() {
        let single = event("evt-7:0", None, r#"[{"a":1}]"#);
        assert!(!single.is_packed());
        assert_eq!(single.records().unwrap(), [&br#"[{"a":1}]"#[..]]);
    }

    #[test]
    fn a_packed_event_unrolls_into_its_elements_byte_for_byte() {
        let packed = event(
            "evt-7:0+3",
            Some("3"),
            r#"[{"a":1.50},{"b":[1,2]},{"c":"x,y"}]"#,
        );
        assert!(packed.is_packed());
        let records: Vec<&str> = packed
            .records()
            .unwrap()
            .into_iter()
            .map(|r| std::str::from_utf8(r).unwrap())
            .collect();
        assert_eq!(
            records,
            [r#"{"a":1.50}"#, r#"{"b":[1,2]}"#, r#"{"c":"x,y"}"#]
        );
    }

    #[test]
    fn a_packed_event_that_disagrees_with_itself_is_an_error() {
        for (packed, expected) in [
            (
                event("m+2", Some("two"), "[]"),
                UnpackError::BadCount("two".into()),
            ),
            (
                event("m+2", Some("2"), r#"[{"a":1}]"#),
                UnpackError::CountMismatch {
                    declared: 2,
                    found: 1,
                },
            ),
            (
                event("m+3", Some("2"), r#"[{"a":1},{"a":2}]"#),
                UnpackError::BadMessageId(Some("m+3".into())),
            ),
            (
                event("m+12", Some("2"), r#"[{"a":1},{"a":2}]"#),
                UnpackError::BadMessageId(Some("m+12".into())),
            ),
        ] {
            assert_eq!(packed.records().unwrap_err(), expected);
        }
        let not_array = event("m+1", Some("1"), r#"{"a":1}"#);
        assert!(matches!(
            not_array.records(),
            Err(UnpackError::NotAnArray(_))
        ));
    }
}
