//! The allowed request header names, looked up case-insensitively without
//! lowercasing a copy of the requested name or hashing it with a keyed
//! hasher: the name's first and last 8 bytes (and its length) pick a slot
//! of a table built when the policy loads, whose entry holds the same
//! words of the listed name, so a lowercase name is compared without
//! reading the listed one. The table is made collision-free when the
//! policy loads if a multiplier found there allows; otherwise a lookup
//! visits at most `max_probe` slots.

/// A set of lowercase header names.
#[derive(Debug)]
pub(crate) struct NameSet {
    /// The names, lowercase.
    names: Box<[Box<[u8]>]>,
    /// Open addressing, linear probing. A power of two long, at most half
    /// full.
    slots: Box<[Slot]>,
    /// The multiplier chosen at load (the one with the shortest probes).
    seed: u64,
    /// The most slots any lookup visits.
    max_probe: usize,
}

/// One slot: a listed name's length (0: empty), its [`ends`] and where it
/// is in `names`.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    len: u32,
    index: u32,
    first: u64,
    last: u64,
}

/// `| LOWER` maps `A`-`Z` to `a`-`z` in each byte of a word.
const LOWER: u64 = 0x2020_2020_2020_2020;

/// Multipliers tried at load: odd 64-bit constants.
const SEEDS: [u64; 8] = [
    0x9E37_79B9_7F4A_7C15,
    0xC2B2_AE3D_27D4_EB4F,
    0x1656_67B1_9E37_79F9,
    0xFF51_AFD7_ED55_8CCD,
    0xC4CE_B9FE_1A85_EC53,
    0x8CB9_2BA7_2F3D_8DD7,
    0xD6E8_FEB8_6659_FD93,
    0xA076_1D64_78BD_642F,
];

/// The first and the last 8 bytes of `name` as words (for a shorter name,
/// twice one word holding all its bytes): with the length, they are the
/// whole name up to 16 bytes.
#[inline]
fn ends(name: &[u8]) -> (u64, u64) {
    let n = name.len();
    if n < 8 {
        let w = short_word(name);
        return (w, w);
    }
    (word(name), word(name.get(n - 8..).unwrap_or_default()))
}

/// The hash of a name from its length and [`ends`], case-insensitively
/// (`| 0x20` on every byte maps `A`-`Z` to `a`-`z`; the few other bytes it
/// merges are told apart by the comparison).
#[inline]
fn fold(len: usize, (first, last): (u64, u64), seed: u64) -> u64 {
    ((first | LOWER) ^ (last | LOWER).rotate_left(29) ^ len as u64).wrapping_mul(seed)
}

/// The bytes of `b` (shorter than 8) in one word, without a loop: for
/// strings of one length, different strings give different words.
#[inline]
pub(crate) fn short_word(b: &[u8]) -> u64 {
    let n = b.len();
    let four = |w: Option<&[u8]>| {
        w.and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, u32::from_le_bytes)
    };
    if n >= 4 {
        // Two overlapping 4-byte reads cover every byte.
        u64::from(four(b.get(..4))) | (u64::from(four(b.get(n - 4..))) << 32)
    } else if let (Some(&first), Some(&mid), Some(&last)) = (b.first(), b.get(n / 2), b.last()) {
        u64::from(first) | (u64::from(mid) << 8) | (u64::from(last) << 16)
    } else {
        0
    }
}

/// The first 8 bytes of `b` (at least 8 long) as a little-endian word.
#[inline]
fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    if let Some(b) = b.get(..8) {
        w.copy_from_slice(b);
    }
    u64::from_le_bytes(w)
}

/// `a == b`, without a call to `memcmp` for the short strings compared
/// here (origins, header names, methods): 8 bytes at a time.
#[inline]
pub(crate) fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return short_word(a) == short_word(b);
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        if word(p) != word(q) {
            return false;
        }
    }
    let n = a.len() - 8;
    word(a.get(n..).unwrap_or_default()) == word(b.get(n..).unwrap_or_default())
}

impl NameSet {
    /// A set of these lowercase, distinct names.
    pub(crate) fn new(names: Vec<Box<[u8]>>) -> Self {
        let base = (names.len() * 2).next_power_of_two().max(2);
        let mut best: Option<(Box<[Slot]>, u64, usize)> = None;
        // Up to 8 times as many slots as names, for a table where every
        // lookup reads one slot.
        'search: for size in [base, base * 2, base * 4] {
            for seed in SEEDS {
                let mut slots = vec![Slot::default(); size].into_boxed_slice();
                let mut max_probe = 0;
                for (i, name) in names.iter().enumerate() {
                    let ends = ends(name);
                    let mut at = slot(fold(name.len(), ends, seed), size);
                    let mut probe = 1;
                    while slots.get(at).is_some_and(|s| s.len != 0) {
                        at = (at + 1) & (size - 1);
                        probe += 1;
                    }
                    if let Some(s) = slots.get_mut(at) {
                        *s = Slot {
                            len: name.len() as u32,
                            index: i as u32,
                            first: ends.0,
                            last: ends.1,
                        };
                    }
                    max_probe = max_probe.max(probe);
                }
                if best.as_ref().is_none_or(|b| max_probe < b.2) {
                    best = Some((slots, seed, max_probe));
                }
                if max_probe <= 1 {
                    break 'search;
                }
            }
        }
        let (slots, seed, max_probe) = best.unwrap_or_default();
        NameSet {
            names: names.into_boxed_slice(),
            slots,
            seed,
            max_probe,
        }
    }

    /// The names, lowercase, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.names.iter().map(|n| &**n)
    }

    /// True when `name` (any case) is in the set.
    #[inline(always)]
    pub(crate) fn contains_ignore_case(&self, name: &[u8]) -> bool {
        let size = self.slots.len();
        if size == 0 {
            return false;
        }
        let ends = ends(name);
        let at = slot(fold(name.len(), ends, self.seed), size);
        // Byte-equal (lowercase, as browsers send) in the first slot: the
        // two words are the whole name up to 16 bytes.
        if let Some(s) = self.slots.get(at) {
            if s.len as usize == name.len()
                && s.first == ends.0
                && s.last == ends.1
                && name.len() <= 16
            {
                return true;
            }
        }
        self.contains_from(at, name, ends)
    }

    /// The rest of [`NameSet::contains_ignore_case`], from slot `at`:
    /// other cases, longer names, further slots.
    #[cold]
    #[inline(never)]
    fn contains_from(&self, mut at: usize, name: &[u8], ends: (u64, u64)) -> bool {
        let size = self.slots.len();
        for _ in 0..self.max_probe {
            let Some(s) = self.slots.get(at) else {
                return false;
            };
            if s.len as usize == name.len() {
                if s.first == ends.0 && s.last == ends.1 && name.len() <= 16 {
                    return true;
                }
                // Names equal in any case have equal folded words: only
                // those are compared byte by byte.
                if (s.first | LOWER) == (ends.0 | LOWER) && (s.last | LOWER) == (ends.1 | LOWER) {
                    let stored = self.names.get(s.index as usize).map_or(&[][..], |n| &**n);
                    if eq_bytes(stored, name) || stored.eq_ignore_ascii_case(name) {
                        return true;
                    }
                }
            } else if s.len == 0 {
                return false;
            }
            at = (at + 1) & (size - 1);
        }
        false
    }
}

/// The slot of hash `h` in a table of `size` (a power of two): its top
/// bits, which every bit of the folded name reaches.
#[inline]
fn slot(h: u64, size: usize) -> usize {
    // `size` is at least 2, so the shift is below 64.
    (h >> (64 - size.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> NameSet {
        NameSet::new(names.iter().map(|n| n.as_bytes().into()).collect())
    }

    #[test]
    fn any_case_members_only() {
        let s = set(&["content-type", "authorization", "x-request-id", "x-^"]);
        for n in [
            "content-type",
            "Content-Type",
            "AUTHORIZATION",
            "x-request-id",
            "x-^",
        ] {
            assert!(s.contains_ignore_case(n.as_bytes()), "{n}");
        }
        // `~` and `^` fold alike; the comparison tells them apart.
        for n in ["content-typ", "x-request-ie", "x-~", "", "x-request-id-"] {
            assert!(!s.contains_ignore_case(n.as_bytes()), "{n}");
        }
        assert!(!set(&[]).contains_ignore_case(b"a"));
    }

    #[test]
    fn long_names_compared_whole() {
        // Same length, first and last 8 bytes: only the middle differs.
        let s = set(&["x-customaaaaaaaa-headers", "x-custombbbbbbbb-headers"]);
        for n in [
            "x-customaaaaaaaa-headers",
            "x-custombbbbbbbb-headers",
            "X-CustomBBBBBBBB-Headers",
        ] {
            assert!(s.contains_ignore_case(n.as_bytes()), "{n}");
        }
        for n in [
            "x-customcccccccc-headers",
            "x-customaaaaaaa-headers",
            "x-custom\raaaaaaa-headers",
        ] {
            assert!(!s.contains_ignore_case(n.as_bytes()), "{n}");
        }
        // 9 to 16 bytes: the two words are the whole name.
        let s = set(&["x-request-id", "content-type"]);
        assert!(s.contains_ignore_case(b"Content-Type"));
        assert!(!s.contains_ignore_case(b"content-typf"));
        // `\r` | 0x20 is `-`: told apart by the comparison.
        assert!(!s.contains_ignore_case(b"x\rrequest-id"));
    }

    #[test]
    fn equal_bytes() {
        for (a, b) in [
            ("", ""),
            ("abc", "abc"),
            ("https://a.example", "https://a.example"),
        ] {
            assert!(eq_bytes(a.as_bytes(), b.as_bytes()), "{a}");
        }
        for (a, b) in [
            ("abc", "abd"),
            ("abc", "abcd"),
            ("https://a.example", "https://b.example"),
            ("https://a.example", "https://a.examplf"),
            ("0123456789abcdef", "0123456789abcdeg"),
        ] {
            assert!(!eq_bytes(a.as_bytes(), b.as_bytes()), "{a}");
        }
    }

    #[test]
    fn many_names_probe_briefly() {
        let names: Vec<String> = (0..1000).map(|i| format!("x-header-{i}")).collect();
        let s = NameSet::new(names.iter().map(|n| n.as_bytes().into()).collect());
        assert!(s.max_probe <= 16, "{}", s.max_probe);
        for n in &names {
            assert!(s.contains_ignore_case(n.to_uppercase().as_bytes()), "{n}");
        }
        assert!(!s.contains_ignore_case(b"x-header-1000"));
    }
}
