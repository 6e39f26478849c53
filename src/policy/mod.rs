//! Policy validation and compilation: raw field values in, an immutable
//! [`Policy`] with every lookup table and response header value built once.

mod matcher;
mod names;
pub(crate) use names::{eq_bytes, short_word};

use std::collections::HashSet;
use std::sync::Arc;

use foldhash::fast::RandomState;

use crate::analysis::Analyser;
use crate::config::{ConfigError, PolicyError, RawPolicy, RawValue, Reader};
use crate::evaluate::Plans;
use crate::origin::{is_loopback_host, parse_pattern, OriginPattern};
use crate::tokens::is_token;

pub use matcher::{is_plain_origin, OriginMatcher, MAX_REGEX_DFA_BYTES, MAX_REGEX_LEN};

/// Longest `max_age` accepted, in seconds (one day).
pub const MAX_MAX_AGE: u64 = 86_400;
/// Longest header name a policy may list, in bytes.
pub const MAX_HEADER_NAME_LEN: usize = 128;

/// Methods Fetch upper-cases before sending; the policy does the same.
const NORMALIZED_METHODS: &[&str] = &["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
/// Methods Fetch refuses to send.
const FORBIDDEN_METHODS: &[&str] = &["CONNECT", "TRACE", "TRACK"];
/// Request headers Fetch refuses to let a page set (its "forbidden request-header"
/// names; the `proxy-` and `sec-` prefixes and `access-control-*` are checked apart).
const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "accept-charset",
    "accept-encoding",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// Why a lowercase `allow_headers` name can never be requested, if so.
fn request_header_problem(lower: &str) -> Option<&'static str> {
    if lower.starts_with("access-control-") {
        Some(
            "access-control-* are CORS protocol headers that only the browser sends and never \
             lists in Access-Control-Request-Headers, so allowing one changes nothing; remove it",
        )
    } else if FORBIDDEN_REQUEST_HEADERS.contains(&lower) {
        Some(
            "a forbidden request-header name (Fetch): browsers never let a page set it, so it is \
             never requested; remove it",
        )
    } else if lower.starts_with("proxy-") || lower.starts_with("sec-") {
        Some(
            "proxy-* and sec-* are forbidden request-header names (Fetch): browsers never let a \
             page set them, so they are never requested; remove it",
        )
    } else {
        None
    }
}

/// Why a lowercase `expose_headers` name can never be exposed, if so.
fn exposed_header_problem(lower: &str) -> Option<&'static str> {
    if lower == "set-cookie" || lower == "set-cookie2" {
        Some(
            "Fetch never exposes set-cookie or set-cookie2 to a page, whatever the server \
             sends; remove it",
        )
    } else if lower.starts_with("access-control-request-") {
        Some(
            "access-control-request-* are request headers: they never appear in a response, so \
             exposing one means nothing; remove it",
        )
    } else {
        None
    }
}

/// What to do with a denied preflight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreflightDeny {
    /// Answer 403 without CORS headers.
    Reject,
    /// Hand the request to the upstream untouched.
    Forward,
}

/// What to do with a denied actual request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActualDeny {
    /// Respond normally without CORS headers.
    Omit,
    /// Answer 403 before the upstream runs.
    Reject,
}

/// Enforce or only record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write the decision's headers and statuses.
    Enforce,
    /// Evaluate and record; change nothing.
    Report,
}

/// The compiled origins (the largest part of a policy: origin sets, a
/// regex automaton of up to 8 MiB) with the `allow_origins` value they
/// were compiled from, shared by every policy compiled from the same value
/// ([`Policy::compile_sharing`]).
#[derive(Debug)]
pub(crate) struct SharedOrigins {
    source: Option<RawValue>,
    matcher: OriginMatcher,
}

impl std::ops::Deref for SharedOrigins {
    type Target = OriginMatcher;

    fn deref(&self) -> &OriginMatcher {
        &self.matcher
    }
}

/// A validated, compiled policy. Immutable; share it across threads.
#[derive(Debug)]
pub struct Policy {
    pub(crate) origins: Arc<SharedOrigins>,
    pub(crate) any_method: bool,
    pub(crate) methods: Vec<Box<[u8]>>,
    /// `methods` shorter than 8 bytes as (length, word), compared without
    /// reading them.
    pub(crate) short_methods: Box<[(usize, u64)]>,
    pub(crate) any_header: bool,
    pub(crate) headers: names::NameSet,
    pub(crate) credentials: bool,
    pub(crate) allow_methods_value: Box<[u8]>,
    pub(crate) allow_headers_value: Box<[u8]>,
    pub(crate) expose_headers_value: Option<Box<[u8]>>,
    pub(crate) max_age_value: Option<Box<[u8]>>,
    pub(crate) preflight_status: u16,
    pub(crate) preflight_deny: PreflightDeny,
    pub(crate) actual_deny: ActualDeny,
    pub(crate) mode: Mode,
    pub(crate) debug: bool,
    pub(crate) warnings: Vec<ConfigError>,
    /// Every outcome's headers, action and status, built from the fields
    /// above.
    pub(crate) plans: Plans,
}

impl Policy {
    /// Reads, validates and compiles a JSON policy document, reporting
    /// unknown fields and every validation problem together.
    pub fn from_json(json: &[u8]) -> Result<Policy, PolicyError> {
        let (raw, errors) = RawPolicy::read_json(json)?;
        Policy::compile_read(&raw, errors)
    }

    /// Compiles what [`RawPolicy::read_json`] read, reporting the problems
    /// it found (unknown or repeated fields) with the validation ones.
    pub fn compile_read(
        raw: &RawPolicy,
        mut errors: Vec<ConfigError>,
    ) -> Result<Policy, PolicyError> {
        match Policy::compile(raw) {
            Ok(policy) if errors.is_empty() => Ok(policy),
            Ok(_) => Err(PolicyError { errors }),
            Err(e) => {
                errors.extend(e.errors);
                Err(PolicyError { errors })
            }
        }
    }

    /// Validates and compiles raw field values, reporting every problem.
    pub fn compile(raw: &RawPolicy) -> Result<Policy, PolicyError> {
        Policy::compile_sharing(raw, None)
    }

    /// As [`Policy::compile`], but reuses `base`'s compiled origins when
    /// `raw` has the same `allow_origins` value (validated all the same):
    /// for hosts that compile many policies differing in a few fields, like
    /// NGINX locations that override one directive.
    pub fn compile_sharing(raw: &RawPolicy, base: Option<&Policy>) -> Result<Policy, PolicyError> {
        let mut r = Reader::new(raw);
        let credentials = r.boolean("allow_credentials").unwrap_or(false);
        let mut warnings = Vec::new();
        let origins = read_origins(&mut r, credentials, &mut warnings);
        let methods = read_methods(&mut r);
        let headers = read_names(&mut r, "allow_headers", None, request_header_problem);
        let expose_star = credentials.then_some(
            "\"*\" is a literal header name when credentials are allowed (Fetch), and no \
             response has a header named \"*\"; list the names to expose",
        );
        let exposed = read_names(
            &mut r,
            "expose_headers",
            expose_star,
            exposed_header_problem,
        );
        let max_age = r.integer("max_age");
        if let Some(age) = max_age.filter(|a| *a > MAX_MAX_AGE) {
            r.error(
                "max_age",
                Some(&age.to_string()),
                format!("browsers cap preflight caching (Chromium at 7200 s); write at most {MAX_MAX_AGE}"),
            );
        }
        let preflight_status = match r.choice("preflight_status", &["204", "200"]) {
            Some("200") => 200,
            _ => 204,
        };
        let preflight_deny = match r.choice("on_preflight_deny", &["reject", "forward"]) {
            Some("forward") => PreflightDeny::Forward,
            _ => PreflightDeny::Reject,
        };
        let actual_deny = match r.choice("on_actual_deny", &["omit", "reject"]) {
            Some("reject") => ActualDeny::Reject,
            _ => ActualDeny::Omit,
        };
        let mode = match r.choice("mode", &["enforce", "report"]) {
            Some("report") => Mode::Report,
            _ => Mode::Enforce,
        };
        let debug = r.boolean("debug").unwrap_or(false);
        let source = raw.get("allow_origins");
        let shared = base
            .map(|b| &b.origins)
            .filter(|o| o.source.is_some() && o.source.as_ref() == source);
        let matcher = match shared {
            Some(o) => Ok(Arc::clone(o)),
            None => OriginMatcher::new(&origins).map(|matcher| {
                Arc::new(SharedOrigins {
                    source: source.cloned(),
                    matcher,
                })
            }),
        };
        let matcher = match matcher {
            Ok(m) => Some(m),
            Err(e) => {
                r.error(
                    "allow_origins",
                    None,
                    format!("the regex patterns together are too large: {e}"),
                );
                None
            }
        };
        if !r.errors.is_empty() {
            return Err(PolicyError { errors: r.errors });
        }
        let (Some(origins), Some((any_method, methods)), Some((any_header, headers))) =
            (matcher, methods, headers)
        else {
            unreachable!("every None above recorded an error");
        };
        let exposed = exposed.map(|(any, names)| if any { vec!["*".to_owned()] } else { names });
        let allow_methods_value = join(if any_method { &["*"][..] } else { &[] }, &methods);
        let mut ah: Vec<&str> = Vec::new();
        if any_header {
            ah.push("*");
        }
        ah.extend(headers.iter().map(String::as_str));
        let allow_headers_value = join(&ah, &[] as &[String]);
        let mut policy = Policy {
            origins,
            any_method,
            methods: methods.iter().map(|m| m.as_bytes().into()).collect(),
            short_methods: methods
                .iter()
                .filter(|m| m.len() < 8)
                .map(|m| (m.len(), names::short_word(m.as_bytes())))
                .collect(),
            any_header,
            headers: names::NameSet::new(headers.iter().map(|h| h.as_bytes().into()).collect()),
            credentials,
            allow_methods_value,
            allow_headers_value,
            expose_headers_value: exposed.filter(|e| !e.is_empty()).map(|e| join(&[], &e)),
            max_age_value: max_age.map(|a| a.to_string().into_bytes().into()),
            preflight_status,
            preflight_deny,
            actual_deny,
            mode,
            debug,
            warnings,
            plans: Plans::empty(),
        };
        policy.plans = Plans::new(&policy);
        Ok(policy)
    }

    /// Checks one field on its own, from text values, as a host that sets
    /// fields one at a time (NGINX directives) can do to report a problem
    /// at the line that caused it. Problems that depend on other fields
    /// (an origin that is fine without credentials) are found by
    /// [`Policy::compile`] only.
    pub fn check_field(field: &str, values: Vec<String>) -> Result<(), PolicyError> {
        let mut raw = RawPolicy::new();
        raw.set_text(field, values)?;
        if field != "allow_origins" {
            raw.set_text("allow_origins", vec!["*".into()])?;
        }
        let errors: Vec<_> = match Policy::compile(&raw) {
            Ok(_) => return Ok(()),
            Err(e) => e
                .errors
                .into_iter()
                .filter(|e| {
                    e.field == field
                        || e.field
                            .strip_prefix(field)
                            .is_some_and(|r| r.starts_with('['))
                })
                .collect(),
        };
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PolicyError { errors })
        }
    }

    /// True when the policy answers every origin the same way (it allows
    /// `*`), so responses need no `Vary: Origin`.
    pub fn is_origin_independent(&self) -> bool {
        self.origins.allows_any()
    }

    /// True in `mode: "report"`.
    pub fn is_report_only(&self) -> bool {
        self.mode == Mode::Report
    }

    /// What the user should know about an accepted policy (e.g. a regex
    /// that also admits look-alike domains), field by field.
    pub fn warnings(&self) -> &[ConfigError] {
        &self.warnings
    }
}

fn join(first: &[&str], rest: &[String]) -> Box<[u8]> {
    let all: Vec<&str> = first
        .iter()
        .copied()
        .chain(rest.iter().map(String::as_str))
        .collect();
    all.join(", ").into_bytes().into()
}

fn read_origins(
    r: &mut Reader<'_>,
    credentials: bool,
    warnings: &mut Vec<ConfigError>,
) -> Vec<OriginPattern> {
    let mut analyser = Analyser::default();
    let Some(list) = r.list("allow_origins") else {
        if r.errors
            .iter()
            .all(|e| !e.field.starts_with("allow_origins"))
        {
            r.error(
                "allow_origins",
                None,
                "is required; list the origins allowed, e.g. [\"https://app.example.com\"]",
            );
        }
        return Vec::new();
    };
    if list.is_empty() {
        r.error("allow_origins", None, "is empty; list at least one origin");
    }
    let mut out: Vec<OriginPattern> = Vec::with_capacity(list.len());
    let mut seen: HashSet<&str, RandomState> = HashSet::default();
    for (i, text) in list.iter().enumerate() {
        if !seen.insert(text.as_str()) {
            continue; // duplicates are folded
        }
        // Named only when reported: formatting it for every entry cost
        // more than parsing one.
        let field = || format!("allow_origins[{i}]");
        let pattern = match parse_pattern(text) {
            Ok(p) => p,
            Err(msg) => {
                r.error(field(), Some(text), msg);
                continue;
            }
        };
        // What the pattern can match (crate::analysis): regexes as
        // automata, wildcards against the Public Suffix List.
        let checked = analyser.check(&pattern, credentials);
        warnings.extend(checked.warnings.into_iter().map(|message| ConfigError {
            field: field(),
            value: Some(text.clone()),
            message,
        }));
        if let Some(msg) = origin_problem(&pattern, credentials).or(checked.error) {
            r.error(field(), Some(text), msg);
            continue;
        }
        out.push(pattern);
    }
    out
}

/// Policy-level checks of one origin pattern.
fn origin_problem(pattern: &OriginPattern, credentials: bool) -> Option<String> {
    match pattern {
        OriginPattern::Any if credentials => {
            return Some(
                "\"*\" with allow_credentials would let every site read credentialed responses; list the \
                 origins, or set allow_credentials to false"
                    .into(),
            )
        }
        OriginPattern::Regex(re) if re.len() > MAX_REGEX_LEN => {
            return Some(format!(
                "the regex is longer than {MAX_REGEX_LEN} bytes; split it or use wildcards"
            ));
        }
        _ => {}
    }
    let (Some(scheme), Some(host)) = (pattern.scheme(), pattern.host()) else {
        return None;
    };
    if credentials && scheme == "http" && !is_loopback_host(host) {
        return Some(format!(
            "http:// origins with allow_credentials let any network attacker read credentialed responses; \
             write \"https://{}\" (http:// is accepted with credentials only for loopback hosts)",
            host
        ));
    }
    None
}

/// Names a lookaround or backreference in `re`, which the linear-time
/// engine cannot run, and says what to do instead.
pub(crate) fn unsupported_regex_construct(re: &str) -> Option<String> {
    use regex_syntax::ast::{parse::Parser, ErrorKind};
    let err = Parser::new().parse(re).err()?;
    let (what, instead) = match err.kind() {
        ErrorKind::UnsupportedLookAround => (
            "a lookaround ((?=…), (?!…), (?<=…) or (?<!…))",
            "write the origins it should admit as plain alternatives, or use wildcards",
        ),
        ErrorKind::UnsupportedBackreference => (
            "a backreference (\\1, \\k<name>)",
            "write each repeated part out",
        ),
        _ => return None,
    };
    let at = err.span().start.offset;
    Some(format!(
        "{what} at byte {at}: corsgate matches origins with a linear-time automaton, which cannot \
         express lookarounds or backreferences (so no origin can make matching slow); {instead}"
    ))
}

/// Reads `allow_methods`: `(any, methods)`.
fn read_methods(r: &mut Reader<'_>) -> Option<(bool, Vec<String>)> {
    let list = r
        .list("allow_methods")
        .unwrap_or_else(|| vec!["GET".into(), "HEAD".into(), "POST".into()]);
    let mut any = false;
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<String, RandomState> = HashSet::default();
    let mut ok = true;
    for (i, m) in list.iter().enumerate() {
        let field = format!("allow_methods[{i}]");
        if m == "*" {
            // With credentials the requested method is echoed instead.
            any = true;
            continue;
        }
        if !is_token(m.as_bytes()) {
            r.error(
                field,
                Some(m),
                "not a method name (an HTTP token, e.g. \"PATCH\")",
            );
            ok = false;
            continue;
        }
        let upper = m.to_ascii_uppercase();
        if FORBIDDEN_METHODS.contains(&upper.as_str()) {
            r.error(field, Some(m), "browsers never send this method; remove it");
            ok = false;
            continue;
        }
        let m = if NORMALIZED_METHODS.contains(&upper.as_str()) {
            upper
        } else {
            m.clone()
        };
        if seen.insert(m.clone()) {
            out.push(m);
        }
    }
    ok.then_some((any, out))
}

/// Reads `allow_headers` or `expose_headers`: `(any, names)`; request
/// header names are lowercased, exposed ones kept as written. `star` is
/// why `*` is refused, if it is; `problem` says why a lowercase name can
/// never work, if so.
fn read_names(
    r: &mut Reader<'_>,
    field: &str,
    star: Option<&str>,
    problem: fn(&str) -> Option<&'static str>,
) -> Option<(bool, Vec<String>)> {
    let kind = if field == "allow_headers" {
        "request"
    } else {
        "response"
    };
    let list = r.list(field).unwrap_or_default();
    let mut any = false;
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<String, RandomState> = HashSet::default();
    let mut ok = true;
    for (i, name) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if name == "*" {
            if let Some(why) = star {
                r.error(at, Some(name), why);
                ok = false;
            }
            any = true;
            continue;
        }
        if !is_token(name.as_bytes()) {
            r.error(
                at,
                Some(name),
                "not a header name (an HTTP token, e.g. \"x-request-id\")",
            );
            ok = false;
            continue;
        }
        if name.len() > MAX_HEADER_NAME_LEN {
            r.error(
                at,
                Some(name),
                format!("header names are limited to {MAX_HEADER_NAME_LEN} bytes"),
            );
            ok = false;
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if let Some(why) = problem(&lower) {
            r.error(at, Some(name), why);
            ok = false;
            continue;
        }
        // Request header names are matched in lowercase; exposed names are
        // sent as written.
        let name = if kind == "request" {
            lower
        } else {
            name.clone()
        };
        if seen.insert(name.to_ascii_lowercase()) {
            out.push(name);
        }
    }
    ok.then_some((any, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(json: &str) -> String {
        Policy::from_json(json.as_bytes()).unwrap_err().to_string()
    }

    macro_rules! refused {
        ($($name:ident: $json:expr => $needle:expr;)*) => {$(
            #[test]
            fn $name() {
                let text = errors($json);
                assert!(text.contains($needle), "{text}");
            }
        )*};
    }

    refused! {
        star_with_credentials: r#"{"allow_origins":["*"],"allow_credentials":true}"# => "allow_origins[0] = \"*\": \"*\" with allow_credentials";
        null_origin: r#"{"allow_origins":["null"]}"# => "null origin";
        file_origin: r#"{"allow_origins":["file://"]}"# => "file:";
        http_with_credentials: r#"{"allow_origins":["http://a.com"],"allow_credentials":true}"# => "write \"https://a.com\"";
        public_suffix_com: r#"{"allow_origins":["https://*.com"],"allow_credentials":true}"# => "\"com\" is a public suffix";
        public_suffix_co_uk: r#"{"allow_origins":["https://*.co.uk"],"allow_credentials":true}"# => "\"co.uk\" is a public suffix";
        public_suffix_github_io: r#"{"allow_origins":["https://*.github.io"],"allow_credentials":true}"# => "\"github.io\" is a public suffix";
        forbidden_method: r#"{"allow_origins":["*"],"allow_methods":["trace"]}"# => "allow_methods[0] = \"trace\": browsers never send";
        forbidden_header: r#"{"allow_origins":["*"],"allow_headers":["Cookie"]}"# => "allow_headers[0] = \"Cookie\": a forbidden request-header name";
        forbidden_sec_header: r#"{"allow_origins":["*"],"allow_headers":["sec-fetch-mode"]}"# => "forbidden request-header names";
        invalid_token: r#"{"allow_origins":["*"],"allow_headers":["x y"]}"# => "not a header name";
        max_age_too_big: r#"{"allow_origins":["*"],"max_age":86401}"# => "max_age = \"86401\"";
        missing_origins: r#"{}"# => "allow_origins: is required";
        empty_origins: r#"{"allow_origins":[]}"# => "allow_origins: is empty";
        bad_status: r#"{"allow_origins":["*"],"preflight_status":201}"# => "preflight_status = \"201\": must be one of: 204, 200";
        bad_mode: r#"{"allow_origins":["*"],"mode":"audit"}"# => "mode = \"audit\": must be one of: enforce, report";
        star_expose_with_credentials: r#"{"allow_origins":["https://a.com"],"allow_credentials":true,"expose_headers":["*"]}"# => "expose_headers[0] = \"*\": \"*\" is a literal header name";
        bad_regex: r#"{"allow_origins":["regex:(unclosed"]}"# => "invalid or too large regex";
        regex_lookahead: r#"{"allow_origins":["regex:https://(?!evil)[a-z]+\\.a\\.com"]}"# => "a lookaround ((?=…), (?!…), (?<=…) or (?<!…)) at byte 8: corsgate matches origins with a linear-time automaton";
        regex_lookbehind: r#"{"allow_origins":["regex:https://[a-z]+(?<!evil)\\.a\\.com"]}"# => "a lookaround";
        regex_backreference: r#"{"allow_origins":["regex:https://([a-z]+)\\.\\1\\.com"]}"# => "a backreference";
        header_access_control: r#"{"allow_origins":["*"],"allow_headers":["Access-Control-Allow-Origin"]}"# => "allow_headers[0] = \"Access-Control-Allow-Origin\": access-control-* are CORS protocol headers";
        header_access_control_request: r#"{"allow_origins":["*"],"allow_headers":["access-control-request-method"]}"# => "access-control-* are CORS protocol headers";
        header_proxy_prefix: r#"{"allow_origins":["*"],"allow_headers":["proxy-authorization"]}"# => "proxy-* and sec-* are forbidden request-header names";
        header_forbidden_host: r#"{"allow_origins":["*"],"allow_headers":["host"]}"# => "a forbidden request-header name (Fetch)";
        expose_set_cookie: r#"{"allow_origins":["*"],"expose_headers":["Set-Cookie"]}"# => "expose_headers[0] = \"Set-Cookie\": Fetch never exposes set-cookie";
        expose_set_cookie2: r#"{"allow_origins":["*"],"expose_headers":["set-cookie2"]}"# => "never exposes set-cookie";
        expose_request_header: r#"{"allow_origins":["*"],"expose_headers":["access-control-request-headers"]}"# => "access-control-request-* are request headers";
        origin_short_ipv4: r#"{"allow_origins":["http://127.1"]}"# => "write \"http://127.0.0.1\"";
        origin_number_host: r#"{"allow_origins":["http://1:6060"]}"# => "write \"http://0.0.0.1:6060\"";
        origin_ipv4_like_domain: r#"{"allow_origins":["http://foo.bar.255"]}"# => "invalid host \"foo.bar.255\"";
        origin_five_part_ipv4: r#"{"allow_origins":["http://127.0.0.1.1"]}"# => "invalid host \"127.0.0.1.1\"";
        origin_long_ipv6: r#"{"allow_origins":["http://[0:0:0:0:0:0:0:1]:8080"]}"# => "write \"http://[::1]:8080\"";
        origin_zero_padded_ipv6: r#"{"allow_origins":["http://[::0001]"]}"# => "write \"http://[::1]\"";
        origin_bad_punycode: r#"{"allow_origins":["https://xn--f.example"]}"# => "invalid host \"xn--f.example\"";
        origin_long_label: r#"{"allow_origins":["https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"]}"# => "a label is longer than 63 bytes";
        wildcard_bad_punycode: r#"{"allow_origins":["https://*.xn--f.example"]}"# => "invalid domain \"xn--f.example\" after";
        any_port_short_ipv4: r#"{"allow_origins":["http://127.1:*"]}"# => "write \"http://127.0.0.1:*\"";
    }

    #[test]
    fn check_field_alone() {
        let check =
            |f: &str, v: &[&str]| Policy::check_field(f, v.iter().map(|s| s.to_string()).collect());
        assert!(check("allow_origins", &["https://a.com", "http://localhost:*"]).is_ok());
        let e = check("allow_origins", &["https://a.com", "https://b.com:443"])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("allow_origins[1] = \"https://b.com:443\""),
            "{e}"
        );
        assert!(
            check("allow_credentials", &["on"]).is_ok(),
            "cross-field problems are not its business"
        );
        assert!(check("max_age", &["99999"])
            .unwrap_err()
            .to_string()
            .starts_with("max_age = \"99999\""));
        assert!(check("allow_methods", &["GET", "TRACE"]).is_err());
        assert!(check("nope", &["x"])
            .unwrap_err()
            .to_string()
            .contains("unknown field"));
    }

    #[test]
    fn every_error_reported_together() {
        let text = errors(
            r#"{"allow_origins":["https://a.com:443","null"],"allow_methods":["CONNECT"],"max_age":99999,"mode":"x"}"#,
        );
        assert_eq!(text.lines().count(), 5, "{text}");
    }

    #[test]
    fn allowed_edge_cases() {
        for json in [
            r#"{"allow_origins":["http://localhost:*","http://127.0.0.1:3000","http://[::1]:8080","http://*.localhost"],"allow_credentials":true}"#,
            r#"{"allow_origins":["https://*.example.co.uk"],"allow_credentials":true}"#,
            r#"{"allow_origins":["https://*.com"]}"#,
            r#"{"allow_origins":["https://*.internal"],"allow_credentials":true}"#,
            r#"{"allow_origins":["*"],"allow_methods":["*"],"allow_headers":["*"],"expose_headers":["*"]}"#,
            r#"{"allow_origins":["https://a.com"],"allow_credentials":true,"allow_methods":["*"],"allow_headers":["*"]}"#,
            r#"{"allow_origins":["https://example.com.","https://*.example.com.","https://example.com.:*","http://[::1]:*"]}"#,
            r#"{"allow_origins":["https://xn--bcher-kva.example","chrome-extension://abcdefghijklmnop"]}"#,
            "\u{feff}{\"allow_origins\":[\"https://a.com\"]}",
        ] {
            Policy::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
        }
    }

    #[test]
    fn long_host_refused() {
        let host = vec!["a".repeat(60); 5].join(".");
        let text = errors(&format!(r#"{{"allow_origins":["https://{host}"]}}"#));
        assert!(text.contains("longer than 253 bytes"), "{text}");
    }

    #[test]
    fn header_values_precomputed() {
        let p = Policy::from_json(
            br#"{"allow_origins":["https://a.com","https://a.com"],"allow_methods":["put","PATCH","patch","get"],
                "allow_headers":["X-B","x-a","x-b"],"expose_headers":["X-Id"],"max_age":600}"#,
        )
        .unwrap();
        assert_eq!(&*p.allow_methods_value, b"PUT, PATCH, patch, GET");
        assert_eq!(&*p.allow_headers_value, b"x-b, x-a");
        assert_eq!(p.expose_headers_value.as_deref(), Some(&b"X-Id"[..]));
        assert_eq!(p.max_age_value.as_deref(), Some(&b"600"[..]));
    }
}
