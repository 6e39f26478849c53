//! What an origin pattern can match, decided exactly from automata, for
//! the validation rules (and for reviewing policies).
//!
//! Every rule judges the *language* of a pattern restricted to serialized
//! origins (the grammar in [`origin_grammar`]), not its spelling: a
//! `regex:` is compiled to a DFA and intersected with DFAs for "origins",
//! "`http://` origins on a host that is not loopback", "hosts under the
//! registrable domains the pattern names", "hosts at or below a public
//! suffix" …; emptiness, a shortest example and finiteness of each
//! intersection are read off the product automaton (see [`automaton`]).
//!
//! Cost is bounded per policy, as sizes and steps, not time:
//! - every `regex:` DFA together: at most [`MAX_REGEX_DFA_BYTES`] (each
//!   pattern's determinization stops at what is left of it), the NFA of
//!   one pattern at most [`automaton::NFA_BYTES`];
//! - the analysis: at most [`MAX_ANALYSIS_STEPS`] product transitions.
//!
//! A pattern that would exceed either is refused with a message saying so.

pub mod automaton;
pub mod psl;

use std::sync::OnceLock;

use automaton::{find, Budget, Found, Lang, TooComplex, Want};

use crate::origin::OriginPattern;

/// Most bytes all `regex:` DFAs of one policy may take together (and the
/// combined DFA the matcher builds). Determinizing up to this size takes a
/// few milliseconds even for the worst patterns.
pub const MAX_REGEX_DFA_BYTES: usize = 128 << 10;
/// Most product-automaton transitions the analysis of one policy may take.
pub const MAX_ANALYSIS_STEPS: usize = 300_000;
/// Up to this many public suffix rules below a named domain are checked
/// one by one (as an automaton); beyond, any host strictly below it counts
/// as below a public suffix.
const MAX_SUFFIX_RULES: usize = 64;

/// A host label.
pub(crate) const LABEL: &str = "[a-z0-9_-]+";
/// Any scheme.
const SCHEME: &str = "[a-z][a-z0-9+.-]*";
/// An optional port, 1 to 65535, no leading zero.
pub(crate) const PORT: &str =
    "(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?";

/// The serialized origins, as a regex: lowercase scheme, a domain (a
/// trailing dot allowed) or IP literal, a port other than the scheme's
/// default (the default-port exclusion is [`default_port`]).
pub fn origin_grammar() -> String {
    format!("{SCHEME}://(?:(?:{LABEL}\\.)*{LABEL}\\.?|\\[[0-9a-f:.]*:[0-9a-f:.]*\\]){PORT}")
}

struct Fixed {
    grammar: Lang,
    default_port: Lang,
    ip: Lang,
    http: Lang,
    loopback: Lang,
    https: Lang,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let lang = |p: &str| Lang::new(p, 1 << 20).expect("a fixed automaton");
        let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
        Fixed {
            grammar: lang(&origin_grammar()),
            default_port: lang("(?:http|ws)://[^/]*:80|(?:https|wss)://[^/]*:443"),
            ip: lang(&format!(
                "{SCHEME}://(?:[0-9]+(?:\\.[0-9]+)*\\.?|\\[[0-9a-f:.]*\\])(?::[0-9]+)?"
            )),
            http: lang("http://.*"),
            loopback: lang(&format!(
                "{SCHEME}://(?:localhost|(?:{LABEL}\\.)+localhost|127(?:\\.{octet}){{3}}|\\[::1\\])(?::[0-9]+)?"
            )),
            https: lang("https://.*"),
        }
    })
}

/// The serialized-origin grammar and the default-port exclusion, for
/// products over origins: (grammar, default port).
pub fn origin_langs() -> (&'static Lang, &'static Lang) {
    let f = fixed();
    (&f.grammar, &f.default_port)
}

/// The origins at or below any of `domains`, as a regex.
fn under(domains: &[String]) -> String {
    let alts: Vec<String> = domains.iter().map(|d| d.replace('.', "\\.")).collect();
    format!(
        "{SCHEME}://(?:{LABEL}\\.)*(?:{})\\.?(?::[0-9]+)?",
        alts.join("|")
    )
}

/// What a validation rule concluded about one pattern.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PatternCheck {
    /// Why the pattern is refused, with the fix.
    pub error: Option<String>,
    /// What the user should know though the pattern is accepted.
    pub warnings: Vec<String>,
}

/// What the language of one `regex:` pattern holds, restricted to
/// serialized origins.
#[derive(Debug)]
pub struct RegexFacts {
    /// The registrable domains the pattern names literally.
    pub named: Vec<String>,
    /// Origins on a domain name outside the named registrable domains.
    pub outside: Found,
    /// An `http://` origin whose host is not loopback, if any.
    pub http_public: Option<String>,
    /// An origin at or below a public suffix under a named domain, and
    /// that suffix (or the domain, when too many rules lie below it).
    pub below_suffix: Option<(String, String)>,
}

/// Analyses patterns of one policy within its size and step budgets.
#[derive(Debug)]
pub struct Analyser {
    dfa_bytes_left: usize,
    budget: Budget,
}

impl Default for Analyser {
    fn default() -> Self {
        Analyser {
            dfa_bytes_left: MAX_REGEX_DFA_BYTES,
            budget: Budget::new(MAX_ANALYSIS_STEPS),
        }
    }
}

impl Analyser {
    /// Steps taken so far (for tests and benches).
    pub fn steps_used(&self) -> usize {
        self.budget.used
    }

    /// Bytes of regex DFA built so far.
    pub fn dfa_bytes_used(&self) -> usize {
        MAX_REGEX_DFA_BYTES - self.dfa_bytes_left
    }

    /// Compiles one `regex:` pattern's DFA against the policy's budget.
    pub fn compile_regex(&mut self, re: &str) -> Result<Lang, String> {
        if self.dfa_bytes_left == 0 {
            return Err(format!(
                "the policy's regex patterns already use all {MAX_REGEX_DFA_BYTES} bytes of DFA they \
                 share (so that a policy loads in bounded time); simplify them, list origins, or use \
                 wildcards"
            ));
        }
        let dfa = automaton::build(
            &[format!("(?:{re})\\z")],
            self.dfa_bytes_left,
            automaton::NFA_BYTES,
        )
        .map_err(|e| {
            if e.contains("exceeded") {
                // The attempt used the budget up: later patterns fail at
                // once rather than each determinizing up to the cap.
                self.dfa_bytes_left = 0;
                format!(
                    "the regex's automaton is too large: {e} (all regex patterns of a policy share \
                     {MAX_REGEX_DFA_BYTES} bytes of DFA and {} bytes of NFA each, so that a policy \
                     loads in bounded time); simplify it, list origins, or use wildcards",
                    automaton::NFA_BYTES
                )
            } else {
                // A lookaround or backreference is named, with why (the
                // engine is linear-time), rather than "error building NFA".
                crate::policy::unsupported_regex_construct(re)
                    .unwrap_or_else(|| format!("invalid or too large regex: {e}"))
            }
        })?;
        self.dfa_bytes_left = self.dfa_bytes_left.saturating_sub(dfa.memory_usage());
        Lang::from_dfa(dfa)
    }

    /// The facts about `lang`, the DFA of the regex `re`.
    pub fn regex_facts(&mut self, re: &str, lang: &Lang) -> Result<RegexFacts, TooComplex> {
        let f = fixed();
        let named = named_domains(re);
        let base = [
            (lang, Want::In),
            (&f.grammar, Want::In),
            (&f.default_port, Want::Out),
        ];
        let text = |v: Option<Vec<u8>>| v.map(|b| String::from_utf8_lossy(&b).into_owned());
        let mut langs = base.to_vec();
        let under_named = (!named.is_empty()).then(|| Lang::new(&under(&named), 1 << 20));
        let under_named = match under_named {
            Some(Ok(l)) => Some(l),
            Some(Err(_)) => return Err(TooComplex),
            None => None,
        };
        langs.push((&f.ip, Want::Out));
        langs.push((&f.loopback, Want::Out));
        if let Some(u) = &under_named {
            langs.push((u, Want::Out));
        }
        let mut outside = find(&langs, 0, &mut self.budget)?;
        // A few distinct examples: each search leaves out the ones found.
        let mut excluded: Vec<Lang> = Vec::new();
        let mut next = outside.example.clone();
        while let Some(e) = next.take() {
            outside.more.push(e.clone());
            // Several examples only for a warning about a finite list.
            if outside.more.len() == 3 || outside.infinite {
                break;
            }
            // The next example lies on another registrable domain.
            let origin = String::from_utf8_lossy(&e).into_owned();
            let host = host_of(&origin);
            let domain = psl::registrable_domain(host).unwrap_or(host);
            let literal = under(&[domain.to_owned()]);
            excluded.push(Lang::new(&literal, 1 << 16).map_err(|_| TooComplex)?);
            let mut q = langs.clone();
            q.extend(excluded.iter().map(|l| (l, Want::Out)));
            next = find(&q, 0, &mut self.budget)?.example;
        }
        if outside.example.is_some() {
            // Prefer an https:// example when there is one.
            langs.push((&f.https, Want::In));
            if let Some(e) = find(&langs, 0, &mut self.budget)?.example {
                outside.example = Some(e);
            }
        }
        let mut http = base.to_vec();
        http.push((&f.http, Want::In));
        http.push((&f.loopback, Want::Out));
        let http_public = text(find(&http, 0, &mut self.budget)?.example);
        let mut below_suffix = None;
        for d in &named {
            let (normal, wild, exceptions) = psl::rules_below(d);
            if normal.is_empty() && wild.is_empty() {
                continue;
            }
            let mut alts: Vec<String> = normal.iter().map(|r| r.replace('.', "\\.")).collect();
            alts.extend(
                wild.iter()
                    .map(|w| format!("{LABEL}\\.{}", w.replace('.', "\\."))),
            );
            let (region, suffix) = if alts.len() <= MAX_SUFFIX_RULES {
                (
                    format!(
                        "{SCHEME}://(?:{LABEL}\\.)*(?:{})\\.?(?::[0-9]+)?",
                        alts.join("|")
                    ),
                    None,
                )
            } else {
                (
                    format!(
                        "{SCHEME}://(?:{LABEL}\\.)+{}\\.?(?::[0-9]+)?",
                        d.replace('.', "\\.")
                    ),
                    Some(d.clone()),
                )
            };
            let Ok(region) = Lang::new(&region, 1 << 20) else {
                return Err(TooComplex);
            };
            let exc = (!exceptions.is_empty()).then(|| Lang::new(&under(&exceptions), 1 << 20));
            let exc = match exc {
                Some(Ok(l)) => Some(l),
                Some(Err(_)) => return Err(TooComplex),
                None => None,
            };
            let mut q = base.to_vec();
            q.push((&region, Want::In));
            if let Some(e) = &exc {
                q.push((e, Want::Out));
            }
            if let Some(example) = text(find(&q, 0, &mut self.budget)?.example) {
                let host = host_of(&example);
                let suffix = suffix.unwrap_or_else(|| {
                    let (s, _) = psl::public_suffix(host);
                    // The suffix at or below the named domain that the
                    // host reaches: its own public suffix, or the host.
                    if s.len() > d.len() {
                        s.to_owned()
                    } else {
                        host.to_owned()
                    }
                });
                below_suffix = Some((example, suffix));
                break;
            }
        }
        Ok(RegexFacts {
            named,
            outside,
            http_public,
            below_suffix,
        })
    }

    /// Checks one parsed pattern: what it can match, with or without
    /// credentials. Errors name the fix; warnings explain.
    pub fn check(&mut self, pattern: &OriginPattern, credentials: bool) -> PatternCheck {
        let mut out = PatternCheck::default();
        match pattern {
            OriginPattern::Subdomains { scheme, suffix, .. } if credentials => {
                if let Some(ps) = psl::suffix_at_or_below(suffix) {
                    out.error = Some(if ps == *suffix {
                        format!(
                            "\"{suffix}\" is a public suffix: anyone can register a site under it; list \
                             your own domain, e.g. \"{scheme}://*.yourname.{suffix}\""
                        )
                    } else {
                        format!(
                            "\"{ps}\" is a public suffix (Public Suffix List) at or below \"{suffix}\": \
                             anyone can register a site under it, and this wildcard would send them \
                             credentialed responses; list your own hosts, e.g. \
                             \"{scheme}://yourapp.{suffix}\" or \"{scheme}://*.yourapp.{ps}\""
                        )
                    });
                }
            }
            OriginPattern::Regex(re) => {
                if re.len() > crate::policy::MAX_REGEX_LEN {
                    out.error = Some(format!(
                        "the regex is longer than {} bytes; split it or use wildcards",
                        crate::policy::MAX_REGEX_LEN
                    ));
                    return out;
                }
                let lang = match self.compile_regex(re) {
                    Ok(l) => l,
                    Err(e) => {
                        out.error = Some(e);
                        return out;
                    }
                };
                match self.regex_facts(re, &lang) {
                    Ok(facts) => judge_regex(re, &facts, credentials, &mut out),
                    Err(TooComplex) => {
                        out.error = Some(format!(
                            "the regex is too complex to check what it can match within the analysis \
                             budget ({MAX_ANALYSIS_STEPS} automaton steps per policy); simplify it, \
                             list origins, or use wildcards"
                        ))
                    }
                }
            }
            _ => {}
        }
        out
    }
}

fn judge_regex(re: &str, facts: &RegexFacts, credentials: bool, out: &mut PatternCheck) {
    let text = |v: &Option<Vec<u8>>| {
        v.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let outside = &facts.outside;
    let named = if facts.named.is_empty() {
        "no registrable domain".to_owned()
    } else {
        facts.named.join(", ")
    };
    if credentials {
        if outside.infinite {
            out.error = Some(format!(
                "the regex admits origins on registrable domains anyone can register, e.g. \"{}\" \
                 (it names {named}): with allow_credentials that is like \"*\"; anchor every \
                 alternative to your own domain with escaped dots (e.g. \
                 regex:https://[a-z0-9-]+\\.example\\.com), or set allow_credentials to false",
                text(&outside.example)
            ));
            return;
        }
        if let Some(http) = &facts.http_public {
            out.error = Some(format!(
                "the regex admits http:// origins on a host that is not loopback, e.g. \"{http}\": with \
                 allow_credentials any network attacker could read credentialed responses; admit \
                 only https:// (write \"https://\", not \"https?://\"; http:// is accepted with \
                 credentials only for loopback hosts)"
            ));
            return;
        }
        if let Some((example, suffix)) = &facts.below_suffix {
            out.error = Some(format!(
                "the regex admits \"{example}\", at or below the public suffix \"{suffix}\": anyone \
                 can register a site there; with allow_credentials admit only your own hosts"
            ));
            return;
        }
    }
    if outside.example.is_some() && (!facts.named.is_empty() || credentials) {
        let examples: Vec<String> = outside
            .more
            .iter()
            .map(|b| format!("\"{}\"", String::from_utf8_lossy(b)))
            .collect();
        let dots = if re.contains('.') && re.matches("\\.").count() < re.matches('.').count() {
            "; an unescaped \".\" matches any character: write \"\\.\""
        } else {
            ""
        };
        let how_many = if outside.infinite {
            "registrable domains anyone can register"
        } else {
            "look-alike registrable domains"
        };
        out.warnings.push(if facts.named.is_empty() {
            format!(
                "the regex names no registrable domain of yours and admits e.g. {}{dots}",
                examples.join(", ")
            )
        } else {
            format!(
                "the regex also admits {how_many} besides {named}, e.g. {}{dots}",
                examples.join(", ")
            )
        });
    }
    if !credentials {
        if let Some((example, suffix)) = &facts.below_suffix {
            out.warnings.push(format!(
                "the regex admits \"{example}\", at or below the public suffix \"{suffix}\", where \
                 anyone can register a site"
            ));
        }
    }
}

/// The host of a serialized origin.
fn host_of(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    if rest.starts_with('[') {
        return rest.split_inclusive(']').next().unwrap_or(rest);
    }
    rest.split(':').next().unwrap_or(rest)
}

/// The registrable domains a regex names literally: runs of domain
/// characters in its text (with `\.` read as a dot) that have one.
pub fn named_domains(re: &str) -> Vec<String> {
    let text = re.replace("\\.", ".");
    let mut out: Vec<String> = Vec::new();
    for run in text
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'))
    {
        let run = run.trim_matches(|c| c == '.' || c == '-');
        if !run.contains('.') || run.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            continue;
        }
        if run.split('.').any(str::is_empty) {
            continue;
        }
        if let Some(d) = psl::registrable_domain(run) {
            if !out.iter().any(|o| o == d) {
                out.push(d.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::parse_pattern;

    fn check(p: &str, credentials: bool) -> PatternCheck {
        Analyser::default().check(&parse_pattern(p).unwrap(), credentials)
    }

    #[test]
    fn named() {
        assert_eq!(
            named_domains("https://(app|admin)\\.example\\.com"),
            ["example.com"]
        );
        assert_eq!(named_domains("https://app.example.com"), ["example.com"]);
        assert!(named_domains("https://[a-z0-9.-]+\\.com").is_empty());
        assert!(named_domains(".*").is_empty());
    }

    #[test]
    fn credentialed_regexes() {
        for p in [
            "regex:.*",
            "regex:https?://.*",
            "regex:https://[a-z0-9.-]+\\.com",
        ] {
            let c = check(p, true);
            let e = c.error.unwrap_or_default();
            assert!(
                e.contains("like \"*\"") || e.contains("http://"),
                "{p}: {e}"
            );
            assert!(check(p, false).error.is_none(), "{p}");
        }
        let e = check("regex:https://[a-z0-9.-]+\\.com", true)
            .error
            .unwrap();
        assert!(e.contains("\"https://x.com\""), "{e}");
        let e = check("regex:http://app\\.example\\.com", true)
            .error
            .unwrap();
        assert!(e.contains("\"http://app.example.com\""), "{e}");
        assert_eq!(
            check("regex:http://app\\.example\\.com", false),
            PatternCheck::default()
        );
        let c = check("regex:https://app.example.com", true);
        assert_eq!(c.error, None);
        assert!(c.warnings[0].contains("look-alike"), "{:?}", c.warnings);
        assert!(c.warnings[0].contains("\\."), "{:?}", c.warnings);
        let ok = check("regex:https://(app|admin)\\.example\\.com", true);
        assert_eq!(ok, PatternCheck::default());
        let ok = check("regex:http://(localhost|127\\.0\\.0\\.1)(:[0-9]+)?", true);
        assert_eq!(ok, PatternCheck::default());
        let e = check("regex:https://[a-z0-9.]+\\.s3\\.amazonaws\\.com", true).error;
        assert!(e.is_some());
    }

    #[test]
    fn wildcards_over_public_suffixes() {
        for p in [
            "https://*.amazonaws.com",
            "https://*.kawasaki.jp",
            "https://*.com",
        ] {
            assert!(check(p, true).error.is_some(), "{p}");
            assert!(check(p, false).error.is_none(), "{p}");
        }
        let e = check("https://*.kawasaki.jp", true).error.unwrap();
        assert!(
            e.contains("\"example.kawasaki.jp\" is a public suffix"),
            "{e}"
        );
        for p in [
            "https://*.example.com",
            "https://*.city.kawasaki.jp",
            "https://*.internal",
        ] {
            assert_eq!(check(p, true), PatternCheck::default(), "{p}");
        }
    }
}
