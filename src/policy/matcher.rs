//! The compiled origin matcher: cost independent of the number of origins.
//!
//! - exact origins: one hash lookup of the whole serialized origin (or, for
//!   up to `FEW_EXACT` of them, a comparison with each, which is cheaper
//!   than hashing);
//! - `scheme://host:*`: one hash lookup of the host;
//! - `scheme://*.suffix`: one hash lookup per candidate suffix of the
//!   request host, at most as many as the longest suffix in the policy has
//!   labels;
//! - `regex:`: one pass of a single pre-built DFA over the origin.

use std::collections::{HashMap, HashSet};

use foldhash::fast::RandomState;
use regex_automata::dfa::{dense, Automaton};
use regex_automata::{Anchored, Input};

use crate::origin::{Origin, OriginPattern, PortSpec};

/// Most bytes in one `regex:` pattern.
pub const MAX_REGEX_LEN: usize = 1024;
pub use crate::analysis::MAX_REGEX_DFA_BYTES;

/// Up to this many exact origins are compared one by one rather than
/// hashed: a length check and a word-by-word comparison each cost less
/// than hashing the request's origin.
const FEW_EXACT: usize = 4;

/// Which schemes and ports a host (or a suffix) accepts.
type Rules = Vec<(Box<[u8]>, PortSpec)>;

/// The exact origins: compared one by one when there are few, else hashed.
#[derive(Debug)]
enum ExactOrigins {
    Few(Box<[Box<[u8]>]>),
    Hashed(ExactSet),
}

/// Origin patterns compiled into lookup tables.
#[derive(Debug)]
pub struct OriginMatcher {
    any: bool,
    exact: ExactOrigins,
    any_port: HashMap<Box<[u8]>, Rules, RandomState>,
    subdomains: HashMap<Box<[u8]>, Rules, RandomState>,
    max_suffix_labels: usize,
    regex: Option<dense::DFA<Vec<u32>>>,
    /// No pattern but exact origins.
    exact_only: bool,
    /// When the only patterns besides exact origins are subdomain
    /// wildcards: the suffixes whose wildcards admit `http` (0) and
    /// `https` (1) on the default port, for plain origins
    /// ([`OriginMatcher::plain_subdomain_match`]).
    plain_suffixes: Option<Box<[Suffixes; 2]>>,
}

/// The suffixes of subdomain wildcards admitting one scheme: compared one
/// by one with the end of the host when there are few, else hashed.
#[derive(Debug)]
enum Suffixes {
    Few(Box<[Box<[u8]>]>),
    Hashed(ExactSet),
}

impl OriginMatcher {
    /// Compiles parsed patterns. Regex build errors are returned as text
    /// (the patterns were validated one by one before).
    pub fn new(patterns: &[OriginPattern]) -> Result<Self, String> {
        let mut m = OriginMatcher {
            any: false,
            exact: ExactOrigins::Few(Box::default()),
            any_port: HashMap::default(),
            subdomains: HashMap::default(),
            max_suffix_labels: 0,
            regex: None,
            exact_only: false,
            plain_suffixes: None,
        };
        let mut exact: HashSet<Box<[u8]>, RandomState> = HashSet::default();
        let mut regexes = Vec::new();
        for p in patterns {
            match p {
                OriginPattern::Any => m.any = true,
                OriginPattern::Exact(o) => {
                    exact.insert(o.as_bytes().into());
                }
                OriginPattern::AnyPort { scheme, host } => {
                    add_rule(&mut m.any_port, host, scheme, PortSpec::Any);
                }
                OriginPattern::Subdomains {
                    scheme,
                    suffix,
                    port,
                } => {
                    add_rule(&mut m.subdomains, suffix, scheme, *port);
                    m.max_suffix_labels = m.max_suffix_labels.max(suffix.split('.').count());
                }
                OriginPattern::Regex(re) => regexes.push(format!("(?:{re})\\z")),
            }
        }
        if !regexes.is_empty() {
            m.regex = Some(build_regex(&regexes)?);
        }
        m.exact_only = !m.any
            && m.any_port.is_empty()
            && m.subdomains.is_empty()
            && m.max_suffix_labels == 0
            && m.regex.is_none();
        // Every suffix a plain domain (with a letter or `-`: not an IPv4
        // address), as the suffix-first lookup needs.
        let plain_suffixes = m
            .subdomains
            .keys()
            .all(|s| is_plain_host(s) && s.iter().any(|b| !b.is_ascii_digit() && *b != b'.'));
        if !m.any
            && m.any_port.is_empty()
            && m.regex.is_none()
            && !m.subdomains.is_empty()
            && plain_suffixes
        {
            let admitting = |scheme: &[u8]| {
                let suffixes = m.subdomains.iter().filter(|(_, rules)| {
                    rules
                        .iter()
                        .any(|(s, port)| **s == *scheme && port.accepts(None))
                });
                let suffixes: Vec<Box<[u8]>> = suffixes.map(|(s, _)| s.clone()).collect();
                if suffixes.len() <= FEW_EXACT {
                    Suffixes::Few(suffixes.into_boxed_slice())
                } else {
                    Suffixes::Hashed(ExactSet::new(suffixes))
                }
            };
            m.plain_suffixes = Some(Box::new([admitting(b"http"), admitting(b"https")]));
        }
        m.exact = if exact.len() <= FEW_EXACT {
            ExactOrigins::Few(exact.into_iter().collect())
        } else {
            ExactOrigins::Hashed(ExactSet::new(exact.into_iter().collect()))
        };
        Ok(m)
    }

    /// True when `*` is among the patterns.
    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// True when `raw` is byte for byte one of the exact origins (which
    /// were all validated as serialized origins when the policy loaded).
    #[inline(always)]
    pub fn matches_exact(&self, raw: &[u8]) -> bool {
        match &self.exact {
            ExactOrigins::Few(few) => few.iter().any(|o| super::names::eq_bytes(o, raw)),
            ExactOrigins::Hashed(set) => set.contains(raw),
        }
    }

    /// True when only exact origins are allowed (no `*`, wildcard, port
    /// wildcard or regex).
    #[inline]
    pub fn exact_only(&self) -> bool {
        self.exact_only
    }

    /// For a policy whose only patterns besides exact origins are
    /// subdomain wildcards, and an origin of the plain shape
    /// ([`is_plain_origin`]) whose host is a domain: whether a wildcard
    /// allows it, found without parsing it (the suffixes of its host looked
    /// up in the tables of its scheme). None otherwise: ask
    /// [`OriginMatcher::matches_inexact`] with the parsed origin.
    #[inline]
    pub fn plain_subdomain_match(&self, raw: &[u8]) -> Option<bool> {
        let tables = self.plain_suffixes.as_deref()?;
        // An allowed origin, as often as not: the host ends with `.` and a
        // suffix of the policy (a plain domain, checked at load), so only
        // the labels before it are left to check.
        let (https, host) = plain_scheme(raw)?;
        if let Some(Suffixes::Few(few)) = tables.get(usize::from(https)) {
            let found = few.iter().any(|s| {
                let Some(labels) = host.len().checked_sub(s.len() + 1) else {
                    return false;
                };
                host.get(labels) == Some(&b'.')
                    && super::names::eq_bytes(host.get(labels + 1..).unwrap_or_default(), s)
                    && host
                        .get(..labels)
                        .is_some_and(|p| p.last() != Some(&b'.') && is_plain_host(p))
            });
            if found {
                return Some(true);
            }
        }
        if !is_plain_host(host) {
            return None;
        }
        // Not a domain: digits and dots only (an IPv4 address).
        if host
            .last()
            .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
            && host.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        {
            return None;
        }
        let table = match tables.get(usize::from(https))? {
            // A host ending with `.` and a suffix: the suffix is found by
            // `matches_subdomain` too, at most as many dots from the right
            // as it has labels.
            Suffixes::Few(few) => {
                return Some(few.iter().any(|s| {
                    host.len() > s.len()
                        && host.get(host.len() - s.len() - 1) == Some(&b'.')
                        && super::names::eq_bytes(
                            host.get(host.len() - s.len()..).unwrap_or_default(),
                            s,
                        )
                }));
            }
            Suffixes::Hashed(set) => set,
        };
        // As `matches_subdomain`.
        Some(suffixes_after_dots(host, self.max_suffix_labels).any(|s| table.contains(s)))
    }

    /// True when the parsed request origin matches a pattern.
    pub fn matches(&self, origin: &Origin<'_>) -> bool {
        self.any || self.matches_exact(origin.raw) || self.matches_inexact(origin)
    }

    /// True when the parsed request origin matches a pattern other than
    /// an exact origin (the caller has compared those already).
    #[inline]
    pub fn matches_inexact(&self, origin: &Origin<'_>) -> bool {
        if self.any {
            return true;
        }
        if !self.any_port.is_empty() {
            if let Some(rules) = self.any_port.get(origin.host) {
                if accepts(rules, origin) {
                    return true;
                }
            }
        }
        if self.max_suffix_labels > 0 && origin.host_is_domain() && self.matches_subdomain(origin) {
            return true;
        }
        match &self.regex {
            Some(dfa) => {
                let input = Input::new(origin.raw)
                    .anchored(Anchored::Yes)
                    .earliest(true);
                matches!(dfa.try_search_fwd(&input), Ok(Some(_)))
            }
            None => false,
        }
    }

    /// Tries the suffixes of the host after its 1st, 2nd … dot from the
    /// right, up to the most labels any policy suffix has.
    fn matches_subdomain(&self, origin: &Origin<'_>) -> bool {
        // A host has no empty label, so what precedes a suffix is a
        // non-empty prefix.
        suffixes_after_dots(origin.host, self.max_suffix_labels).any(|s| {
            self.subdomains
                .get(s)
                .is_some_and(|rules| accepts(rules, origin))
        })
    }
}

/// The parts of `host` after its 1st, 2nd … dot from the right, up to
/// `max_labels` of them (the most labels any policy suffix has).
#[inline]
fn suffixes_after_dots(host: &[u8], max_labels: usize) -> impl Iterator<Item = &[u8]> {
    host.iter()
        .enumerate()
        .rev()
        .filter(|&(_, &b)| b == b'.')
        .take(max_labels)
        .map(move |(i, _)| host.get(i + 1..).unwrap_or_default())
}

/// Many exact origins: an open-addressing table built when the policy
/// loads, hashed 8 bytes at a time and compared word by word (no `memcmp`
/// call, no keyed hasher: the policy's origins are not chosen by the
/// request, and a lookup visits at most `max_probe` slots).
#[derive(Debug)]
struct ExactSet {
    origins: Box<[Box<[u8]>]>,
    /// 0 is empty, else 1 + an index into `origins`. A power of two long,
    /// at most half full.
    slots: Box<[u32]>,
    /// 64 minus the table's size in bits.
    shift: u32,
    max_probe: usize,
}

impl ExactSet {
    fn new(origins: Vec<Box<[u8]>>) -> ExactSet {
        let size = (origins.len() * 2).next_power_of_two().max(2);
        let shift = 64 - size.trailing_zeros();
        let mut slots = vec![0u32; size].into_boxed_slice();
        let mut max_probe = 0;
        for (i, o) in origins.iter().enumerate() {
            let mut at = (origin_hash(o) >> shift) as usize;
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
        ExactSet {
            origins: origins.into_boxed_slice(),
            slots,
            shift,
            max_probe,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.origins.len()
    }

    #[inline]
    fn contains(&self, raw: &[u8]) -> bool {
        let size = self.slots.len();
        let mut at = (origin_hash(raw) >> self.shift) as usize;
        for _ in 0..self.max_probe {
            let Some(&s) = self.slots.get(at) else {
                return false;
            };
            let Some(o) = (s as usize)
                .checked_sub(1)
                .and_then(|i| self.origins.get(i))
            else {
                return false;
            };
            if super::names::eq_bytes(o, raw) {
                return true;
            }
            at = (at + 1) & (size - 1);
        }
        false
    }
}

/// A hash of `b`, 8 bytes at a time (the last word overlapping the one
/// before).
#[inline]
fn origin_hash(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |h: u64, w: u64| {
        let h = (h ^ w).wrapping_mul(K);
        h ^ (h >> 29)
    };
    let n = b.len();
    let mut h = n as u64;
    if n < 8 {
        return mix(h, super::names::short_word(b)).wrapping_mul(K);
    }
    let mut at = 0;
    while let Some(w) = b.get(at..).and_then(|r| r.first_chunk::<8>()) {
        if at + 8 >= n {
            break;
        }
        h = mix(h, u64::from_le_bytes(*w));
        at += 8;
    }
    let last = b.last_chunk::<8>().map_or(0, |w| u64::from_le_bytes(*w));
    mix(h, last).wrapping_mul(K)
}

fn add_rule(
    table: &mut HashMap<Box<[u8]>, Rules, RandomState>,
    key: &str,
    scheme: &str,
    port: PortSpec,
) {
    let rules = table.entry(key.as_bytes().into()).or_default();
    let rule = (Box::<[u8]>::from(scheme.as_bytes()), port);
    if !rules.contains(&rule) {
        rules.push(rule);
    }
}

fn accepts(rules: &Rules, origin: &Origin<'_>) -> bool {
    rules
        .iter()
        .any(|(scheme, port)| **scheme == *origin.scheme && port.accepts(origin.port))
}

/// Builds one anchored DFA for every regex pattern: linear-time search, no
/// allocation at match time, size-capped at build time (the bounds are
/// those of [`crate::analysis`]).
pub fn build_regex(patterns: &[String]) -> Result<dense::DFA<Vec<u32>>, String> {
    crate::analysis::automaton::build(
        patterns,
        MAX_REGEX_DFA_BYTES,
        crate::analysis::automaton::NFA_BYTES * 2,
    )
}

/// True when `raw` is surely a serialized origin, by a quicker test than
/// [`crate::origin::parse_request_origin`] for the common shape:
/// `https://` or `http://`, then a host of `[a-z0-9-]` labels separated by
/// single dots (a trailing dot allowed), no port. Every origin this
/// accepts, the parser accepts too (a test checks); for the others, ask
/// the parser.
#[inline]
pub fn is_plain_origin(raw: &[u8]) -> bool {
    plain_origin(raw).is_some()
}

/// For an origin [`is_plain_origin`] accepts: whether its scheme is
/// `https` (else `http`), and its host.
#[inline]
fn plain_origin(raw: &[u8]) -> Option<(bool, &[u8])> {
    let (https, host) = plain_scheme(raw)?;
    is_plain_host(host).then_some((https, host))
}

/// For `raw` no longer than an origin may be and starting with
/// `https://` or `http://`: whether it is `https`, and what follows.
#[inline]
fn plain_scheme(raw: &[u8]) -> Option<(bool, &[u8])> {
    if raw.len() > crate::origin::MAX_ORIGIN_LEN {
        return None;
    }
    // The scheme and `://` as one word: `https://`, or `http://` and the
    // host's first byte.
    let head = raw.first_chunk::<8>().map(|w| u64::from_le_bytes(*w))?;
    let (https, host) = if head == u64::from_le_bytes(*b"https://") {
        (true, raw.get(8..).unwrap_or_default())
    } else if head & 0x00ff_ffff_ffff_ffff == u64::from_le_bytes(*b"http://\0") {
        (false, raw.get(7..).unwrap_or_default())
    } else {
        return None;
    };
    Some((https, host))
}

/// `host` is `[a-z0-9-]` labels separated by single dots, a trailing dot
/// allowed, not empty (the host of a plain origin).
#[inline]
fn is_plain_host(host: &[u8]) -> bool {
    let n = host.len();
    if n < 8 {
        // One word: the bytes, then `a` (allowed, not a dot) in the rest.
        let w = match n {
            0 => return false,
            1..=3 => host.iter().rev().fold(0u64, |w, &b| w << 8 | u64::from(b)),
            _ => {
                let four = |at: usize| {
                    host.get(at..)
                        .and_then(|r| r.first_chunk::<4>())
                        .map_or(0, |w| u64::from(u32::from_le_bytes(*w)))
                };
                // Two overlapping reads: a byte read twice is OR-ed with itself.
                four(0) | four(n - 4) << (8 * (n - 4))
            }
        };
        let w = w | 0x6161_6161_6161_6161u64 << (8 * n);
        let (bad, dots) = host_bytes(w);
        // No leading dot, no two dots side by side.
        return bad | (dots & 0x80) | (dots & (dots >> 8)) == 0;
    }
    if host.first() == Some(&b'.') {
        return false;
    }
    // 8 bytes at a time, the last word overlapping the one before; every
    // word's flags gathered, one test at the end.
    let n = host.len();
    let (mut bad, mut pairs, mut prev_dots) = (0u64, 0u64, 0u64);
    let mut at = 0;
    while at + 8 < n {
        let (b, dots) = host_bytes(read_word(host, at));
        // Two dots side by side: in the word, or across the boundary with
        // the word before (its last byte, this one's first).
        bad |= b;
        pairs |= dots & (dots >> 8) | (prev_dots >> 56 & dots);
        prev_dots = dots;
        at += 8;
    }
    // The last word ends the host: it overlaps the word before unless it
    // starts where that one ended (then the boundary is checked as above).
    let (b, dots) = host_bytes(read_word(host, n - 8));
    bad |= b;
    pairs |= dots & (dots >> 8);
    if at == n - 8 {
        pairs |= prev_dots >> 56 & dots;
    }
    bad | pairs == 0
}

/// The 8 bytes of `b` at `at` as a little-endian word (0 past the end).
#[inline(always)]
fn read_word(b: &[u8], at: usize) -> u64 {
    b.get(at..)
        .and_then(|r| r.first_chunk::<8>())
        .map_or(0, |w| u64::from_le_bytes(*w))
}

/// For the 8 bytes of `w`: the high bit of each byte that is not one of
/// `[a-z0-9.-]`, and of each byte that is a dot.
#[inline(always)]
fn host_bytes(x: u64) -> (u64, u64) {
    const L: u64 = 0x0101_0101_0101_0101;
    const H: u64 = 0x8080_8080_8080_8080;
    // The low 7 bits of each byte (bytes from 0x80 are refused by `!x`
    // below); adding `0x80 - c` to one sets its high bit exactly when it
    // is `c` or more, and never carries into the next byte.
    let t = x & !H;
    let at_least = |c: u64| t + (0x80 - c) * L;
    // Adding 0x7f to `t ^ c` sets the high bit unless the byte is `c`.
    let is = |c: u64| !((t ^ (c * L)) + 0x7f * L);
    let lower = at_least(0x61) & !at_least(0x7b);
    let digits = at_least(0x30) & !at_least(0x3a);
    let dots = is(0x2e) & !x & H;
    let ok = (lower | digits | is(0x2d)) & !x & H | dots;
    (!ok & H, dots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::{parse_pattern, parse_request_origin};

    fn matcher(patterns: &[&str]) -> OriginMatcher {
        let parsed: Vec<_> = patterns.iter().map(|p| parse_pattern(p).unwrap()).collect();
        OriginMatcher::new(&parsed).unwrap()
    }

    fn check(m: &OriginMatcher, origin: &str) -> bool {
        m.matches(&parse_request_origin(origin.as_bytes()).unwrap())
    }

    #[test]
    fn exact_origins_listed_only_when_few() {
        let four = matcher(&[
            "https://a.com",
            "https://b.com",
            "https://c.com",
            "https://d.com",
        ]);
        assert!(matches!(&four.exact, ExactOrigins::Few(f) if f.len() == FEW_EXACT));
        let five = matcher(&[
            "https://a.com",
            "https://b.com",
            "https://c.com",
            "https://d.com",
            "https://e.com",
        ]);
        assert!(matches!(&five.exact, ExactOrigins::Hashed(h) if h.len() == 5));
    }

    macro_rules! matching {
        ($($name:ident: $patterns:expr, yes: $yes:expr, no: $no:expr;)*) => {$(
            #[test]
            fn $name() {
                let m = matcher(&$patterns);
                for o in $yes { assert!(check(&m, o), "{o} should match {:?}", $patterns); }
                for o in $no { assert!(!check(&m, o), "{o} should not match {:?}", $patterns); }
            }
        )*};
    }

    matching! {
        few_exact_compared_one_by_one: ["https://a.com", "https://b.com", "https://c.com", "https://dd.com"],
            yes: ["https://a.com", "https://b.com", "https://c.com", "https://dd.com"],
            no: ["https://d.com", "https://ddd.com", "https://a.co", "http://a.com", "https://a.com:1"];
        more_exact_hashed: ["https://a.com", "https://b.com", "https://c.com", "https://dd.com", "https://e.com"],
            yes: ["https://a.com", "https://dd.com", "https://e.com"],
            no: ["https://d.com", "https://ddd.com", "https://a.co", "http://e.com"];
        exact: ["https://app.example.com"],
            yes: ["https://app.example.com"],
            no: ["http://app.example.com", "https://app.example.com:8443", "https://evilapp.example.com",
                 "https://app.example.com.evil.net", "https://example.com"];
        subdomains: ["https://*.example.com"],
            yes: ["https://a.example.com", "https://a.b.example.com"],
            no: ["https://example.com", "https://evilexample.com", "http://a.example.com",
                 "https://a.example.com:8443", "https://a.example.com.evil.net", "https://a.example.co"];
        subdomains_fixed_port: ["https://*.example.com:8443"],
            yes: ["https://a.example.com:8443"],
            no: ["https://a.example.com", "https://a.example.com:8444"];
        subdomains_any_port: ["https://*.example.com:*"],
            yes: ["https://a.example.com", "https://a.example.com:1"],
            no: ["https://example.com:1"];
        deep_suffix: ["https://*.a.b.c.example.com"],
            yes: ["https://x.a.b.c.example.com"],
            no: ["https://a.b.c.example.com", "https://x.b.c.example.com"];
        any_port: ["http://localhost:*"],
            yes: ["http://localhost", "http://localhost:3000"],
            no: ["https://localhost:3000", "http://app.localhost:3000", "http://localhost.evil.net"];
        regex: ["regex:https://(app|admin)\\.example\\.com"],
            yes: ["https://app.example.com", "https://admin.example.com"],
            no: ["https://app.example.com.evil.net", "https://xapp.example.com", "https://app.example.co"];
        any: ["*"], yes: ["https://anything.test", "http://[::1]:1"], no: [] as [&str; 0];
    }

    #[test]
    fn many_origins() {
        // Origins alike but for a few bytes in the middle, and their
        // neighbours that are not listed.
        let near: Vec<String> = (0..100_000)
            .map(|i| format!("https://app{i}.example.org"))
            .collect();
        let refs: Vec<&str> = near.iter().map(String::as_str).collect();
        let m = matcher(&refs);
        for o in &near {
            assert!(m.matches_exact(o.as_bytes()), "{o}");
        }
        for i in 100_000..101_000 {
            assert!(!m.matches_exact(format!("https://app{i}.example.org").as_bytes()));
        }
        assert!(matches!(&m.exact, ExactOrigins::Hashed(h) if h.max_probe <= 32));
        let patterns: Vec<String> = (0..10_000)
            .map(|i| format!("https://o{i}.example.com"))
            .collect();
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let m = matcher(&refs);
        assert!(check(&m, "https://o9999.example.com"));
        assert!(!check(&m, "https://o10000.example.com"));
    }

    #[test]
    fn plain_subdomain_match_agrees_with_the_parsed_match() {
        let policies: [&[&str]; 5] = [
            &["https://*.example.com"],
            &[
                "https://a.com",
                "https://*.example.com",
                "http://*.b.example.com",
            ],
            &[
                "https://*.a.b.c",
                "http://*.c:8080",
                "https://*.example.com.",
            ],
            &[
                "https://a.com",
                "https://*.example.com",
                "https://any.com:*",
            ],
            &[
                "https://*.example.com",
                "https://*.b.example.com",
                "https://*.c",
                "https://*.x.c",
                "https://*.example.com.",
                "http://*.a.b.c",
                "https://*.a.b.c",
            ],
        ];
        let hosts = [
            "example.com",
            "a.example.com",
            "x.y.example.com",
            "aexample.com",
            "a.b.example.com",
            "example.com.",
            "a.example.com.",
            "a.b.c",
            "x.a.b.c",
            "x.c",
            "a.com.",
            "x.com.",
            "1.2",
            "3.1.2",
            "x.1.2",
            "1.2.3.4",
            "com",
            "a-b.example.com",
            "localhost",
            "A.example.com",
            "a..example.com",
            ".example.com",
            "a_b.example.com",
            "-a.example.com",
            "abcdefghijkl.example.com",
            "ab.cd.example.com",
            "abcdefgh..ijk.example.com",
            "a.example.com:8080",
            "x.a.b.c:8080",
            "x.c:8080",
        ];
        for patterns in policies {
            let m = matcher(patterns);
            for scheme in ["https://", "http://"] {
                for host in hosts {
                    let raw = format!("{scheme}{host}");
                    let Some(fast) = m.plain_subdomain_match(raw.as_bytes()) else {
                        continue;
                    };
                    let parsed = parse_request_origin(raw.as_bytes()).unwrap();
                    assert_eq!(fast, m.matches_inexact(&parsed), "{patterns:?} {raw}");
                }
            }
        }
        // Only policies of exact origins and subdomain wildcards answer.
        let m = matcher(&["https://*.example.com", "regex:https://x\\.com"]);
        assert_eq!(m.plain_subdomain_match(b"https://a.example.com"), None);
        let m = matcher(&["https://*.example.com"]);
        assert_eq!(
            m.plain_subdomain_match(b"https://a.example.com"),
            Some(true)
        );
        assert_eq!(
            m.plain_subdomain_match(b"https://a.example.org"),
            Some(false)
        );
        assert_eq!(m.plain_subdomain_match(b"https://A.example.com"), None);
        assert_eq!(m.plain_subdomain_match(b"https://1.2.3.4"), None);
    }

    #[test]
    fn host_bytes_classifies_every_byte_at_every_place() {
        for b in 0..=255u8 {
            let allowed = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
            for at in 0..8 {
                // The other bytes allowed, one of them a dot, the other `a`.
                let mut w = [b'a'; 8];
                w[(at + 3) % 8] = b'.';
                w[at] = b;
                let (bad, dots) = host_bytes(u64::from_le_bytes(w));
                let bit = 0x80u64 << (8 * at);
                assert_eq!(bad & bit != 0, !allowed, "{b:#x} at {at}");
                assert_eq!(dots & bit != 0, b == b'.', "{b:#x} at {at}");
                assert_eq!(bad & !bit, 0, "{b:#x} at {at}");
                assert_eq!(
                    dots & !bit,
                    0x80u64 << (8 * ((at + 3) % 8)),
                    "{b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn plain_hosts_as_defined() {
        // Every host of up to 9 bytes from a small alphabet, against the
        // definition: not empty, `[a-z0-9.-]`, no leading dot, no `..`.
        let alphabet = b"a.-0_";
        for len in 0..=9u32 {
            for mut code in 0..(alphabet.len() as u32).pow(len) {
                let mut host = Vec::new();
                for _ in 0..len {
                    host.push(alphabet[(code % alphabet.len() as u32) as usize]);
                    code /= alphabet.len() as u32;
                }
                let expected = !host.is_empty()
                    && host.first() != Some(&b'.')
                    && !host.windows(2).any(|w| w == b"..")
                    && host.iter().all(|&b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                    });
                assert_eq!(
                    is_plain_host(&host),
                    expected,
                    "{:?}",
                    String::from_utf8_lossy(&host)
                );
            }
        }
    }

    #[test]
    fn plain_origins_are_origins() {
        let yes = [
            "https://a.example.com",
            "http://localhost",
            "https://a",
            "https://a.b.c.d.e.f.g.h.i.j.k",
            "https://example.com.",
            "https://x-1.example-2.com",
            "https://abcdefgh.ijklmnop",
            "https://abcdefg.hijklmno.qrstuvwx",
            "https://abcdefghijklmno.rstuvwx.",
        ];
        for o in yes {
            assert!(is_plain_origin(o.as_bytes()), "{o}");
        }
        let no = [
            "https://",
            "https://.a.com",
            "https://a..com",
            "https://abcdefg..hijklmn",
            "https://abcdefgh.ijklmno..",
            "https://abcdefg..",
            "https://abcdefg..ijklmno",
            "https://abcdefghijklmno..rstuvwx",
            "https://abcdefghijklmno.rstuvwx..",
            "https://abcdefghijklmnopqrstuvwx.A",
            "https://A.com",
            "https://a.com:443",
            "https://a_b.com",
            "ftp://a.com",
            "https://a.com/",
            "null",
        ];
        for o in no {
            assert!(!is_plain_origin(o.as_bytes()), "{o}");
        }
        // Whatever it accepts, the parser accepts: every string of up to
        // 6 host bytes from a small alphabet, at every word offset.
        let alphabet = b"a-.0:A";
        for pad in [
            "https://",
            "http://",
            "https://abcdefg",
            "http://abcdefgh",
            "https://abcdefghijk",
            "http://abcdefghijklmno",
        ] {
            for len in 0..=6u32 {
                for mut code in 0..(alphabet.len() as u32).pow(len) {
                    let mut o = pad.as_bytes().to_vec();
                    for _ in 0..len {
                        o.push(alphabet[(code % alphabet.len() as u32) as usize]);
                        code /= alphabet.len() as u32;
                    }
                    if is_plain_origin(&o) {
                        assert!(
                            parse_request_origin(&o).is_ok(),
                            "{:?}",
                            String::from_utf8_lossy(&o)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn regex_size_cap() {
        // The classic DFA blow-up: 2^20 states.
        let huge = vec!["[ab]*a[ab]{20}".to_owned()];
        assert!(build_regex(&huge).is_err());
    }
}
