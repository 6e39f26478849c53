//! The allowed request header names, looked up case-insensitively without
//! lowercasing a copy of the requested name or hashing it with a keyed
//! hasher: one pass over the name's 8-byte words, then at most
//! `max_probe` slots of a table built when the policy loads.

/// A set of lowercase header names.
#[derive(Debug)]
pub(crate) struct NameSet {
    /// The names, lowercase.
    names: Box<[Box<[u8]>]>,
    /// Open addressing, linear probing: 0 is empty, else 1 + an index
    /// into `names`. A power of two long, at most half full.
    slots: Box<[u32]>,
    /// The multiplier chosen at load (the one with the shortest probes).
    seed: u64,
    /// The most slots any lookup visits.
    max_probe: usize,
}

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

/// Folds `name` case-insensitively (`| 0x20` on every byte: it maps
/// `A`-`Z` to `a`-`z` and may merge a few other bytes, which the final
/// comparison tells apart).
#[inline]
fn fold(name: &[u8], seed: u64) -> u64 {
    const LOWER: u64 = 0x2020_2020_2020_2020;
    let mut h = name.len() as u64;
    if name.len() < 8 {
        let mut tail = 0u64;
        for &b in name {
            tail = (tail << 8) | u64::from(b | 0x20);
        }
        return (h ^ tail).wrapping_mul(seed);
    }
    // Whole words, then the last 8 bytes (overlapping the words).
    let mut words = name.chunks_exact(8);
    for w in &mut words {
        h = (h ^ (word(w) | LOWER)).wrapping_mul(seed);
        h ^= h >> 29;
    }
    let last = name.get(name.len() - 8..).unwrap_or_default();
    (h ^ (word(last) | LOWER)).wrapping_mul(seed)
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
        return a == b;
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
        let size = (names.len() * 2).next_power_of_two().max(1);
        let mut best: Option<NameSet> = None;
        for seed in SEEDS {
            let mut slots = vec![0u32; size].into_boxed_slice();
            let mut max_probe = 0;
            for (i, name) in names.iter().enumerate() {
                let mut at = slot(fold(name, seed), size);
                let mut probe = 1;
                while slots.get(at).is_some_and(|s| *s != 0) {
                    at = (at + 1) & (size - 1);
                    probe += 1;
                }
                if let Some(s) = slots.get_mut(at) {
                    *s = i as u32 + 1;
                }
                max_probe = max_probe.max(probe);
            }
            if best.as_ref().is_none_or(|b| max_probe < b.max_probe) {
                best = Some(NameSet {
                    names: Box::default(),
                    slots,
                    seed,
                    max_probe,
                });
            }
            if max_probe <= 2 {
                break;
            }
        }
        let mut set = best.unwrap_or(NameSet {
            names: Box::default(),
            slots: Box::default(),
            seed: SEEDS[0],
            max_probe: 0,
        });
        set.names = names.into_boxed_slice();
        set
    }

    /// The names, lowercase, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.names.iter().map(|n| &**n)
    }

    /// True when `name` (any case) is in the set.
    #[inline]
    pub(crate) fn contains_ignore_case(&self, name: &[u8]) -> bool {
        if self.names.is_empty() {
            return false;
        }
        let size = self.slots.len();
        let mut at = slot(fold(name, self.seed), size);
        for _ in 0..self.max_probe {
            let Some(&s) = self.slots.get(at) else {
                return false;
            };
            let Some(stored) = (s as usize).checked_sub(1).and_then(|i| self.names.get(i)) else {
                return false;
            };
            if stored.len() == name.len()
                && (eq_bytes(stored, name) || stored.eq_ignore_ascii_case(name))
            {
                return true;
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
    ((h >> 1) >> (63 - size.trailing_zeros())) as usize & (size - 1)
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
