//! `Pointer`: a JSON Pointer (RFC 6901) path, parsed once into unescaped segments.

use std::fmt;

/// A JSON Pointer such as `/Front/Temperature`, held as its unescaped segments.
///
/// `~1` stands for `/` and `~0` for `~`; any other `~` sequence is malformed. The empty pointer
/// (the whole document) is not a property path and is refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pointer {
    segments: Vec<String>,
}

/// Why a text is not a usable JSON Pointer path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// The path is empty: it names the whole twin, not a property.
    #[error("the path is empty")]
    Empty,
    /// A JSON Pointer starts with `/`.
    #[error("the path does not start with '/'")]
    NoLeadingSlash,
    /// `~` must be followed by `0` or `1`.
    #[error("the path has a '~' not followed by 0 or 1")]
    BadEscape,
}

impl Pointer {
    /// Parses a JSON Pointer, unescaping each segment.
    ///
    /// ```
    /// use adt_bridge::adt::Pointer;
    /// let p = Pointer::parse("/Map/a~1b/c~0d").unwrap();
    /// assert_eq!(p.segments(), ["Map", "a/b", "c~d"]);
    /// assert_eq!(p.to_string(), "/Map/a~1b/c~0d");
    /// assert!(Pointer::parse("Temperature").is_err());
    /// assert!(Pointer::parse("/a~2").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, PointerError> {
        if text.is_empty() {
            return Err(PointerError::Empty);
        }
        let rest = text.strip_prefix('/').ok_or(PointerError::NoLeadingSlash)?;
        let segments = rest
            .split('/')
            .map(unescape)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pointer { segments })
    }

    /// A pointer from already unescaped segments (at least one).
    pub fn from_segments(segments: Vec<String>) -> Option<Self> {
        (!segments.is_empty()).then_some(Pointer { segments })
    }

    /// The unescaped segments, first to last.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The segments joined with `.`, the key style of dotted `tsi` records and `data-history` rows.
    pub fn dotted(&self) -> String {
        self.segments.join(".")
    }

    /// Position of the first `$metadata` segment, if any.
    pub fn metadata_position(&self) -> Option<usize> {
        self.segments.iter().position(|s| s == "$metadata")
    }
}

fn unescape(segment: &str) -> Result<String, PointerError> {
    if !segment.contains('~') {
        return Ok(segment.to_owned());
    }
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => return Err(PointerError::BadEscape),
        }
    }
    Ok(out)
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            f.write_str("/")?;
            f.write_str(&segment.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples_from_rfc_6901_and_adt() {
        let cases: [(&str, &[&str]); 5] = [
            ("/Temperature", &["Temperature"]),
            ("/Front/Temperature", &["Front", "Temperature"]),
            ("/a~1b", &["a/b"]),
            ("/m~0n", &["m~n"]),
            ("/", &[""]),
        ];
        for (text, segments) in cases {
            assert_eq!(Pointer::parse(text).unwrap().segments(), segments, "{text}");
        }
    }

    #[test]
    fn malformed_paths_are_refused_with_a_reason() {
        assert_eq!(Pointer::parse(""), Err(PointerError::Empty));
        assert_eq!(Pointer::parse("Temp"), Err(PointerError::NoLeadingSlash));
        assert_eq!(Pointer::parse("/a~"), Err(PointerError::BadEscape));
        assert_eq!(Pointer::parse("/a~x"), Err(PointerError::BadEscape));
    }

    proptest! {
        #[test]
        fn a_path_survives_escape_and_unescape(segments in prop::collection::vec(".*", 1..5)) {
            let pointer = Pointer::from_segments(segments.clone()).unwrap();
            let reparsed = Pointer::parse(&pointer.to_string()).unwrap();
            prop_assert_eq!(reparsed.segments(), &segments[..]);
        }
    }
}
