//! The bodies' array as hosts send it, both its encodings undone in one pass.
//!
//! The bodies come as a JSON string holding the text of an array of strings, each holding a
//! body: `"[\"{\\\"a\\\":1}\"]"`. When no body holds an escape of its own, every backslash of
//! the text as sent belongs to a run of one, before an item's own quote, or of three, before a
//! quote of a body; each body is then its stretch of the text with every backslash dropped.
//! That is read here 64 bytes at a time: the block's masks find the runs and which quotes open
//! and close items, one compaction writes the bodies, and a few steps check the array's own
//! brackets and commas. Any other text (an escape in a body, an item that is no string, a text
//! that is no array) is refused with `None`, for the reader that undoes one encoding at a time.

use super::literal::{compact, Block, BLOCK};

/// Where the reader is in the array's structure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Before the opening bracket.
    Open,
    /// After the opening bracket: an item or the closing bracket.
    FirstItem,
    /// After a comma: an item.
    Item,
    /// Inside an item: its closing quote.
    ItemEnd,
    /// After an item: a comma or the closing bracket.
    CommaOrClose,
    /// After the closing bracket: nothing but spaces.
    Nothing,
}

/// The bodies of the array whose text, as sent, is `raw` (checked by the envelope's reader):
/// appended to `bytes` end to end, the end of each (in `bytes`) pushed to `ends`. `false`, with `bytes` and
/// `ends` in any state, for a text this does not read.
pub(super) fn read(raw: &[u8], bytes: &mut Vec<u8>, ends: &mut Vec<usize>) -> bool {
    let mut written = bytes.len();
    bytes.resize(written + raw.len() + BLOCK, 0);
    let mut expect = Expect::Open;
    // The previous block's backslashes, and whether its end was inside an item.
    let mut before = 0u64;
    let mut inside_before = false;
    let mut at = 0;
    while at < raw.len() {
        let block = Block::at(raw, at);
        let real = block.real_bits();
        let (backslashes, quotes) = (block.backslashes, block.quotes);
        // Bit `i` set where byte `i - k` is a backslash, counting back into the previous block.
        let back = |k: u32| (backslashes << k) | (before >> (64 - k));
        let (one, two, three, four) = (back(1), back(2), back(3), back(4));
        let item_quotes = quotes & one & !two;
        let body_quotes = quotes & one & two & three & !four;
        // Every backslash stands before a backslash or a quote: here for bytes 0 to 62, and
        // for the previous block's last byte against this one's first.
        let followed = (backslashes | quotes) >> 1 | (1 << 63);
        let crossing_ok = before >> 63 == 0 || (backslashes | quotes) & 1 != 0;
        if quotes & !(item_quotes | body_quotes) != 0
            || backslashes & real & !followed != 0
            || !crossing_ok
        {
            return false;
        }
        let inside = prefix_xor(item_quotes) ^ if inside_before { u64::MAX } else { 0 };
        let keep = inside & !item_quotes & !backslashes & real;
        let structure = !inside & !item_quotes & !backslashes & !block.spaces() & real;
        if body_quotes & !inside != 0 {
            return false;
        }
        let mut events = item_quotes | structure;
        while events != 0 {
            let n = events.trailing_zeros();
            events &= events - 1;
            expect = match (expect, block.bytes[n as usize]) {
                (Expect::FirstItem | Expect::Item, b'"') => Expect::ItemEnd,
                (Expect::ItemEnd, b'"') => {
                    let before_quote = keep & ((1u64 << n) - 1);
                    ends.push(written + before_quote.count_ones() as usize);
                    Expect::CommaOrClose
                }
                (Expect::Open, b'[') => Expect::FirstItem,
                (Expect::CommaOrClose, b',') => Expect::Item,
                (Expect::FirstItem | Expect::CommaOrClose, b']') => Expect::Nothing,
                _ => return false,
            };
        }
        written = compact(&block.bytes, keep, bytes, written);
        before = backslashes;
        inside_before = inside >> 63 != 0;
        at += block.real;
    }
    bytes.truncate(written);
    // The last byte cannot be a backslash of a checked text; refused all the same.
    expect == Expect::Nothing && raw.last() != Some(&b'\\')
}

/// Bit `i` set where an odd number of bits at `i` or below are set in `bits`.
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::literal::{as_sent, unescape};
    use proptest::prelude::*;

    /// The bodies read in one pass from the array `text` as sent, or `None`.
    fn one_pass(text: &str) -> Option<Vec<String>> {
        let (mut bytes, mut ends) = (Vec::new(), Vec::new());
        if !read(as_sent(text).as_bytes(), &mut bytes, &mut ends) {
            return None;
        }
        let mut start = 0;
        let bodies = ends.iter().map(|&end| {
            let body = String::from_utf8(bytes[start..end].to_vec()).unwrap();
            start = end;
            body
        });
        Some(bodies.collect())
    }

    /// The bodies as serde_json reads the array, one encoding at a time.
    fn two_passes(text: &str) -> Option<Vec<String>> {
        let array = unescape(&as_sent(text));
        serde_json::from_str(&array).ok()
    }

    #[test]
    fn plain_bodies_are_read_in_one_pass() {
        for text in [
            r#"["{\"a\":1}","",  "x y" , "{\"b\":[\"c\",\"é😀\"]}"]"#,
            " [ ] ",
            "[]",
            r#"["\""]"#,
        ] {
            assert_eq!(one_pass(text), two_passes(text), "{text}");
            assert!(one_pass(text).is_some(), "{text}");
        }
    }

    #[test]
    fn bodies_with_escapes_and_other_texts_are_left_to_two_passes() {
        for text in [
            r#"["{\"a\":\"x\\ny\"}"]"#,
            r#"["a\\b"]"#,
            r#"["a/b", "\u00e9\n"]"#,
            r#"["a",]"#,
            r#"["a" "b"]"#,
            r#"[,"a"]"#,
            r#"["a"] x"#,
            r#"["a"]]"#,
            r#"["a", 1]"#,
            r#"{"a": "b"}"#,
            "[\n\"a\"]",
            r#"["a""#,
            "",
        ] {
            assert_eq!(one_pass(text), None, "{text}");
        }
    }

    #[test]
    fn escapes_are_judged_wherever_they_cross_a_block() {
        for offset in 0..2 * BLOCK {
            let plain = format!("{}\"", "a".repeat(offset));
            let text = serde_json::to_string(&[&plain]).unwrap();
            assert_eq!(one_pass(&text), Some(vec![plain]), "{offset}");
            for escaped in ["\n", "\\", "\u{1}"] {
                let text =
                    serde_json::to_string(&[format!("{}{escaped}", "a".repeat(offset))]).unwrap();
                assert_eq!(one_pass(&text), None, "{offset} {escaped}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn what_one_pass_reads_is_what_two_passes_read(
            bodies in prop::collection::vec(r#"[a-z{}:,"\\/\n é😀\[\]]{0,150}"#, 0..6),
            spaces in prop::collection::vec(" {0,2}", 8),
        ) {
            let items: Vec<String> = bodies.iter().map(|body| serde_json::to_string(body).unwrap()).collect();
            let separator = format!("{},{}", spaces[2], spaces[3]);
            let text = format!("{}[{}{}{}]{}", spaces[0], spaces[1], items.join(&separator), spaces[4], spaces[5]);
            let read = one_pass(&text);
            if bodies.iter().all(|body| !body.contains(['\\', '\n'])) {
                prop_assert_eq!(read, Some(bodies));
            } else {
                prop_assert_eq!(read, None);
            }
        }

        #[test]
        fn any_text_one_pass_reads_reads_alike_in_two(
            text in r#"[\[\]",\\a ]{0,80}"#,
        ) {
            if let Some(read) = one_pass(&text) {
                prop_assert_eq!(Some(read), two_passes(&text));
            }
        }
    }
}
