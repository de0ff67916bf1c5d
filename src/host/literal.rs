//! JSON string literals as sent: where one ends, whether it is valid, and its content with the
//! escapes undone, 64 bytes at a time.
//!
//! The host's envelope is mostly strings whose content is more JSON, so escapes are dense (a
//! backslash every three bytes in the bodies' array). A loop that branches at every escape
//! spends its time mispredicting them. Here each 64-byte block is first classified into masks,
//! one bit a byte (quotes, backslashes, control characters), with SSE2 compares (every x86-64
//! has them; `safe_arch` wraps them; elsewhere a plain loop does the same); which backslashes start an escape is then worked out from the masks with
//! integer arithmetic, carried from block to block (simdjson's escape scanner), and only the rare
//! escapes that are not a quote, a backslash or a slash are looked at one by one.
//!
//! Validity is serde_json's: no control character unescaped, only its escapes, four hex digits
//! after `\u`. A `\u` escape of a surrogate (half of a pair, or lone) is refused here, so that
//! the caller reads such a text the long way, whatever serde_json makes of it.

/// Bytes a block classifies at once.
pub(crate) const BLOCK: usize = 64;

/// The room [`unescape_into`] wants past what it writes: a caller that reserves it up front
/// spares the buffer's growing.
pub(crate) const UNESCAPE_ROOM: usize = BLOCK;

/// One block of text: its bytes (padded with spaces past the end), how many are real, and one
/// bit a byte (bit `i` for byte `i`) for the bytes that matter to a string.
pub(crate) struct Block {
    pub bytes: [u8; BLOCK],
    pub real: usize,
    pub quotes: u64,
    pub backslashes: u64,
    controls: u64,
}

impl Block {
    /// The block of `text` at `at`.
    #[inline]
    pub(crate) fn at(text: &[u8], at: usize) -> Block {
        let rest = text.get(at..).unwrap_or_default();
        let (bytes, real) = match rest.first_chunk::<BLOCK>() {
            Some(whole) => (*whole, BLOCK),
            None => {
                let mut padded = [b' '; BLOCK];
                padded[..rest.len()].copy_from_slice(rest);
                (padded, rest.len())
            }
        };
        Block {
            quotes: equal(&bytes, b'"'),
            backslashes: equal(&bytes, b'\\'),
            controls: controls(&bytes),
            bytes,
            real,
        }
    }

    /// The bits of the real bytes.
    pub(crate) fn real_bits(&self) -> u64 {
        if self.real == BLOCK {
            u64::MAX
        } else {
            (1 << self.real) - 1
        }
    }

    /// The bits of the slashes.
    fn slashes(&self) -> u64 {
        equal(&self.bytes, b'/')
    }

    /// The bits of the spaces.
    pub(crate) fn spaces(&self) -> u64 {
        equal(&self.bytes, b' ')
    }
}

/// Bit `n` set where byte `n` of `bytes` is `byte`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn equal(bytes: &[u8; BLOCK], byte: u8) -> u64 {
    use safe_arch::{cmp_eq_mask_i8_m128i, set_splat_i8_m128i};
    let wanted = set_splat_i8_m128i(byte as i8);
    lanes(bytes, |lane| cmp_eq_mask_i8_m128i(lane, wanted))
}

/// Bit `n` set where byte `n` of `bytes` is a control character (below 0x20).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn controls(bytes: &[u8; BLOCK]) -> u64 {
    use safe_arch::{cmp_eq_mask_i8_m128i, max_u8_m128i, set_splat_i8_m128i};
    let last = set_splat_i8_m128i(0x1F);
    // A byte is at most 0x1F where raising it to 0x1F leaves 0x1F.
    lanes(bytes, |lane| {
        cmp_eq_mask_i8_m128i(max_u8_m128i(lane, last), last)
    })
}

/// The masks `compare` makes of each 16-byte lane of `bytes` (SSE2, which every x86-64 has),
/// one bit a byte, put together.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn lanes(bytes: &[u8; BLOCK], compare: impl Fn(safe_arch::m128i) -> safe_arch::m128i) -> u64 {
    use safe_arch::{load_unaligned_m128i, move_mask_i8_m128i};
    let mut all = 0u64;
    for (n, lane) in bytes.chunks_exact(16).enumerate() {
        let lane = load_unaligned_m128i(lane.try_into().expect("16 bytes"));
        all |= u64::from(move_mask_i8_m128i(compare(lane)) as u16) << (16 * n);
    }
    all
}

/// Bit `n` set where byte `n` of `bytes` is `byte`.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
pub(crate) fn equal(bytes: &[u8; BLOCK], byte: u8) -> u64 {
    bits(bytes, |each| each == byte)
}

/// Bit `n` set where byte `n` of `bytes` is a control character (below 0x20).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn controls(bytes: &[u8; BLOCK]) -> u64 {
    bits(bytes, |each| each < 0x20)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn bits(bytes: &[u8; BLOCK], test: impl Fn(u8) -> bool) -> u64 {
    bytes
        .iter()
        .enumerate()
        .fold(0, |mask, (n, &byte)| mask | u64::from(test(byte)) << n)
}

/// Which bytes of a block are escaped (the letter after an escape's backslash) and which
/// backslashes start an escape, given the block's backslashes and whether its first byte is
/// escaped by a backslash that ended the previous block; and whether the next block's first byte
/// is. A run of backslashes pairs off from its start: `\\` is one escape, `\\\` starts a
/// second.
#[inline]
fn escapes(backslashes: u64, first_escaped: bool) -> (u64, u64, bool) {
    const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;
    let carried = u64::from(first_escaped);
    let candidates = backslashes & !carried;
    // Subtracting the candidates from their shifted selves, against alternating bits, marks
    // each run's escapes by the parity of where it starts.
    let codes = (((candidates << 1) | ODD_BITS).wrapping_sub(candidates)) ^ ODD_BITS;
    let escaped = codes ^ (backslashes | carried);
    let starts = codes & backslashes;
    (escaped, starts, starts >> 63 != 0)
}

/// The end of the string literal whose content starts at `start` (just after its opening quote):
/// the place of its closing quote, and whether the content holds escapes. `None` where the
/// literal is unterminated or invalid.
pub(crate) fn string_end(text: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut at = start;
    let mut first_escaped = false;
    let mut any_escape = false;
    loop {
        let block = Block::at(text, at);
        if block.real == 0 {
            return None;
        }
        let (escaped, _, next_escaped) = escapes(block.backslashes, first_escaped);
        let ends = block.quotes & !escaped & block.real_bits();
        // The bytes before the closing quote, or every real byte where it is not in this block.
        let inside = if ends != 0 {
            (ends & ends.wrapping_neg()) - 1
        } else {
            block.real_bits()
        };
        if block.controls & inside != 0 {
            return None;
        }
        let letters = escaped & inside;
        if letters != 0 {
            any_escape = true;
            let plain = letters & !(block.quotes | block.backslashes);
            if plain != 0 && !letters_valid(text, at, plain & !block.slashes()) {
                return None;
            }
        }
        if ends != 0 {
            return Some((at + ends.trailing_zeros() as usize, any_escape));
        }
        if block.real < BLOCK {
            return None;
        }
        first_escaped = next_escaped;
        at += BLOCK;
    }
}

/// Whether the escapes whose letters are at the set bits of `letters` (bytes of the block at
/// `at`) are valid, as [`escape`] reads them.
fn letters_valid(text: &[u8], at: usize, mut letters: u64) -> bool {
    while letters != 0 {
        let backslash_at = at + letters.trailing_zeros() as usize - 1;
        letters &= letters - 1;
        if escape(text, backslash_at).is_none() {
            return false;
        }
    }
    true
}

/// The first place from `at` on that is no JSON whitespace.
pub(crate) fn after_whitespace(text: &[u8], mut at: usize) -> usize {
    while matches!(text.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The content of a valid string literal (as [`string_end`] found it: `raw` lies between its
/// quotes), its escapes undone, appended to `out`.
pub(crate) fn unescape_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut written = out.len();
    // Room for every byte (no escape makes its text longer) and a whole block past the last.
    out.resize(written + raw.len() + BLOCK, 0);
    let mut at = 0;
    let mut first_escaped = false;
    while at < raw.len() {
        let block = Block::at(raw, at);
        if block.backslashes == 0 && !first_escaped {
            out[written..written + BLOCK].copy_from_slice(&block.bytes);
            written += block.real;
            at += block.real;
            continue;
        }
        let (escaped, starts, next_escaped) = escapes(block.backslashes, first_escaped);
        let letters = escaped & block.real_bits();
        if letters & !(block.quotes | block.backslashes | block.slashes()) != 0 {
            // An escape that stands for another character: undone one by one, from the start of
            // the first escape in play to the end of the block (or of the escape crossing it).
            let mut from = at - usize::from(first_escaped);
            let until = at + block.real;
            while from < until {
                if raw[from] == b'\\' {
                    let (decoded, len) = escape(raw, from).expect("checked by string_end");
                    let encoded = decoded.encode_utf8(&mut [0; 4]).len();
                    decoded.encode_utf8(&mut out[written..written + encoded]);
                    written += encoded;
                    from += len;
                } else {
                    out[written] = raw[from];
                    written += 1;
                    from += 1;
                }
            }
            at = from;
            first_escaped = false;
            continue;
        }
        // Every escape here stands for its own letter: drop the backslashes that start them.
        written = compact(&block.bytes, !starts & block.real_bits(), out, written);
        first_escaped = next_escaped;
        at += block.real;
    }
    out.truncate(written);
}

/// Writes the bytes of `bytes` whose bits are set in `keep`, in order, at `written` in `out`,
/// which has room for a whole block there; returns where they end. Each group of
/// eight bytes is written whole, each kept byte over the dropped one before it, so that no
/// branch depends on which bytes are kept.
#[inline]
pub(crate) fn compact(bytes: &[u8; BLOCK], keep: u64, out: &mut [u8], mut written: usize) -> usize {
    for (group, bytes) in bytes.chunks_exact(8).enumerate() {
        let window: &mut [u8; 8] = (&mut out[written..written + 8])
            .try_into()
            .expect("room for a group past the last");
        let keep = (keep >> (8 * group)) as u8;
        if keep == 0xFF {
            window.copy_from_slice(bytes);
            written += 8;
            continue;
        }
        let mut kept = 0;
        for (n, &byte) in bytes.iter().enumerate() {
            window[kept & 7] = byte;
            kept += usize::from(keep >> n & 1);
        }
        written += kept;
    }
    written
}

/// [`unescape_into`] a new string.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = Vec::with_capacity(raw.len() + UNESCAPE_ROOM);
    unescape_into(raw.as_bytes(), &mut out);
    String::from_utf8(out).expect("escapes undone in UTF-8 are UTF-8")
}

/// The escape at `at` (its backslash): the character it stands for and its length in bytes.
fn escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let decoded = match *bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => return Some((char::from_u32(hex4(bytes, at + 2)?)?, 6)),
        _ => return None,
    };
    Some((decoded, 2))
}

/// Four hex digits at `at`.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |value, &digit| {
        Some(value << 4 | char::from(digit).to_digit(16)?)
    })
}

/// The content of the JSON string holding `text`, as a host sends a member: for tests.
#[cfg(test)]
pub(crate) fn as_sent(text: &str) -> String {
    let literal = serde_json::to_string(text).expect("a string serializes");
    literal[1..literal.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What serde_json makes of `literal` (with its quotes): its content, or `None`.
    fn serde_json_reads(literal: &str) -> Option<String> {
        serde_json::from_str::<String>(literal).ok()
    }

    /// What this module makes of it, where it ends where serde_json's does.
    fn reads(literal: &str) -> Option<String> {
        let bytes = literal.as_bytes();
        if bytes.first() != Some(&b'"') {
            return None;
        }
        let (end, escaped) = string_end(bytes, 1)?;
        // serde_json takes whitespace after the literal, and nothing else.
        if !literal[end + 1..]
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .is_empty()
        {
            return None;
        }
        let raw = &literal[1..end];
        assert_eq!(escaped, raw.contains('\\'), "{literal}");
        Some(unescape(raw))
    }

    /// A literal of `content`, to read, after `offset` bytes of padding that shift it against
    /// the words.
    fn shifted(content: &str, offset: usize) -> Option<String> {
        let text = format!("{}\"{content}\"", " ".repeat(offset));
        let (end, _) = string_end(text.as_bytes(), offset + 1)?;
        (end + 1 == text.len()).then(|| unescape(&text[offset + 1..end]))
    }

    #[test]
    fn escapes_are_undone_as_serde_json_undoes_them() {
        for literal in [
            r#""plain""#,
            r#""""#,
            r#""a\"b\\c\/d\be\ff\ng\rh\ti""#,
            r#""\u00e9\u20AC""#,
            r#""[\"{\\\"a\\\":1}\"]""#,
            "\"é€😀\"",
            r#""\\\\\\\\\\\\\\\\\\""#,
            r#""12345678\"12345\\""#,
        ] {
            assert_eq!(reads(literal), serde_json_reads(literal), "{literal}");
            assert!(reads(literal).is_some(), "{literal}");
        }
    }

    #[test]
    fn what_serde_json_refuses_is_refused() {
        for literal in [
            "\"a\nb\"",
            "\"\u{1}\"",
            r#""\q""#,
            r#""\u12""#,
            r#""\u12g4""#,
            r#""unterminated"#,
            r#""ends in a backslash\"#,
            r#""\ud83d""#,
            r#""\ud83d\u0041""#,
            "\"long enough to span words \\\u{1f}\"",
        ] {
            assert_eq!(reads(literal), None, "{literal}");
            assert_eq!(serde_json_reads(literal), None, "{literal}");
        }
        // Surrogates, paired or not: refused here, for the caller to read the long way.
        assert_eq!(reads(r#""\ude00""#), None);
        assert_eq!(reads(r#""\ud83d\ude00""#), None);
    }

    /// A scalar reading of which bytes are escaped and which start an escape.
    fn escapes_one_by_one(text: &[u8], first_escaped: bool) -> (u64, u64, bool) {
        let (mut escaped, mut starts, mut pending) = (0u64, 0u64, first_escaped);
        for (n, &byte) in text.iter().enumerate() {
            if pending {
                escaped |= 1 << n;
                pending = false;
            } else if byte == b'\\' {
                starts |= 1 << n;
                pending = true;
            }
        }
        (escaped, starts, pending)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn escapes_are_found_as_one_by_one(
            text in prop::collection::vec(prop::sample::select(vec![b'\\', b'a', b'"']), 64),
            first_escaped: bool,
        ) {
            let block = Block::at(&text, 0);
            let found = escapes(block.backslashes, first_escaped);
            prop_assert_eq!(found, escapes_one_by_one(&text, first_escaped));
        }

        #[test]
        fn any_literal_reads_as_serde_json_reads_it(
            literal in r#""([a-z"\\/ é\n]|\\[\\"/bfnrtuq]|\\u[0-9a-fA-FdD]{0,4}){0,160}"?"#,
            offset in 0usize..64,
        ) {
            let ours = reads(&literal);
            if ours.is_some() {
                prop_assert_eq!(&ours, &serde_json_reads(&literal));
            } else if !literal.to_ascii_lowercase().contains("\\ud") {
                // Refused: serde_json refuses it too, but for surrogates, which are the long
                // way's to judge.
                prop_assert_eq!(serde_json_reads(&literal), None);
            }
            let content = literal.strip_prefix('"').and_then(|rest| rest.strip_suffix('"'));
            if let (Some(content), Some(expected)) = (content, ours) {
                prop_assert_eq!(shifted(content, offset), Some(expected));
            }
        }
    }
}
