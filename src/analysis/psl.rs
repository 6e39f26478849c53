//! The Public Suffix List as rules one can walk, not only look up.
//!
//! The `psl` crate answers "what is the public suffix of this name", which
//! cannot tell whether some suffix lies *below* a name (`s3.amazonaws.com`
//! below `amazonaws.com`) without guessing labels. So the list itself is
//! shipped: `data/public_suffix_list.dat` is the rule file of the `psl`
//! crate version this crate pins (`psl = "=2.1.247"`, its `data/rules.txt`),
//! turned into ASCII (punycode) by `build_psl.rs`. A test checks that every
//! ASCII rule gives the same answer here as in the `psl` crate.

use std::collections::HashMap;
use std::sync::OnceLock;

use foldhash::fast::RandomState;

static RULES: &str = include_str!(concat!(env!("OUT_DIR"), "/psl.txt"));

/// What a line of the list says about a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `s3.amazonaws.com`: a public suffix.
    Normal,
    /// `*.kawasaki.jp`: every label under the name is one.
    Wildcard,
    /// `!city.kawasaki.jp`: not one, despite a wildcard.
    Exception,
}

/// The rules, as sets for lookups and sorted by reversed name
/// (`com.amazonaws.s3`, as `build_psl.rs` wrote them) for walking what lies
/// below a name.
struct List {
    /// What the rules naming each name say: [`NORMAL`], [`WILDCARD`],
    /// [`EXCEPTION`] bits, so that one lookup per suffix answers all three.
    kinds: HashMap<&'static str, u8, RandomState>,
    by_reversed: Vec<(&'static str, Kind, &'static str)>,
}

/// [`List::kinds`] bit: `name` is a rule.
const NORMAL: u8 = 1;
/// [`List::kinds`] bit: `*.name` is a rule.
const WILDCARD: u8 = 2;
/// [`List::kinds`] bit: `!name` is a rule.
const EXCEPTION: u8 = 4;

impl List {
    fn kinds(&self, name: &str) -> u8 {
        self.kinds.get(name).copied().unwrap_or(0)
    }
}

fn list() -> &'static List {
    static LIST: OnceLock<List> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut l = List {
            kinds: HashMap::default(),
            by_reversed: Vec::with_capacity(RULES.len() / 40),
        };
        for line in RULES.lines() {
            let mut fields = line.split('\t');
            let (Some(reversed), Some(kind), Some(name)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let kind = match kind {
                "w" => Kind::Wildcard,
                "e" => Kind::Exception,
                _ => Kind::Normal,
            };
            *l.kinds.entry(name).or_default() |= match kind {
                Kind::Normal => NORMAL,
                Kind::Wildcard => WILDCARD,
                Kind::Exception => EXCEPTION,
            };
            l.by_reversed.push((reversed, kind, name));
        }
        l
    })
}

/// `s3.amazonaws.com` → `com.amazonaws.s3`.
fn reversed(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, label) in name.rsplit('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(label);
    }
    out
}

/// The rules whose name is `base` or lies below it, in reversed order.
fn at_or_below(base: &str) -> Vec<&'static (&'static str, Kind, &'static str)> {
    // Most names (every wildcard base a user lists) have no rule below
    // them: one binary search over the reversed name, built on the stack,
    // says so without allocating.
    let mut buf = [0u8; 256];
    let Some(key) = reversed_into(base, &mut buf) else {
        return walk_below(base);
    };
    let l = list();
    let start = l
        .by_reversed
        .partition_point(|(r, _, _)| r.as_bytes() < key);
    match l.by_reversed.get(start) {
        Some((r, _, _)) if r.as_bytes().starts_with(key) => walk_below(base),
        _ => Vec::new(),
    }
}

/// [`reversed`] into `buf`, or `None` when it does not fit.
fn reversed_into<'b>(name: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let out = buf.get_mut(..name.len())?;
    // Each label of `name`, from the right, goes to the left of `out`.
    let (mut at, mut end) = (0, name.len());
    for (i, &b) in name.as_bytes().iter().enumerate().rev() {
        if b == b'.' {
            let label = name.as_bytes().get(i + 1..end)?;
            out.get_mut(at..at + label.len())?.copy_from_slice(label);
            *out.get_mut(at + label.len())? = b'.';
            at += label.len() + 1;
            end = i;
        }
    }
    out.get_mut(at..)?
        .copy_from_slice(name.as_bytes().get(..end)?);
    Some(out)
}

/// [`at_or_below`] by walking the sorted rules, without the shortcut.
fn walk_below(base: &str) -> Vec<&'static (&'static str, Kind, &'static str)> {
    let l = list();
    let key = reversed(base);
    let below = format!("{key}.");
    let start = l.by_reversed.partition_point(|(r, _, _)| *r < key.as_str());
    l.by_reversed[start..]
        .iter()
        // Every name starting with `key` is here, `jp.kawasaki-x` (a
        // sibling: '-' sorts before '.') among them; keep `key` and below.
        .take_while(|(r, _, _)| r.starts_with(key.as_str()))
        .filter(|(r, _, _)| *r == key || r.starts_with(below.as_str()))
        .collect()
}

/// The public suffix of `host` (the longest matching rule, exceptions
/// winning, the implicit `*` rule for unknown top-level labels), and
/// whether a listed rule (not the implicit one) decided it.
pub fn public_suffix(host: &str) -> (&str, bool) {
    let host = host.strip_suffix('.').unwrap_or(host);
    let l = list();
    // The start of the suffix of 1, 2, … labels, from the right; no
    // allocation.
    let label_before = |end: usize| {
        host.as_bytes()
            .get(..end)
            .and_then(|b| b.iter().rposition(|&c| c == b'.'))
            .map_or(0, |dot| dot + 1)
    };
    let mut start = label_before(host.len());
    let mut best = (start, false);
    // The suffix one label shorter, and what the rules say about it.
    let mut shorter: Option<usize> = None;
    let mut shorter_kinds = 0;
    loop {
        let kinds = l.kinds(&host[start..]);
        if kinds & EXCEPTION != 0 {
            // The exception's parent is the suffix, whatever else matches.
            best = (shorter.unwrap_or(start), true);
            break;
        }
        if kinds & NORMAL != 0 || shorter_kinds & WILDCARD != 0 {
            best = (start, true);
        }
        if start == 0 {
            break;
        }
        shorter = Some(start);
        shorter_kinds = kinds;
        start = label_before(start - 1);
    }
    (&host[best.0..], best.1)
}

/// The registrable domain of `host` (its public suffix plus one label),
/// or `None` when the host is a public suffix itself.
pub fn registrable_domain(host: &str) -> Option<&str> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let (suffix, _) = public_suffix(host);
    if suffix.len() >= host.len() {
        return None;
    }
    let head = &host[..host.len() - suffix.len() - 1];
    let start = head.rfind('.').map_or(0, |i| i + 1);
    Some(&host[start..])
}

/// A listed public suffix at or below `base` (`base` itself, or e.g.
/// `s3.amazonaws.com` below `amazonaws.com`, or `example.kawasaki.jp`
/// from the rule `*.kawasaki.jp`), as an example; `None` when there is
/// none.
pub fn suffix_at_or_below(base: &str) -> Option<String> {
    let base = base.strip_suffix('.').unwrap_or(base);
    let (suffix, listed) = public_suffix(base);
    if listed && suffix == base {
        return Some(suffix.to_owned());
    }
    let l = list();
    at_or_below(base)
        .into_iter()
        .find_map(|(_, kind, name)| match kind {
            Kind::Normal if *name != base => Some((*name).to_owned()),
            Kind::Wildcard => {
                // Any label the exceptions do not name.
                let mut label = "example".to_owned();
                while l.kinds(&format!("{label}.{name}")) & EXCEPTION != 0 {
                    label.push('x');
                }
                Some(format!("{label}.{name}"))
            }
            _ => None,
        })
}

/// The public suffix rules at or below `base`, for building an automaton
/// of the hosts at or below them: `(normal rules, wildcard bases,
/// exceptions)`, each a domain name.
pub fn rules_below(base: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for (_, kind, name) in at_or_below(base) {
        match kind {
            Kind::Normal => out.0.push((*name).to_owned()),
            Kind::Wildcard => out.1.push((*name).to_owned()),
            Kind::Exception => out.2.push((*name).to_owned()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_below() {
        assert_eq!(suffix_at_or_below("com").as_deref(), Some("com"));
        assert_eq!(
            suffix_at_or_below("github.io").as_deref(),
            Some("github.io")
        );
        assert!(suffix_at_or_below("amazonaws.com").is_some());
        assert_eq!(
            suffix_at_or_below("kawasaki.jp").as_deref(),
            Some("example.kawasaki.jp")
        );
        // Under *.kawasaki.jp every other label is a public suffix.
        assert_eq!(
            suffix_at_or_below("foo.kawasaki.jp").as_deref(),
            Some("foo.kawasaki.jp")
        );
        assert_eq!(suffix_at_or_below("city.kawasaki.jp"), None);
        assert_eq!(suffix_at_or_below("example.com"), None);
        assert_eq!(suffix_at_or_below("example.co.uk"), None);
        assert_eq!(suffix_at_or_below("internal"), None);
        assert!(
            suffix_at_or_below("xn--55qx5d.cn").is_some(),
            "公司.cn in punycode"
        );
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable_domain("a.b.example.com"), Some("example.com"));
        assert_eq!(registrable_domain("example.co.uk"), Some("example.co.uk"));
        assert_eq!(registrable_domain("co.uk"), None);
        assert_eq!(
            registrable_domain("x.s3.amazonaws.com"),
            Some("x.s3.amazonaws.com")
        );
        assert_eq!(
            registrable_domain("a.city.kawasaki.jp"),
            Some("city.kawasaki.jp")
        );
        assert_eq!(
            registrable_domain("a.b.kawasaki.jp"),
            Some("a.b.kawasaki.jp")
        );
        assert_eq!(registrable_domain("intranet"), None);
        assert_eq!(registrable_domain("a.intranet"), Some("a.intranet"));
    }

    /// The no-allocation shortcut changes nothing: for every rule name, every
    /// name above one, and names just beside them, the rules at or below
    /// are those a walk of the sorted list finds, and those a scan of every
    /// rule finds for a sample.
    #[test]
    fn ancestors_shortcut_agrees_with_the_walk() {
        let l = list();
        let mut bases: Vec<String> = Vec::new();
        for (_, _, name) in &l.by_reversed {
            for (i, b) in name.bytes().enumerate() {
                if i == 0 || b == b'.' {
                    let above = name[i..].trim_start_matches('.');
                    bases.push(above.to_owned());
                    bases.push(format!("a.{above}"));
                    bases.push(format!("{above}x"));
                }
            }
        }
        bases.extend(["", "com.", "example.com", "kawasaki-x.jp", "jp-x"].map(str::to_owned));
        // Longer than the stack buffer: the walk itself.
        bases.push(format!("{}.com", "a".repeat(260)));
        bases.push(format!("{}.com", "a".repeat(252)));
        let mut nonempty = 0;
        for base in &bases {
            let mut buf = [0u8; 256];
            if let Some(r) = reversed_into(base, &mut buf) {
                assert_eq!(r, reversed(base).as_bytes(), "{base}");
            }
            let fast = at_or_below(base);
            assert_eq!(fast, walk_below(base), "{base}");
            nonempty += usize::from(!fast.is_empty());
        }
        assert!(nonempty > 9_000, "{nonempty} of {}", bases.len());
        for base in bases.iter().step_by(97) {
            let scan: Vec<_> = l
                .by_reversed
                .iter()
                .filter(|(_, _, n)| n == base || n.ends_with(&format!(".{base}")))
                .collect();
            assert_eq!(at_or_below(base), scan, "{base}");
        }
    }

    /// Every ASCII rule of the list gives the same answer here as in the
    /// `psl` crate the list was taken from.
    #[test]
    fn agrees_with_the_psl_crate() {
        let mut checked = 0;
        for line in RULES.lines() {
            let mut fields = line.split('\t');
            let (kind, name) = (fields.nth(1).unwrap(), fields.next().unwrap());
            let line = match kind {
                "w" => format!("*.{name}"),
                "e" => format!("!{name}"),
                _ => name.to_owned(),
            };
            let line = line.as_str();
            let (name, probe) = if let Some(e) = line.strip_prefix('!') {
                (e.to_owned(), format!("a.{e}"))
            } else if let Some(w) = line.strip_prefix("*.") {
                (format!("zz9.{w}"), format!("a.zz9.{w}"))
            } else {
                (line.to_owned(), format!("a.{line}"))
            };
            if line.contains("xn--") {
                continue; // the psl crate knows only the Unicode forms
            }
            for host in [name.as_str(), probe.as_str()] {
                let ours = public_suffix(host);
                let theirs = psl::suffix(host.as_bytes()).expect("a suffix");
                assert_eq!(ours.0.as_bytes(), theirs.as_bytes(), "{line}: {host}");
                assert_eq!(ours.1, theirs.is_known(), "{line}: {host}");
            }
            checked += 1;
        }
        assert!(checked > 9_000, "{checked}");
    }
}
