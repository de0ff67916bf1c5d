//! Validated identifiers of a notification: twin id, event id, source, model id.

use std::fmt;
use std::sync::Arc;

/// The longest identifier accepted. ADT ids are far shorter; anything longer is not an id.
const MAX_ID_BYTES: usize = 1024;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Accepts a non-blank text of at most 1 KB without control characters.
            pub fn parse(text: &str) -> Option<Self> {
                valid_id(text).then(|| $name(Arc::from(text)))
            }

            /// The id as sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A digital twin's id (`$dtId`), the time-series id of every record.
    ///
    /// ```
    /// use adt_bridge::adt::TwinId;
    /// assert_eq!(TwinId::parse("GrindingStep").unwrap().as_str(), "GrindingStep");
    /// assert!(TwinId::parse("  ").is_none());
    /// ```
    TwinId
);
id_type!(
    /// A notification's `id`, unique together with its source.
    EventId
);
id_type!(
    /// A notification's `source`: the ADT instance's host name (or a URL ending in the twin, for telemetry).
    Source
);
id_type!(
    /// A DTDL model id, e.g. `dtmi:com:example:thermostat;1`.
    ModelId
);

fn valid_id(text: &str) -> bool {
    !text.chars().all(char::is_whitespace) && text.len() <= MAX_ID_BYTES && !has_control(text)
}

fn has_control(text: &str) -> bool {
    // Ids are nearly always printable ASCII, which one pass over the bytes confirms (without an
    // early exit, so the compiler can check many bytes at once); anything else takes the full
    // Unicode check.
    let printable_ascii = text
        .bytes()
        .fold(true, |all, b| all & (b' '..=b'~').contains(&b));
    !printable_ascii && text.chars().any(char::is_control)
}
