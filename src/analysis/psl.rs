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

static RULES: &str = include_str!(concat!(env!("OUT_DIR"), "/psl.txt"));

/// One node of the reversed-label tree: `com` → `amazonaws` → `s3`.
#[derive(Default, Debug)]
struct Node {
    /// A normal rule ends here (`s3.amazonaws.com`).
    rule: bool,
    /// `*.<this>` is a rule.
    wildcard: bool,
    /// `!<this>` is an exception rule.
    exception: bool,
    children: HashMap<Box<str>, Node>,
}

fn tree() -> &'static Node {
    static TREE: OnceLock<Node> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut root = Node::default();
        for line in RULES.lines() {
            let (exception, name) = match line.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (wildcard, name) = match name.strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => (false, name),
            };
            let mut node = &mut root;
            for label in name.rsplit('.') {
                node = node.children.entry(label.into()).or_default();
            }
            node.exception |= exception;
            node.wildcard |= wildcard;
            node.rule |= !exception && !wildcard;
        }
        root
    })
}

/// The public suffix of `host` (the longest matching rule, exceptions
/// winning, the implicit `*` rule for unknown top-level labels), and
/// whether a listed rule (not the implicit one) decided it.
pub fn public_suffix(host: &str) -> (&str, bool) {
    let host = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = host.rsplit('.').collect();
    let mut node = tree();
    // Length in labels of the suffix, and whether a listed rule gave it.
    let mut best = (1, false);
    for (i, label) in labels.iter().enumerate() {
        if node.wildcard {
            best = (i + 1, true);
        }
        let Some(next) = node.children.get(*label) else {
            break;
        };
        node = next;
        if next.exception {
            best = (i, true);
            break;
        }
        if next.rule {
            best = (i + 1, true);
        }
    }
    let n = best.0.clamp(1, labels.len());
    let len = labels[..n].iter().map(|l| l.len() + 1).sum::<usize>() - 1;
    (&host[host.len() - len..], best.1)
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
/// `s3.amazonaws.com` below `amazonaws.com`, or `x.kawasaki.jp` from the
/// rule `*.kawasaki.jp`), as an example; `None` when there is none.
pub fn suffix_at_or_below(base: &str) -> Option<String> {
    let (suffix, listed) = public_suffix(base);
    if listed && suffix == base.strip_suffix('.').unwrap_or(base) {
        return Some(suffix.to_owned());
    }
    let mut node = tree();
    for label in base.rsplit('.') {
        node = node.children.get(label)?;
    }
    let mut found = Vec::new();
    first_below(node, &mut found).then(|| format!("{}.{base}", found.join(".")))
}

/// Fills `path` (leftmost label first) with the labels down to the first
/// rule below `node`; false when there is none.
fn first_below(node: &Node, path: &mut Vec<String>) -> bool {
    if node.wildcard {
        // Any label the exceptions do not name.
        let mut label = "example".to_owned();
        while node
            .children
            .get(label.as_str())
            .is_some_and(|c| c.exception)
        {
            label.push('x');
        }
        path.insert(0, label);
        return true;
    }
    let mut names: Vec<&Box<str>> = node.children.keys().collect();
    names.sort();
    for name in names {
        let child = &node.children[name];
        if child.rule {
            path.insert(0, name.to_string());
            return true;
        }
        let depth = path.len();
        if first_below(child, path) {
            path.insert(path.len() - depth, name.to_string());
            return true;
        }
    }
    false
}

/// The public suffix rules at or below `base`, for building an automaton
/// of the hosts at or below them: `(normal rules, wildcard bases,
/// exceptions)`, each a domain name.
pub fn rules_below(base: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    let mut node = tree();
    for label in base.rsplit('.') {
        match node.children.get(label) {
            Some(next) => node = next,
            None => return out,
        }
    }
    fn walk(node: &Node, name: &str, out: &mut (Vec<String>, Vec<String>, Vec<String>)) {
        if node.rule {
            out.0.push(name.to_owned());
        }
        if node.wildcard {
            out.1.push(name.to_owned());
        }
        if node.exception {
            out.2.push(name.to_owned());
        }
        for (label, child) in &node.children {
            walk(child, &format!("{label}.{name}"), out);
        }
    }
    walk(node, base, &mut out);
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

    /// Every ASCII rule of the list gives the same answer here as in the
    /// `psl` crate the list was taken from.
    #[test]
    fn agrees_with_the_psl_crate() {
        let mut checked = 0;
        for line in RULES.lines() {
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
