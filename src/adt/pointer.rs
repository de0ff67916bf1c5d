//! `Pointer`: a JSON Pointer (RFC 6901) path, parsed once into unescaped segments.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A JSON Pointer such as `/Front/Temperature`, held as its unescaped segments.
///
/// `~1` stands for `/` and `~0` for `~`; any other `~` sequence is malformed. The empty pointer
/// (the whole document) is not a property path and is refused, and so is a path of more than
/// [`MAX_PATH_SEGMENTS`] segments.
#[derive(Clone)]
pub struct Pointer {
    segments: Segments<String>,
}

/// A path's segments, at least one: a pointer's own (`String`) or borrowed from one (`&str`).
/// Nearly every path a twin update carries has one, which is held without a list of its own.
/// (smallvec's `SmallVec<[T; 1]>` does the same and cost 2 to 5 % more instructions per event
/// on `eventhub_events/100`: its `collect` grows the vector one item at a time.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segments<T> {
    /// The common case.
    One(T),
    /// Two or more.
    Many(Vec<T>),
}

impl<T> Segments<T> {
    /// The segments in `items`, `None` when there are none.
    pub(crate) fn collect(items: impl IntoIterator<Item = T>) -> Option<Self> {
        let mut items = items.into_iter();
        let first = items.next()?;
        Some(match items.next() {
            None => Segments::One(first),
            Some(second) => Segments::Many([first, second].into_iter().chain(items).collect()),
        })
    }
}

impl<T> std::ops::Deref for Segments<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Segments::One(one) => std::slice::from_ref(one),
            Segments::Many(many) => many,
        }
    }
}

/// The most segments a property path may have. DTDL nests complex schemas five levels deep at
/// most; a deeper path would make a `tsi` record nested as deep, which consumers' JSON readers
/// refuse (System.Text.Json stops at 64 levels) and which takes as deep a recursion to write.
pub const MAX_PATH_SEGMENTS: usize = 32;

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
    /// More than [`MAX_PATH_SEGMENTS`] segments.
    #[error("the path has more than {} segments", MAX_PATH_SEGMENTS)]
    TooDeep,
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
        let segments = Self::unescaped(text)?;
        Ok(Self::collect(segments).expect("a pointer text has a segment"))
    }

    /// The unescaped segments of a pointer's text, borrowed where no escape had to be undone;
    /// for reading a path without keeping it.
    pub(crate) fn unescaped(
        text: &str,
    ) -> Result<impl Iterator<Item = Cow<'_, str>> + Clone, PointerError> {
        if text.is_empty() {
            return Err(PointerError::Empty);
        }
        let rest = text.strip_prefix('/').ok_or(PointerError::NoLeadingSlash)?;
        if rest.bytes().filter(|b| *b == b'/').count() >= MAX_PATH_SEGMENTS {
            return Err(PointerError::TooDeep);
        }
        let escaped = rest.bytes().any(|b| b == b'~');
        if escaped && !escapes_are_valid(rest) {
            return Err(PointerError::BadEscape);
        }
        Ok(split_segments(rest).map(move |segment| {
            if escaped {
                unescape(segment)
            } else {
                Cow::Borrowed(segment)
            }
        }))
    }

    /// A pointer from already unescaped segments (at least one).
    pub fn from_segments(segments: Vec<String>) -> Option<Self> {
        Self::collect(segments)
    }

    /// A pointer from unescaped segments (`None` if there are none), allocating a list only for
    /// two or more.
    pub(crate) fn collect<S: Into<String>>(segments: impl IntoIterator<Item = S>) -> Option<Self> {
        let segments = Segments::collect(segments.into_iter().map(Into::into))?;
        Some(Pointer { segments })
    }

    /// The unescaped segments, first to last.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The segments joined with `.`, the key style of dotted `tsi` records and `data-history` rows.
    pub fn dotted(&self) -> String {
        self.segments().join(".")
    }
}

// Equality, hashing and debugging look at the segments, however they are held.
impl PartialEq for Pointer {
    fn eq(&self, other: &Self) -> bool {
        self.segments() == other.segments()
    }
}
impl Eq for Pointer {}
impl Hash for Pointer {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.segments().hash(state)
    }
}
impl fmt::Debug for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pointer")
            .field("segments", &self.segments())
            .finish()
    }
}

/// `text` split on `/`. A byte search, cheaper than `str::split` on texts this short; `/` is
/// ASCII, so every piece is whole UTF-8.
fn split_segments(text: &str) -> impl Iterator<Item = &str> + Clone {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.bytes().position(|b| b == b'/') {
            Some(slash) => {
                rest = Some(&text[slash + 1..]);
                Some(&text[..slash])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// Whether every `~` starts a `~0` or `~1`.
fn escapes_are_valid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .all(|(i, b)| *b != b'~' || matches!(bytes.get(i + 1), Some(b'0' | b'1')))
}

/// Undoes `~1` and `~0` in a segment whose escapes are known to be valid.
fn unescape(segment: &str) -> Cow<'_, str> {
    if !segment.bytes().any(|b| b == b'~') {
        return Cow::Borrowed(segment);
    }
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            // Valid escapes only: the next character is 0 or 1.
            out.push(if chars.next() == Some('0') { '~' } else { '/' });
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in self.segments() {
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
    fn one_segment_or_many_the_pointer_is_the_same() {
        let one = Pointer::parse("/a~1b").unwrap();
        assert_eq!(
            Pointer::from_segments(vec!["a/b".into()]),
            Some(one.clone())
        );
        assert_eq!(Pointer::collect(["a/b"]), Some(one.clone()));
        assert_eq!(format!("{one:?}"), r#"Pointer { segments: ["a/b"] }"#);
        let many = Pointer::collect(["a", "b"]).unwrap();
        assert_eq!(many, Pointer::parse("/a/b").unwrap());
        assert_ne!(many, one);
        assert_eq!(Pointer::from_segments(Vec::new()), None);
        assert_eq!(Pointer::collect(Vec::<String>::new()), None);
    }

    #[test]
    fn malformed_paths_are_refused_with_a_reason() {
        assert_eq!(Pointer::parse(""), Err(PointerError::Empty));
        assert_eq!(Pointer::parse("Temp"), Err(PointerError::NoLeadingSlash));
        assert_eq!(Pointer::parse("/a~"), Err(PointerError::BadEscape));
        assert_eq!(Pointer::parse("/a~x"), Err(PointerError::BadEscape));
        assert_eq!(Pointer::parse("/a~~1"), Err(PointerError::BadEscape));
        assert_eq!(Pointer::parse("/~0~"), Err(PointerError::BadEscape));
        assert_eq!(Pointer::parse("/~01/~10").unwrap().segments(), ["~1", "/0"]);
        let deepest = "/a".repeat(MAX_PATH_SEGMENTS);
        assert_eq!(
            Pointer::parse(&deepest).unwrap().segments().len(),
            MAX_PATH_SEGMENTS
        );
        assert_eq!(
            Pointer::parse(&format!("{deepest}/a")),
            Err(PointerError::TooDeep)
        );
    }

    #[test]
    fn segments_split_as_str_split_does() {
        for text in ["", "a", "/", "a/", "/a", "a//b", "é/ü/", "a/b/c"] {
            let ours: Vec<_> = split_segments(text).collect();
            let std: Vec<_> = text.split('/').collect();
            assert_eq!(ours, std, "{text:?}");
        }
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
