//! A plain reference model of corsgate's decisions, written for clarity
//! from the rules in tests/vectors/README.md (and DESIGN.md), with simple
//! string operations and loops: no tables, no hashing, no single-pass
//! scanners. The property tests (tests/proptest_*.rs) and the fuzz targets
//! (fuzz/) compare the optimised code in src/ against it.
//!
//! Shared by path (`#[path = "../../tests/reference/mod.rs"] mod reference;`
//! in fuzz/), so it depends only on `corsgate` and `serde_json`.
#![allow(dead_code)]

use corsgate::origin::OriginError;

/// Longest request `Origin` accepted (README: "longer than 512 bytes").
pub const MAX_ORIGIN: usize = 512;
/// `Access-Control-Request-Headers` caps (README).
pub const MAX_ACRH_LINES: usize = 8;
pub const MAX_ACRH_BYTES: usize = 4096;
pub const MAX_ACRH_NAMES: usize = 64;

// ---------------------------------------------------------------------------
// Tokens and lists

/// RFC 9110 tchar.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty run of tchars.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Trims spaces and tabs from both ends.
pub fn trim(s: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// Why a list was refused (mirrors `corsgate::tokens::ListError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListErr {
    TooLong,
    Malformed,
    TooMany,
}

/// What [`scan_list`] returns: the visited elements and the result.
pub type Scan = (Vec<Vec<u8>>, Result<Option<Vec<u8>>, ListErr>);

/// The reference comma-list scanner. Returns the elements `visit` was
/// called on (it is called in order until it first refuses one) and the
/// result: `Ok(Some(first refused))`, `Ok(None)` or the first error met
/// walking the elements in order (bytes first, then each element:
/// malformed, then the element count).
pub fn scan_list(
    lines: &[&[u8]],
    max_bytes: usize,
    max_elements: usize,
    mut visit: impl FnMut(&[u8]) -> bool,
) -> Scan {
    let mut visited = Vec::new();
    let total: usize = lines.iter().map(|l| l.len()).sum();
    if total > max_bytes {
        return (visited, Err(ListErr::TooLong));
    }
    let mut count = 0;
    let mut refused: Option<Vec<u8>> = None;
    for line in lines {
        for raw in line.split(|&b| b == b',') {
            let element = trim(raw);
            if element.is_empty() {
                continue;
            }
            if !is_token(element) {
                return (visited, Err(ListErr::Malformed));
            }
            count += 1;
            if count > max_elements {
                return (visited, Err(ListErr::TooMany));
            }
            if refused.is_none() {
                visited.push(element.to_vec());
                if !visit(element) {
                    refused = Some(element.to_vec());
                }
            }
        }
    }
    (visited, Ok(refused))
}

// ---------------------------------------------------------------------------
// Request origins

/// A parsed request origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefOrigin {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

fn valid_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c))
}

/// A lowercase domain / IPv4 host (labels of `[a-z0-9_-]`, none empty,
/// but one trailing dot allowed: `a.com.` is its own host) or a lowercase
/// bracketed IPv6 literal.
pub fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty()
            && inner.contains(':')
            && inner
                .chars()
                .all(|c| c.is_ascii_digit() || "abcdef:.".contains(c));
    }
    let host = match host.strip_suffix('.') {
        Some(h) if !h.is_empty() => h,
        _ => host,
    };
    host.split('.').all(|label| {
        !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    })
}

/// `digits` as a port: 1–65535, no leading zero.
fn port_number(digits: &str) -> Option<u16> {
    if digits.is_empty()
        || digits.starts_with('0')
        || digits.len() > 5
        || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    digits.parse::<u16>().ok()
}

/// The reference request-origin parser (README "Origin").
pub fn parse_origin(raw: &[u8]) -> Result<RefOrigin, OriginError> {
    if raw.is_empty() {
        return Err(OriginError::Malformed);
    }
    if raw.len() > MAX_ORIGIN {
        return Err(OriginError::TooLong);
    }
    if raw.contains(&b',') {
        return Err(OriginError::Duplicated);
    }
    if raw == b"null" {
        return Err(OriginError::Null);
    }
    let text = std::str::from_utf8(raw).map_err(|_| OriginError::Malformed)?;
    if !text.is_ascii() {
        return Err(OriginError::Malformed);
    }
    let (scheme, rest) = text.split_once("://").ok_or(OriginError::Malformed)?;
    if !valid_scheme(scheme) {
        return Err(OriginError::Malformed);
    }
    let (host, after) = if rest.starts_with('[') {
        let close = rest.find(']').ok_or(OriginError::Malformed)?;
        rest.split_at(close + 1)
    } else {
        rest.split_at(rest.find(':').unwrap_or(rest.len()))
    };
    if !valid_host(host) {
        return Err(OriginError::Malformed);
    }
    let port = if after.is_empty() {
        None
    } else {
        let digits = after.strip_prefix(':').ok_or(OriginError::Malformed)?;
        let port = port_number(digits).ok_or(OriginError::Malformed)?;
        if default_port(scheme) == Some(port) {
            return Err(OriginError::Malformed);
        }
        Some(port)
    };
    Ok(RefOrigin {
        scheme: scheme.to_owned(),
        host: host.to_owned(),
        port,
    })
}

// ---------------------------------------------------------------------------
// Policies

/// The regexes the generators use, with a hand-written matcher each (so
/// the reference needs no regex engine).
pub const REGEXES: &[&str] = &[
    r"regex:https://[a-z]+\.r\.test",
    r"regex:http://localhost:(3000|4000)",
];

fn regex_matches(pattern: &str, origin: &str) -> bool {
    match pattern {
        r"regex:https://[a-z]+\.r\.test" => origin
            .strip_prefix("https://")
            .and_then(|o| o.strip_suffix(".r.test"))
            .is_some_and(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_lowercase())),
        r"regex:http://localhost:(3000|4000)" => {
            origin == "http://localhost:3000" || origin == "http://localhost:4000"
        }
        _ => panic!("the reference knows no regex {pattern}"),
    }
}

/// A policy as the fields of its JSON document (None = field absent).
#[derive(Debug, Clone, Default)]
pub struct RefPolicy {
    pub allow_origins: Vec<String>,
    pub allow_methods: Option<Vec<String>>,
    pub allow_headers: Option<Vec<String>>,
    pub expose_headers: Option<Vec<String>>,
    pub allow_credentials: bool,
    pub max_age: Option<u64>,
    pub preflight_status: Option<u16>,
    pub on_preflight_deny: Option<String>,
    pub on_actual_deny: Option<String>,
    pub mode: Option<String>,
    pub debug: bool,
}

impl RefPolicy {
    pub fn to_json(&self) -> String {
        let mut doc = serde_json::Map::new();
        doc.insert("allow_origins".into(), self.allow_origins.clone().into());
        let mut opt = |k: &str, v: Option<serde_json::Value>| {
            if let Some(v) = v {
                doc.insert(k.into(), v);
            }
        };
        opt("allow_methods", self.allow_methods.clone().map(Into::into));
        opt("allow_headers", self.allow_headers.clone().map(Into::into));
        opt(
            "expose_headers",
            self.expose_headers.clone().map(Into::into),
        );
        opt(
            "allow_credentials",
            self.allow_credentials.then_some(true.into()),
        );
        opt("max_age", self.max_age.map(Into::into));
        opt("preflight_status", self.preflight_status.map(Into::into));
        opt(
            "on_preflight_deny",
            self.on_preflight_deny.clone().map(Into::into),
        );
        opt(
            "on_actual_deny",
            self.on_actual_deny.clone().map(Into::into),
        );
        opt("mode", self.mode.clone().map(Into::into));
        opt("debug", self.debug.then_some(true.into()));
        serde_json::Value::Object(doc).to_string()
    }

    fn has(list: &Option<Vec<String>>, item: &str) -> bool {
        list.as_ref().is_some_and(|l| l.iter().any(|x| x == item))
    }

    fn any_origin(&self) -> bool {
        self.allow_origins.iter().any(|o| o == "*")
    }

    /// The methods as the policy holds them: DELETE GET HEAD OPTIONS POST
    /// PUT upper-cased, others as written, first occurrence kept, `*`
    /// apart.
    fn methods(&self) -> Vec<String> {
        let default = vec!["GET".to_owned(), "HEAD".to_owned(), "POST".to_owned()];
        let mut out: Vec<String> = Vec::new();
        for m in self.allow_methods.as_ref().unwrap_or(&default) {
            if m == "*" {
                continue;
            }
            let upper = m.to_ascii_uppercase();
            let m = if ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].contains(&upper.as_str())
            {
                upper
            } else {
                m.clone()
            };
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    /// Names without `*`, deduplicated case-insensitively, lowercased or
    /// as written.
    fn names(list: &Option<Vec<String>>, lowercase: bool) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in list.iter().flatten() {
            if n == "*" {
                continue;
            }
            let n = if lowercase {
                n.to_ascii_lowercase()
            } else {
                n.clone()
            };
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
                out.push(n);
            }
        }
        out
    }

    /// The reference origin matcher: loops over the patterns.
    pub fn origin_allowed(&self, raw: &[u8], o: &RefOrigin) -> bool {
        let raw = std::str::from_utf8(raw).expect("a parsed origin is ASCII");
        self.allow_origins
            .iter()
            .any(|p| pattern_matches(p, raw, o))
    }
}

/// One pattern (already validated by the policy) against a parsed origin.
pub fn pattern_matches(pattern: &str, raw: &str, o: &RefOrigin) -> bool {
    if pattern == "*" {
        return true;
    }
    if pattern.starts_with("regex:") {
        return regex_matches(pattern, raw);
    }
    let (scheme, rest) = pattern.split_once("://").expect("validated pattern");
    let (host, port) = if rest.starts_with('[') {
        let close = rest.find(']').expect("validated pattern");
        let (h, p) = rest.split_at(close + 1);
        (h, p.strip_prefix(':'))
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if scheme != o.scheme {
        return false;
    }
    let port_ok = match port {
        None => o.port.is_none(),
        Some("*") => true,
        Some(n) => o.port.map(|p| p.to_string()).as_deref() == Some(n),
    };
    if let Some(suffix) = host.strip_prefix("*.") {
        // one or more labels, then a dot, then the suffix
        let dotted = format!(".{suffix}");
        return port_ok && o.host.len() > dotted.len() && o.host.ends_with(&dotted);
    }
    host == o.host && port_ok
}

// ---------------------------------------------------------------------------
// Decisions

/// The reference decision, as the vectors write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefDecision {
    pub verdict: &'static str,
    pub kind: &'static str,
    pub reason: &'static str,
    pub action: &'static str,
    pub status: u16,
    pub strip_upstream: bool,
    pub detail: Vec<u8>,
    pub headers: Vec<(&'static str, Vec<u8>)>,
}

const VARY_PREFLIGHT: &[u8] =
    b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// The reference evaluation of `method` + header lines (names in any case,
/// in order) under a policy `Policy::from_json` accepted.
pub fn evaluate(p: &RefPolicy, method: &[u8], headers: &[(Vec<u8>, Vec<u8>)]) -> RefDecision {
    let lines = |name: &str| -> Vec<&[u8]> {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
            .collect()
    };
    let origins = lines("origin");
    let request_methods = lines("access-control-request-method");
    let request_headers = lines("access-control-request-headers");

    let mut d = RefDecision {
        verdict: "allowed",
        kind: "actual",
        reason: "allowed",
        action: "continue",
        status: 0,
        strip_upstream: true,
        detail: Vec::new(),
        headers: Vec::new(),
    };
    let deny = |d: &mut RefDecision, reason: &'static str, detail: &[u8]| {
        d.verdict = "denied";
        d.reason = reason;
        d.detail = detail.to_vec();
    };

    if origins.is_empty() {
        d.verdict = "not-cors";
        d.kind = "not-cors";
        d.reason = "not-cors";
    } else {
        let preflight = method == b"OPTIONS" && !request_methods.is_empty();
        d.kind = if preflight { "preflight" } else { "actual" };
        let origin = origins[0];

        // Origin.
        if origins.len() > 1 {
            deny(&mut d, "origin-duplicated", b"");
        } else {
            match parse_origin(origin) {
                Ok(o) if p.origin_allowed(origin, &o) => {}
                Ok(_) => deny(&mut d, "origin-not-allowed", origin),
                Err(OriginError::Null) if p.any_origin() => {}
                Err(OriginError::Null) => deny(&mut d, "origin-null", b""),
                Err(OriginError::Malformed) => deny(&mut d, "origin-malformed", b""),
                Err(OriginError::TooLong) => deny(&mut d, "origin-too-long", b""),
                Err(OriginError::Duplicated) => deny(&mut d, "origin-duplicated", b""),
            }
        }

        // Method.
        let requested_method = request_methods.first().copied().unwrap_or_default();
        let safelisted = |m: &[u8]| m == b"GET" || m == b"HEAD" || m == b"POST";
        if preflight && d.verdict == "allowed" {
            let m = requested_method;
            if request_methods.len() > 1 {
                deny(&mut d, "method-duplicated", b"");
            } else if !is_token(m) {
                deny(&mut d, "method-malformed", b"");
            } else if !(safelisted(m)
                || (RefPolicy::has(&p.allow_methods, "*")
                    && !forbidden_method(m)
                    && m.len() <= 512)
                || p.methods().iter().any(|x| x.as_bytes() == m))
            {
                deny(&mut d, "method-not-allowed", m);
            }
        }

        // Headers.
        let mut requested_headers = false;
        if preflight && d.verdict == "allowed" {
            if request_headers.len() > MAX_ACRH_LINES {
                deny(&mut d, "too-many-header-lines", b"");
            } else {
                let any = RefPolicy::has(&p.allow_headers, "*");
                let names = RefPolicy::names(&p.allow_headers, true);
                let (visited, result) =
                    scan_list(&request_headers, MAX_ACRH_BYTES, MAX_ACRH_NAMES, |name| {
                        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
                        (any && lower != "authorization") || names.contains(&lower)
                    });
                requested_headers = !visited.is_empty();
                match result {
                    Ok(None) => {}
                    Ok(Some(name)) => deny(&mut d, "header-not-allowed", &name),
                    Err(ListErr::TooLong) => deny(&mut d, "headers-too-long", b""),
                    Err(ListErr::Malformed) => deny(&mut d, "headers-malformed", b""),
                    Err(ListErr::TooMany) => deny(&mut d, "too-many-headers", b""),
                }
            }
        }

        // Allowed: the CORS headers.
        if d.verdict == "allowed" {
            let acao: &[u8] = if p.any_origin() { b"*" } else { origin };
            d.headers
                .push(("access-control-allow-origin", acao.to_vec()));
            if p.allow_credentials {
                d.headers
                    .push(("access-control-allow-credentials", b"true".to_vec()));
            }
            if preflight {
                // Always ACAM (Gateway API), unless the policy's list is
                // empty; with credentials a `*` echoes the method.
                if RefPolicy::has(&p.allow_methods, "*") && p.allow_credentials {
                    d.headers
                        .push(("access-control-allow-methods", requested_method.to_vec()));
                } else {
                    let mut all: Vec<String> = Vec::new();
                    if RefPolicy::has(&p.allow_methods, "*") {
                        all.push("*".into());
                    }
                    all.extend(p.methods());
                    if !all.is_empty() {
                        d.headers
                            .push(("access-control-allow-methods", all.join(", ").into_bytes()));
                    }
                }
                if requested_headers {
                    if RefPolicy::has(&p.allow_headers, "*") && p.allow_credentials {
                        // One ACAH per request line that names something,
                        // trimmed of spaces, tabs and commas.
                        for line in &request_headers {
                            let text = String::from_utf8_lossy(line);
                            let trimmed = text.trim_matches(|c| c == ' ' || c == '\t' || c == ',');
                            if !trimmed.is_empty() {
                                d.headers.push((
                                    "access-control-allow-headers",
                                    trimmed.as_bytes().to_vec(),
                                ));
                            }
                        }
                    } else {
                        let mut all: Vec<String> = Vec::new();
                        if RefPolicy::has(&p.allow_headers, "*") {
                            all.push("*".into());
                        }
                        all.extend(RefPolicy::names(&p.allow_headers, true));
                        d.headers
                            .push(("access-control-allow-headers", all.join(", ").into_bytes()));
                    }
                }
                if let Some(age) = p.max_age {
                    d.headers
                        .push(("access-control-max-age", age.to_string().into_bytes()));
                }
                d.action = "respond";
                d.status = p.preflight_status.unwrap_or(204);
            }
            push_exposed(&mut d, p);
        }
    }
    if d.kind == "not-cors" && p.any_origin() {
        // A cached copy may answer a later CORS request (Fetch, "CORS
        // protocol and HTTP caches").
        d.headers
            .push(("access-control-allow-origin", b"*".to_vec()));
        push_exposed(&mut d, p);
    }

    // Vary, debug, deny action.
    if d.kind == "preflight" {
        d.headers.push(("vary", VARY_PREFLIGHT.to_vec()));
    } else if !p.any_origin() || d.verdict == "denied" {
        d.headers.push(("vary", b"Origin".to_vec()));
    }
    if d.verdict == "denied" {
        if p.debug {
            d.headers
                .push(("x-corsgate-reason", d.reason.as_bytes().to_vec()));
        }
        let reject = if d.kind == "preflight" {
            p.on_preflight_deny.as_deref() != Some("forward")
        } else {
            p.on_actual_deny.as_deref() == Some("reject")
        };
        if reject {
            d.action = "respond";
            d.status = 403;
        }
    }
    if p.mode.as_deref() == Some("report") {
        d.action = "continue";
        d.status = 0;
        d.strip_upstream = false;
        d.headers.clear();
    }
    d
}

/// Fetch's forbidden methods, compared in any case.
fn forbidden_method(m: &[u8]) -> bool {
    ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|f| m.eq_ignore_ascii_case(f.as_bytes()))
}

/// ACEH when the policy exposes anything.
fn push_exposed(d: &mut RefDecision, p: &RefPolicy) {
    let exposed = if RefPolicy::has(&p.expose_headers, "*") {
        vec!["*".to_owned()]
    } else {
        RefPolicy::names(&p.expose_headers, false)
    };
    if !exposed.is_empty() {
        d.headers.push((
            "access-control-expose-headers",
            exposed.join(", ").into_bytes(),
        ));
    }
}

/// The decision corsgate made, in the reference's terms.
pub fn observed(d: &corsgate::Decision<'_>) -> RefDecision {
    RefDecision {
        verdict: d.verdict.as_str(),
        kind: d.kind.as_str(),
        reason: d.reason.as_str(),
        action: d.action.as_str(),
        status: d.status,
        strip_upstream: d.strip_upstream,
        detail: d.detail.to_vec(),
        headers: d.headers().map(|h| (h.name, h.value.to_vec())).collect(),
    }
}

/// Evaluates with corsgate: the request built with `Request::add_header`.
pub fn corsgate_decision(
    policy: &corsgate::Policy,
    method: &[u8],
    headers: &[(Vec<u8>, Vec<u8>)],
) -> RefDecision {
    let mut request = corsgate::Request::new(method);
    for (name, value) in headers {
        request.add_header(name, value);
    }
    observed(&policy.evaluate(&request))
}

/// Safety properties every decision must have whatever the input: nothing
/// but an allowed origin (or `*`) is reflected, and no header value holds
/// a byte that could split or fold a header.
pub fn check_safe(d: &RefDecision, p: &RefPolicy) -> Result<(), String> {
    for (name, value) in &d.headers {
        if value.iter().any(|&b| b < 0x20 || b == 0x7f || b >= 0x80) {
            return Err(format!(
                "{name} carries a control or non-ASCII byte: {value:?}"
            ));
        }
        if *name == "access-control-allow-origin" && value != b"*" {
            let o = parse_origin(value)
                .map_err(|e| format!("reflected a refused origin ({e:?}): {value:?}"))?;
            if !p.origin_allowed(value, &o) {
                return Err(format!("reflected a disallowed origin: {value:?}"));
            }
        }
    }
    if !d.detail.is_empty() && !is_token(&d.detail) && parse_origin(&d.detail).is_err() {
        return Err(format!(
            "detail is neither a token nor an origin: {:?}",
            d.detail
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Names a policy may not list (README "The policy"; Fetch)

/// Fetch's forbidden request-header names, spelled out.
const FORBIDDEN_REQUEST_NAMES: &[&str] = &[
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
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

/// True when `allow_headers` may not list `name`: a browser never lists it
/// in `Access-Control-Request-Headers`.
pub fn allow_header_refused(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    FORBIDDEN_REQUEST_NAMES.contains(&lower.as_str())
        || lower.starts_with("proxy-")
        || lower.starts_with("sec-")
        || lower.starts_with("access-control-")
}

/// True when `expose_headers` may not list `name`: never exposed, or a
/// request header.
pub fn expose_header_refused(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "set-cookie" || lower == "set-cookie2" || lower.starts_with("access-control-request-")
}
