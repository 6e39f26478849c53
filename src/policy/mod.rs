//! Policy validation and compilation: raw field values in, an immutable
//! [`Policy`] with every lookup table and response header value built once.

mod matcher;

use std::collections::HashSet;

use foldhash::fast::RandomState;

use crate::analysis::Analyser;
use crate::config::{ConfigError, PolicyError, RawPolicy, Reader};
use crate::origin::{is_loopback_host, parse_pattern, OriginPattern};
use crate::tokens::is_token;

pub use matcher::{OriginMatcher, MAX_REGEX_DFA_BYTES, MAX_REGEX_LEN};

/// Longest `max_age` accepted, in seconds (one day).
pub const MAX_MAX_AGE: u64 = 86_400;
/// Longest header name a policy may list, in bytes.
pub const MAX_HEADER_NAME_LEN: usize = 128;

/// Methods Fetch upper-cases before sending; the policy does the same.
const NORMALIZED_METHODS: &[&str] = &["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
/// Methods Fetch refuses to send.
const FORBIDDEN_METHODS: &[&str] = &["CONNECT", "TRACE", "TRACK"];
/// Request headers Fetch refuses to let a page set.
const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "access-control-request-private-network",
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
/// Response headers Fetch never exposes to a page.
const FORBIDDEN_RESPONSE_HEADERS: &[&str] = &["set-cookie", "set-cookie2"];

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

/// A validated, compiled policy. Immutable; share it across threads.
#[derive(Debug)]
pub struct Policy {
    pub(crate) origins: OriginMatcher,
    pub(crate) any_method: bool,
    pub(crate) methods: Vec<Box<[u8]>>,
    pub(crate) any_header: bool,
    pub(crate) headers: HashSet<Box<[u8]>, RandomState>,
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
        let mut r = Reader::new(raw);
        let credentials = r.boolean("allow_credentials").unwrap_or(false);
        let mut warnings = Vec::new();
        let origins = read_origins(&mut r, credentials, &mut warnings);
        let methods = read_methods(&mut r, credentials);
        let headers = read_names(
            &mut r,
            "allow_headers",
            credentials,
            FORBIDDEN_REQUEST_HEADERS,
            "request",
        );
        let exposed = read_names(
            &mut r,
            "expose_headers",
            credentials,
            FORBIDDEN_RESPONSE_HEADERS,
            "response",
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
        let matcher = match OriginMatcher::new(&origins) {
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
        Ok(Policy {
            origins,
            any_method,
            methods: methods.iter().map(|m| m.as_bytes().into()).collect(),
            any_header,
            headers: headers.iter().map(|h| h.as_bytes().into()).collect(),
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
        })
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

    /// What the user should know about an accepted policy (e.g. a regex
    /// that also admits look-alike domains), field by field.
    pub fn warnings(&self) -> &[ConfigError] {
        &self.warnings
    }

    /// True in `mode: "report"`.
    pub fn is_report_only(&self) -> bool {
        self.mode == Mode::Report
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
        let field = format!("allow_origins[{i}]");
        let pattern = match parse_pattern(text) {
            Ok(p) => p,
            Err(msg) => {
                r.error(field, Some(text), msg);
                continue;
            }
        };
        // What the pattern can match (crate::analysis): regexes as
        // automata, wildcards against the Public Suffix List.
        let checked = analyser.check(&pattern, credentials);
        warnings.extend(checked.warnings.into_iter().map(|message| ConfigError {
            field: field.clone(),
            value: Some(text.clone()),
            message,
        }));
        if let Some(msg) = origin_problem(&pattern, credentials).or(checked.error) {
            r.error(field, Some(text), msg);
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

/// Reads `allow_methods`: `(any, methods)`.
fn read_methods(r: &mut Reader<'_>, credentials: bool) -> Option<(bool, Vec<String>)> {
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
            if credentials {
                r.error(field, Some(m), "\"*\" means a literal method name when credentials are allowed; list the methods");
                ok = false;
            }
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

/// Reads `allow_headers` or `expose_headers`: `(any, lowercase names)`.
fn read_names(
    r: &mut Reader<'_>,
    field: &str,
    credentials: bool,
    forbidden: &[&str],
    kind: &str,
) -> Option<(bool, Vec<String>)> {
    let list = r.list(field).unwrap_or_default();
    let mut any = false;
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<String, RandomState> = HashSet::default();
    let mut ok = true;
    for (i, name) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if name == "*" {
            if credentials {
                r.error(at, Some(name), "\"*\" means a literal header name when credentials are allowed; list the names");
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
        let is_forbidden = forbidden.contains(&lower.as_str())
            || (kind == "request" && (lower.starts_with("proxy-") || lower.starts_with("sec-")));
        if is_forbidden {
            r.error(
                at,
                Some(name),
                format!("a forbidden {kind} header: browsers never let pages use it; remove it"),
            );
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
        forbidden_header: r#"{"allow_origins":["*"],"allow_headers":["Cookie"]}"# => "allow_headers[0] = \"Cookie\": a forbidden request header";
        forbidden_sec_header: r#"{"allow_origins":["*"],"allow_headers":["sec-fetch-mode"]}"# => "forbidden request header";
        invalid_token: r#"{"allow_origins":["*"],"allow_headers":["x y"]}"# => "not a header name";
        max_age_too_big: r#"{"allow_origins":["*"],"max_age":86401}"# => "max_age = \"86401\"";
        missing_origins: r#"{}"# => "allow_origins: is required";
        empty_origins: r#"{"allow_origins":[]}"# => "allow_origins: is empty";
        bad_status: r#"{"allow_origins":["*"],"preflight_status":201}"# => "preflight_status = \"201\": must be one of: 204, 200";
        bad_mode: r#"{"allow_origins":["*"],"mode":"audit"}"# => "mode = \"audit\": must be one of: enforce, report";
        star_headers_with_credentials: r#"{"allow_origins":["https://a.com"],"allow_credentials":true,"allow_headers":["*"]}"# => "allow_headers[0]";
        bad_regex: r#"{"allow_origins":["regex:(unclosed"]}"# => "invalid or too large regex";
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
        ] {
            Policy::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
        }
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
