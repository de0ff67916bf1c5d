//! The partition Event Hubs assigns to a partition key, computed client-side.
//!
//! The service hashes a key with Bob Jenkins' lookup3 (`hashlittle2`, both seeds 0), XORs the two
//! 32-bit results, keeps the low 16 bits as a signed number, and takes its remainder by the
//! partition count. Computing the same here lets the sink send one batch per partition instead of
//! one per twin, while every twin's records land exactly where a keyed send would put them.

/// The index (into the hub's partition ids) that `key` maps to among `partition_count` partitions.
///
/// ```
/// use adt_bridge::sink::partition::partition_index;
/// let i = partition_index("GrindingStep", 4);
/// assert!(i < 4);
/// assert_eq!(i, partition_index("GrindingStep", 4));
/// ```
pub fn partition_index(key: &str, partition_count: usize) -> usize {
    assert!(partition_count > 0, "a hub has at least one partition");
    let hash = hash_code(key);
    (i32::from(hash) % partition_count as i32).unsigned_abs() as usize
}

/// The positions of `keys` grouped by the partition each maps to among `partition_count`
/// partitions (one list per partition, in order; empty lists for partitions no key maps to).
///
/// ```
/// use adt_bridge::sink::partition::{partition_index, positions_by_partition};
/// let groups = positions_by_partition(["a", "b", "a"], 4);
/// assert_eq!(groups.len(), 4);
/// let a = &groups[partition_index("a", 4)];
/// assert!(a.contains(&0) && a.contains(&2));
/// assert_eq!(groups.concat().len(), 3);
/// ```
pub fn positions_by_partition<'k>(
    keys: impl IntoIterator<Item = &'k str>,
    partition_count: usize,
) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); partition_count];
    for (position, key) in keys.into_iter().enumerate() {
        groups[partition_index(key, partition_count)].push(position);
    }
    groups
}

/// The service's 16-bit hash code of a partition key.
pub fn hash_code(key: &str) -> i16 {
    let (c, b) = hashlittle2(key.as_bytes());
    ((c ^ b) as u16) as i16
}

/// lookup3's `hashlittle2` with both seeds 0: returns (c, b).
fn hashlittle2(data: &[u8]) -> (u32, u32) {
    let start = 0xdead_beef_u32.wrapping_add(data.len() as u32);
    let (mut a, mut b, mut c) = (start, start, start);
    let mut rest = data;
    while rest.len() > 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return (c, b);
    }
    let mut tail = [0u8; 12];
    tail[..rest.len()].copy_from_slice(rest);
    a = a.wrapping_add(word(&tail[0..4]));
    b = b.wrapping_add(word(&tail[4..8]));
    c = c.wrapping_add(word(&tail[8..12]));
    finish(&mut a, &mut b, &mut c);
    (c, b)
}

/// Little-endian 32-bit word; a short tail is zero-padded, which is what the byte-wise switch adds.
fn word(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c) ^ c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c) ^ c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn finish(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(14));
    *a = (*a ^ *c).wrapping_sub(c.rotate_left(11));
    *b = (*b ^ *a).wrapping_sub(a.rotate_left(25));
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(16));
    *a = (*a ^ *c).wrapping_sub(c.rotate_left(4));
    *b = (*b ^ *a).wrapping_sub(a.rotate_left(14));
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(24));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hash codes the Event Hubs client libraries publish as test vectors for the service's hash.
    #[test]
    fn matches_the_published_vectors() {
        let cases: [(&str, i16); 12] = [
            ("7", -15263),
            ("131", 30562),
            ("7149583486996073602", 12977),
            ("FWfAT", -22341),
            ("sOdeEAsyQoEuEFPGerWO", -6503),
            ("FAyAIctPeCgmiwLKbJcyswoHglHVjQdvtBowLACDNORsYvOcLddNJYDmhAVkbyLOrHTKLneMNcbgWVlasVywOByANjs", 5226),
            ("1XYM6!(7(lF5wq4k4m*e$Nc!1ezLJv*1YK1Y-C^*&B$O)lq^iUkG(TNzXG;Zi#z2Og*Qq0#^*k):vXh$3,C7We7%W0meJ;b3,rQCg^J;^twXgs5E$$hWKxqp", 23950),
            ("E(x;RRIaQcJs*P;D&jTPau-4K04oqr:lF6Z):ERpo&;9040qyV@G1_c9mgOs-8_8/10Fwa-7b7-yP!T-!IH&968)FWuI;(^g$2fN;)HJ^^yTn:", -29304),
            ("!c*_!I@1^c", 15372),
            ("p4*!jioeO/z-!-;w:dh", -3104),
            ("$0cb", 26269),
            ("-4189260826195535198", 453),
        ];
        for (key, expected) in cases {
            assert_eq!(hash_code(key), expected, "{key}");
        }
    }

    #[test]
    fn every_key_maps_inside_the_partition_range() {
        for count in 1..=32 {
            for key in ["7", "FWfAT", "", "$0cb", "GrindingStep"] {
                assert!(partition_index(key, count) < count);
            }
        }
    }
}
