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

use std::collections::{BTreeMap, BTreeSet};

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

/// A policy read for review: its compiled form and its origin patterns.
pub struct Reviewed {
    policy: Policy,
    patterns: Vec<(String, OriginPattern)>,
    exact: BTreeSet<String>,
    /// Exact origins by reversed host (`com.example.app`).
    exact_by_host: BTreeMap<String, Vec<String>>,
    /// Subdomain and port wildcards by reversed domain: (regex, is a
    /// subdomain wildcard).
    wildcards: BTreeMap<String, Vec<(String, bool)>>,
    /// `regex:` and `*` patterns, as one regex and its DFA.
    others_re: Vec<String>,
    others: Option<Lang>,
}

/// `app.example.com` → `com.example.app`.
fn reversed(host: &str) -> String {
    host.rsplit('.').collect::<Vec<_>>().join(".")
}

/// Entries of `map` at or below the reversed domain `r`.
fn at_or_below<'m, T>(map: &'m BTreeMap<String, Vec<T>>, r: &str) -> impl Iterator<Item = &'m T> {
    let below = format!("{r}.");
    map.get(r).into_iter().flatten().chain(
        map.range(below.clone()..)
            .take_while(move |(k, _)| k.starts_with(&below))
            .flat_map(|(_, v)| v),
    )
}

/// Entries of `map` strictly above the reversed domain `r`.
fn above<'m, T>(map: &'m BTreeMap<String, Vec<T>>, r: &str) -> impl Iterator<Item = &'m T> {
    let cuts: Vec<String> = r
        .match_indices('.')
        .map(|(i, _)| r[..i].to_owned())
        .collect();
    cuts.into_iter()
        .flat_map(move |k| map.get(&k).into_iter().flatten())
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
    let mut exact_by_host: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut wildcards: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    let mut others_re = Vec::new();
    for text in texts {
        let Ok(p) = parse_pattern(&text) else {
            continue;
        };
        match (&p, pattern_regex(&p)) {
            (OriginPattern::Exact(o), _) => {
                if exact.insert(o.clone()) {
                    let host = p.host().unwrap_or_default();
                    exact_by_host
                        .entry(reversed(host))
                        .or_default()
                        .push(o.clone());
                }
            }
            (OriginPattern::Subdomains { suffix, .. }, Some(re)) => {
                wildcards
                    .entry(reversed(suffix))
                    .or_default()
                    .push((re, true));
            }
            (OriginPattern::AnyPort { host, .. }, Some(re)) => {
                wildcards
                    .entry(reversed(host))
                    .or_default()
                    .push((re, false));
            }
            (_, Some(re)) => others_re.push(re),
            (_, None) => {}
        }
        patterns.push((text, p));
    }
    let others = if others_re.is_empty() {
        None
    } else {
        Some(review_lang(&others_re)?)
    };
    Ok(Reviewed {
        policy,
        patterns,
        exact,
        exact_by_host,
        wildcards,
        others_re,
        others,
    })
}

/// One DFA for the alternation of `res` (each a regex over origins).
fn review_lang(res: &[String]) -> Result<Lang, String> {
    let dfa = automaton::build(
        &[format!("(?:{})\\z", res.join("|"))],
        MAX_REVIEW_DFA_BYTES,
        MAX_REVIEW_DFA_BYTES,
    )
    .map_err(|e| format!("the policies' patterns are too large to compare: {e}"))?;
    Lang::from_dfa(dfa)
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

    /// Origins drawn from the policy's own patterns (its exact origins,
    /// and random strings of its wildcard and regex automata, `pick(n)`
    /// choosing below `n`), for property tests.
    pub fn sample_origins(
        &self,
        pick: &mut dyn FnMut(usize) -> usize,
        per_pattern: usize,
    ) -> Vec<String> {
        let mut out: Vec<String> = self.exact.iter().take(per_pattern).cloned().collect();
        let (grammar, default_port) = origin_langs();
        let mut langs: Vec<Lang> = self
            .wildcards
            .values()
            .flatten()
            .filter_map(|(re, _)| review_lang(std::slice::from_ref(re)).ok())
            .collect();
        if !self.others_re.is_empty() {
            langs.extend(review_lang(&self.others_re).ok());
        }
        for lang in &langs {
            for _ in 0..per_pattern {
                if let Some(s) = lang.sample(pick, 40) {
                    if grammar.accepts(&s) && !default_port.accepts(&s) {
                        out.push(String::from_utf8_lossy(&s).into_owned());
                    }
                }
            }
        }
        out
    }

    /// The compiled policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// Most patterns of one policy that a piece of the other is compared
/// with at once.
const MAX_RELATED: usize = 2_000;

/// Up to `n` origins `a` allows and `b` refuses: exact origins looked up
/// in `b`, then each wildcard of `a` and `a`'s regexes compared, as
/// automata, with the patterns of `b` that can overlap them.
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
    // Pieces of `a`: (regex, b's related patterns, b's related exact origins).
    let mut pieces: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for (r, entries) in &a.wildcards {
        for (re, subdomains) in entries {
            // The same pattern in `b` covers it.
            if b.wildcards
                .get(r)
                .is_some_and(|v| v.iter().any(|(x, _)| x == re))
            {
                continue;
            }
            let mut related: Vec<String> = above(&b.wildcards, r)
                .map(|(x, _)| x.clone())
                .chain(
                    b.wildcards
                        .get(r)
                        .into_iter()
                        .flatten()
                        .map(|(x, _)| x.clone()),
                )
                .collect();
            let mut exact: Vec<String> = Vec::new();
            if *subdomains {
                let below = format!("{r}.");
                related.extend(
                    b.wildcards
                        .range(below.clone()..)
                        .take_while(|(k, _)| k.starts_with(&below))
                        .flat_map(|(_, v)| v.iter().map(|(x, _)| x.clone()))
                        .take(MAX_RELATED + 1),
                );
                exact.extend(
                    at_or_below(&b.exact_by_host, r)
                        .take(MAX_RELATED + 1)
                        .cloned(),
                );
            } else {
                exact.extend(b.exact_by_host.get(r).into_iter().flatten().cloned());
            }
            pieces.push((re.clone(), related, exact));
        }
    }
    if !a.others_re.is_empty() {
        let related: Vec<String> = b
            .wildcards
            .values()
            .flatten()
            .map(|(x, _)| x.clone())
            .take(MAX_RELATED + 1)
            .collect();
        let exact: Vec<String> = b.exact.iter().take(MAX_RELATED + 1).cloned().collect();
        pieces.push((a.others_re.join("|"), related, exact));
    }
    let (grammar, default_port) = origin_langs();
    let too_complex = |_| {
        format!("the policies are too complex to compare within {MAX_REVIEW_STEPS} automaton steps")
    };
    for (re, related, exact) in pieces {
        if out.len() >= n {
            break;
        }
        if related.len() > MAX_RELATED {
            return Err(format!(
                "a pattern overlaps more than {MAX_RELATED} wildcards of the other policy; compare smaller policies"
            ));
        }
        let piece = review_lang(&[re])?;
        let mut not: Vec<String> = related;
        // Few exact origins of `b` are left out by the automaton; many are
        // looked up: an example `b` allows is excluded and the search rerun.
        let many_exact = exact.len() > MAX_RELATED;
        if !many_exact {
            not.extend(exact.iter().map(|o| lit(o)));
        }
        let mut retries = 64;
        let b_lang = if not.is_empty() {
            None
        } else {
            Some(review_lang(&not)?)
        };
        // Examples found or skipped, left out of the next search (one DFA).
        let mut excluded_re: Vec<String> = Vec::new();
        let mut excluded: Option<Lang> = None;
        let mut found = 0;
        while found < 3 && out.len() < n {
            let mut q: Vec<(&Lang, Want)> = vec![
                (&piece, Want::In),
                (grammar, Want::In),
                (default_port, Want::Out),
            ];
            if let Some(bo) = &b.others {
                q.push((bo, Want::Out));
            }
            if let Some(bl) = &b_lang {
                q.push((bl, Want::Out));
            }
            if let Some(x) = &excluded {
                q.push((x, Want::Out));
            }
            let Some(example) = find(&q, 0, budget).map_err(too_complex)?.example else {
                break;
            };
            let example = String::from_utf8_lossy(&example).into_owned();
            if many_exact && b.allows(&example) {
                retries -= 1;
                if retries == 0 {
                    return Err(
                        "the policies are too large to compare exactly (a pattern's examples are all \
                         exact origins of the other policy); compare smaller policies"
                            .into(),
                    );
                }
                excluded_re.push(lit(&example));
                excluded = Some(review_lang(&excluded_re)?);
                continue;
            }
            // The next example on another registrable domain (or host).
            let host = example.split_once("://").map_or("", |(_, r)| r);
            let host = host.split(':').next().unwrap_or(host);
            let domain = psl::registrable_domain(host).unwrap_or(host).to_owned();
            let scheme = example.split("://").next().unwrap_or_default();
            excluded_re.push(format!(
                "{}://(?:{LABEL}\\.)*{}\\.?(?::[0-9]+)?",
                lit(scheme),
                lit(&domain)
            ));
            excluded = Some(review_lang(&excluded_re)?);
            found += 1;
            if !out.contains(&example) {
                out.push(example);
            }
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
