//! Policy review: what access changed between two policies (`diff`), and
//! who can read responses under one (`audit`), with text and JSON
//! rendering for the CLI.
//!
//! Origins are compared as languages restricted to serialized origins:
//! exact origins as a set (checked against the other policy's matcher one
//! by one, so 100,000 of them cost 100,000 lookups), every other pattern
//! (subdomain and port wildcards, `regex:`, `*`) as one DFA per policy,
//! and the differences read off product automata (see [`crate::analysis`]):
//! exact, with a shortest example.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::analysis::automaton::{self, find, Budget, Lang, Want};
use crate::analysis::{origin_langs, psl, Analyser, LABEL, PORT};
use crate::config::{PolicyError, RawPolicy, RawValue};
use crate::origin::{parse_pattern, parse_request_origin, OriginPattern, PortSpec};
use crate::policy::{Mode, Policy, PreflightDeny};

/// Most bytes of DFA (and of NFA) the wildcard and regex patterns of one
/// reviewed policy may compile to.
pub const MAX_REVIEW_DFA_BYTES: usize = 4 << 20;
/// Most product-automaton steps one review may take.
pub const MAX_REVIEW_STEPS: usize = 4_000_000;
/// Up to this many exact origins of a policy are excluded by automaton
/// when looking for wildcard examples; beyond, candidates are tried one
/// by one.
const MAX_EXACT_IN_AUTOMATON: usize = 256;

/// A policy read for review: its compiled form and its origin patterns.
pub struct Reviewed {
    policy: Policy,
    patterns: Vec<(String, OriginPattern)>,
    exact: BTreeSet<String>,
    others: Option<Lang>,
}

/// Reads a JSON policy as `lint` does (every problem reported together).
pub fn read(json: &[u8]) -> Result<Reviewed, String> {
    let invalid = |e: PolicyError| format!("invalid policy:\n{e}");
    let (raw, unknown) = RawPolicy::read_json(json).map_err(invalid)?;
    let policy = Policy::compile_read(&raw, unknown).map_err(invalid)?;
    let texts: Vec<String> = match raw.get("allow_origins") {
        Some(RawValue::Json(Value::Array(items))) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(RawValue::Text(values)) => values.clone(),
        _ => Vec::new(),
    };
    let mut patterns = Vec::new();
    let mut exact = BTreeSet::new();
    let mut alts = Vec::new();
    for text in texts {
        let Ok(p) = parse_pattern(&text) else {
            continue;
        };
        match pattern_regex(&p) {
            None => {
                if let OriginPattern::Exact(o) = &p {
                    exact.insert(o.clone());
                }
            }
            Some(re) => alts.push(re),
        }
        patterns.push((text, p));
    }
    let others = if alts.is_empty() {
        None
    } else {
        let dfa = automaton::build(
            &[format!("(?:{})\\z", alts.join("|"))],
            MAX_REVIEW_DFA_BYTES,
            MAX_REVIEW_DFA_BYTES,
        )
        .map_err(|e| format!("the policy's patterns are too large to review together: {e}"))?;
        Some(Lang::from_dfa(dfa)?)
    };
    Ok(Reviewed {
        policy,
        patterns,
        exact,
        others,
    })
}

/// A pattern other than an exact origin, as a regex over serialized
/// origins; `None` for an exact origin.
fn pattern_regex(p: &OriginPattern) -> Option<String> {
    let port = |spec: &PortSpec| match spec {
        PortSpec::Default => String::new(),
        PortSpec::Fixed(n) => format!(":{n}"),
        PortSpec::Any => PORT.to_owned(),
    };
    match p {
        OriginPattern::Exact(_) => None,
        OriginPattern::Any => Some(".*".into()),
        OriginPattern::AnyPort { scheme, host } => {
            Some(format!("{}://{}{PORT}", lit(scheme), lit(host)))
        }
        OriginPattern::Subdomains {
            scheme,
            suffix,
            port: spec,
        } => Some(format!(
            "{}://(?:{LABEL}\\.)+{}{}",
            lit(scheme),
            lit(suffix),
            port(spec)
        )),
        OriginPattern::Regex(re) => Some(format!("(?:{re})")),
    }
}

/// `s` as a regex literal.
fn lit(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let meta = matches!(
                c,
                '.' | '[' | ']' | '+' | '*' | '?' | '(' | ')' | '|' | '^' | '$' | '{' | '}' | '\\'
            );
            meta.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

impl Reviewed {
    /// True when the policy allows requests from `origin` (a serialized
    /// origin).
    pub fn allows(&self, origin: &str) -> bool {
        if self.exact.contains(origin) {
            return true;
        }
        match parse_request_origin(origin.as_bytes()) {
            Ok(o) => self.policy.origins.matches(&o),
            // A trailing-dot host: the automaton decides.
            Err(_) => self
                .others
                .as_ref()
                .is_some_and(|l| l.accepts(origin.as_bytes())),
        }
    }

    /// The compiled policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// Up to `n` origins `a` allows and `b` refuses, shortest first for the
/// non-exact ones; exact.
fn admitted_by_not(
    a: &Reviewed,
    b: &Reviewed,
    n: usize,
    budget: &mut Budget,
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = a
        .exact
        .iter()
        .filter(|o| !b.allows(o))
        .take(n)
        .cloned()
        .collect();
    let Some(others) = &a.others else {
        return Ok(out);
    };
    let (grammar, default_port) = origin_langs();
    // b's exact origins, left out of the search when few; else tried.
    let b_exact = if b.exact.len() <= MAX_EXACT_IN_AUTOMATON && !b.exact.is_empty() {
        let alts: Vec<String> = b.exact.iter().map(|o| lit(o)).collect();
        Some(Lang::new(&alts.join("|"), MAX_REVIEW_DFA_BYTES)?)
    } else {
        None
    };
    let mut excluded: Vec<Lang> = Vec::new();
    let too_complex = |_| {
        format!("the policies are too complex to compare within {MAX_REVIEW_STEPS} automaton steps")
    };
    for _ in 0..n.saturating_mul(4).max(8) {
        if out.len() >= n {
            break;
        }
        let mut q: Vec<(&Lang, Want)> = vec![
            (others, Want::In),
            (grammar, Want::In),
            (default_port, Want::Out),
        ];
        if let Some(bo) = &b.others {
            q.push((bo, Want::Out));
        }
        if let Some(be) = &b_exact {
            q.push((be, Want::Out));
        }
        let rest = automaton::MAX_LANGS - q.len();
        let skip = excluded.len().saturating_sub(rest);
        q.extend(excluded[skip..].iter().map(|l| (l, Want::Out)));
        let Some(example) = find(&q, 0, budget).map_err(too_complex)?.example else {
            break;
        };
        let example = String::from_utf8_lossy(&example).into_owned();
        // Next examples on another registrable domain (or host).
        let host = example.split_once("://").map_or("", |(_, r)| r);
        let host = host.split(':').next().unwrap_or(host);
        let domain = psl::registrable_domain(host).unwrap_or(host).to_owned();
        let scheme = example.split("://").next().unwrap_or_default();
        excluded.push(Lang::new(
            &format!(
                "{}://(?:{LABEL}\\.)*{}\\.?(?::[0-9]+)?",
                lit(scheme),
                lit(&domain)
            ),
            1 << 20,
        )?);
        if !b.allows(&example) && !out.contains(&example) {
            out.push(example);
        }
    }
    Ok(out)
}

/// Lowercase names of a list field as the policy uses them.
fn names(p: &Policy, field: &str) -> BTreeSet<String> {
    match field {
        "allow_methods" => {
            let mut s: BTreeSet<String> = p
                .methods
                .iter()
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .collect();
            if p.any_method {
                s.insert("*".into());
            }
            s
        }
        "allow_headers" => {
            let mut s: BTreeSet<String> = p
                .headers
                .iter()
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .collect();
            if p.any_header {
                s.insert("*".into());
            }
            s
        }
        _ => p
            .expose_headers_value
            .as_deref()
            .map(|v| {
                String::from_utf8_lossy(v)
                    .split(", ")
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// What changed between two policies.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// Origins the new policy allows and the old refused (examples).
    pub origins_admitted: Vec<String>,
    /// Origins the old policy allowed and the new refuses (examples).
    pub origins_revoked: Vec<String>,
    /// Other changes: (field, old, new, widens access).
    pub changes: Vec<(String, Value, Value, bool)>,
}

impl Diff {
    /// True when the new policy lets someone read what they could not.
    pub fn widened(&self) -> bool {
        !self.origins_admitted.is_empty() || self.changes.iter().any(|c| c.3)
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.origins_admitted.is_empty()
            && self.origins_revoked.is_empty()
            && self.changes.is_empty()
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "widened": self.widened(),
            "changed": !self.is_empty(),
            "origins": {
                "admitted": self.origins_admitted.iter().map(|e| json!({"example": e})).collect::<Vec<_>>(),
                "revoked": self.origins_revoked.iter().map(|e| json!({"example": e})).collect::<Vec<_>>(),
            },
            "changes": self.changes.iter().map(|(f, o, n, w)| json!({"field": f, "old": o, "new": n, "widens": w})).collect::<Vec<_>>(),
        })
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if self.is_empty() {
            s.push_str("no change: both policies allow the same origins, methods and headers\n");
            return s;
        }
        for e in &self.origins_admitted {
            s.push_str(&format!("+ origin newly allowed, e.g. {e}\n"));
        }
        for e in &self.origins_revoked {
            s.push_str(&format!("- origin no longer allowed, e.g. {e}\n"));
        }
        for (f, o, n, w) in &self.changes {
            let sign = if *w { '+' } else { '~' };
            s.push_str(&format!("{sign} {f}: {o} -> {n}\n"));
        }
        s.push_str(if self.widened() {
            "access widened\n"
        } else {
            "access not widened\n"
        });
        s
    }
}

/// Compares two policies: exact for every pattern kind.
pub fn diff(old: &Reviewed, new: &Reviewed) -> Result<Diff, String> {
    let mut budget = Budget::new(MAX_REVIEW_STEPS);
    let origins_admitted = admitted_by_not(new, old, 3, &mut budget)?;
    let origins_revoked = admitted_by_not(old, new, 3, &mut budget)?;
    let (o, n) = (&old.policy, &new.policy);
    let mut changes = Vec::new();
    if o.credentials != n.credentials {
        changes.push((
            "allow_credentials".into(),
            json!(o.credentials),
            json!(n.credentials),
            n.credentials,
        ));
    }
    for field in ["allow_methods", "allow_headers", "expose_headers"] {
        let (a, b) = (names(o, field), names(n, field));
        if a != b {
            let widens = !b.is_subset(&a);
            changes.push((field.into(), json!(a), json!(b), widens));
        }
    }
    let age = |p: &Policy| {
        p.max_age_value
            .as_deref()
            .map(|v| json!(String::from_utf8_lossy(v).parse::<u64>().unwrap_or(0)))
            .unwrap_or(Value::Null)
    };
    if age(o) != age(n) {
        changes.push(("max_age".into(), age(o), age(n), false));
    }
    if o.mode != n.mode {
        let m = |p: &Policy| {
            if p.mode == Mode::Report {
                "report"
            } else {
                "enforce"
            }
        };
        changes.push((
            "mode".into(),
            json!(m(o)),
            json!(m(n)),
            n.mode == Mode::Report,
        ));
    }
    if o.preflight_deny != n.preflight_deny {
        let m = |p: &Policy| {
            if p.preflight_deny == PreflightDeny::Forward {
                "forward"
            } else {
                "reject"
            }
        };
        changes.push((
            "on_preflight_deny".into(),
            json!(m(o)),
            json!(m(n)),
            n.preflight_deny == PreflightDeny::Forward,
        ));
    }
    if o.actual_deny != n.actual_deny {
        let m = |p: &Policy| format!("{:?}", p.actual_deny).to_ascii_lowercase();
        changes.push(("on_actual_deny".into(), json!(m(o)), json!(m(n)), false));
    }
    Ok(Diff {
        origins_admitted,
        origins_revoked,
        changes,
    })
}

/// One pattern of an audit.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The pattern as written.
    pub pattern: String,
    /// What it admits, in words.
    pub admits: String,
    /// An origin it admits.
    pub example: Option<String>,
    /// Whether credentialed responses reach it.
    pub credentials: bool,
    /// Risk notes.
    pub risks: Vec<String>,
}

/// Who can read responses under `policy`, pattern by pattern.
pub fn audit(r: &Reviewed) -> Vec<AuditEntry> {
    let credentials = r.policy.credentials;
    let mut analyser = Analyser::default();
    let mut out = Vec::new();
    for (text, p) in &r.patterns {
        let mut risks = Vec::new();
        let port_words = |spec: &PortSpec| match spec {
            PortSpec::Default => "default port".to_owned(),
            PortSpec::Fixed(n) => format!("port {n}"),
            PortSpec::Any => "any port".to_owned(),
        };
        let (admits, example) = match p {
            OriginPattern::Any => (
                "any origin (Access-Control-Allow-Origin: *)".to_owned(),
                Some("https://any.example".to_owned()),
            ),
            OriginPattern::Exact(o) => (format!("exactly {o}"), Some(o.clone())),
            OriginPattern::AnyPort { scheme, host } => (
                format!("{host} itself, any port, {scheme} only"),
                Some(format!("{scheme}://{host}:8080")),
            ),
            OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            } => {
                if let Some(ps) = psl::suffix_at_or_below(suffix) {
                    risks.push(format!(
                        "\"{ps}\" is a public suffix at or below \"{suffix}\": strangers can hold sites this wildcard admits"
                    ));
                }
                (
                    format!(
                        "any subdomain of {suffix}, any depth (not {suffix} itself), {scheme} only, {}",
                        port_words(port)
                    ),
                    Some(format!(
                        "{scheme}://app.{suffix}{}",
                        match port {
                            PortSpec::Fixed(n) => format!(":{n}"),
                            _ => String::new(),
                        }
                    )),
                )
            }
            OriginPattern::Regex(re) => {
                let facts = analyser
                    .compile_regex(re)
                    .ok()
                    .and_then(|l| analyser.regex_facts(re, &l).ok());
                let example = r
                    .others
                    .as_ref()
                    .and_then(|_| Lang::new(&format!("(?:{re})"), 1 << 20).ok())
                    .and_then(|l| {
                        let (g, d) = origin_langs();
                        let mut b = Budget::new(MAX_REVIEW_STEPS);
                        find(&[(&l, Want::In), (g, Want::In), (d, Want::Out)], 0, &mut b)
                            .ok()
                            .and_then(|f| f.example)
                    })
                    .map(|e| String::from_utf8_lossy(&e).into_owned());
                let words = match &facts {
                    Some(f) if f.named.is_empty() => {
                        "origins the regex matches in full; it names no registrable domain"
                            .to_owned()
                    }
                    Some(f) if f.outside.example.is_none() => format!(
                        "origins the regex matches in full, all at or below {}",
                        f.named.join(", ")
                    ),
                    Some(f) => format!(
                        "origins the regex matches in full, at or below {} and elsewhere",
                        f.named.join(", ")
                    ),
                    None => {
                        "origins the regex matches in full (too complex to describe)".to_owned()
                    }
                };
                if let Some(f) = &facts {
                    if let Some(e) = &f.outside.example {
                        risks.push(format!(
                            "admits {} registrable domains, e.g. {}",
                            if f.outside.infinite {
                                "arbitrary"
                            } else {
                                "look-alike"
                            },
                            String::from_utf8_lossy(e)
                        ));
                    }
                    if let Some((e, s)) = &f.below_suffix {
                        risks.push(format!("admits {e}, at or below the public suffix {s}"));
                    }
                }
                (words, example)
            }
        };
        if credentials {
            if let (Some(scheme), Some(host)) = (p.scheme(), p.host()) {
                if scheme == "http" && crate::origin::is_loopback_host(host) {
                    risks.push(
                        "http:// loopback with credentials: any local process on the user's machine can read credentialed responses"
                            .into(),
                    );
                }
            }
        }
        out.push(AuditEntry {
            pattern: text.clone(),
            admits,
            example,
            credentials: credentials && !matches!(p, OriginPattern::Any),
            risks,
        });
    }
    out
}

/// Policy-wide notes of an audit (e.g. max-age beyond browsers' caps).
pub fn audit_notes(r: &Reviewed) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(age) = r
        .policy
        .max_age_value
        .as_deref()
        .and_then(|v| String::from_utf8_lossy(v).parse::<u64>().ok())
    {
        if age > 7200 {
            notes.push(format!(
                "max_age {age}: Chromium caps preflight caching at 7200 s, Firefox at 86400 s"
            ));
        }
    }
    notes
}

/// The audit as JSON.
pub fn audit_json(r: &Reviewed) -> Value {
    json!({
        "credentials": r.policy.credentials,
        "origins": audit(r).iter().map(|e| json!({
            "pattern": e.pattern, "admits": e.admits, "example": e.example,
            "credentials": e.credentials, "risks": e.risks,
        })).collect::<Vec<_>>(),
        "notes": audit_notes(r),
    })
}

/// The audit as text.
pub fn audit_text(r: &Reviewed) -> String {
    let mut s = String::new();
    for e in audit(r) {
        s.push_str(&format!("{}\n  admits:      {}\n", e.pattern, e.admits));
        if let Some(x) = &e.example {
            s.push_str(&format!("  example:     {x}\n"));
        }
        s.push_str(&format!(
            "  credentials: {}\n",
            if e.credentials {
                "yes (cookies and HTTP auth reach it)"
            } else {
                "no"
            }
        ));
        for risk in &e.risks {
            s.push_str(&format!("  risk:        {risk}\n"));
        }
    }
    for n in audit_notes(r) {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str]) -> Reviewed {
        read(json!({ "allow_origins": origins }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn widened_with_example() {
        let d = diff(
            &policy(&["https://app.example.com"]),
            &policy(&["https://*.example.com"]),
        )
        .unwrap();
        assert!(d.widened());
        assert_eq!(d.origins_admitted[0], "https://x.example.com");
        assert!(
            d.origins_revoked.is_empty(),
            "app.example.com is a subdomain"
        );
    }

    #[test]
    fn equivalent_policies_are_no_change() {
        let a = policy(&[
            "https://a.example.com",
            "https://b.example.com",
            "https://a.example.com",
        ]);
        let b = policy(&["regex:https://(a|b)\\.example\\.com"]);
        let d = diff(&a, &b).unwrap();
        assert!(d.is_empty(), "{d:?}");
        let d = diff(
            &policy(&["https://*.example.com"]),
            &policy(&["regex:https://([a-z0-9_-]+\\.)+example\\.com"]),
        )
        .unwrap();
        assert!(d.is_empty(), "{d:?}");
    }
}
