//! Origins: the strict parser for request `Origin` values and the parser
//! for the origin patterns a policy may list.
//!
//! A request origin is accepted only in the exact serialized form a browser
//! sends (`scheme://host[:port]`, lowercase, no default port). Anything
//! else is refused, so whatever corsgate reflects is safe to put in a
//! response header.

/// Longest request `Origin` value accepted, in bytes.
pub const MAX_ORIGIN_LEN: usize = 512;

/// A request origin that passed [`parse_request_origin`]; all parts borrow
/// the request's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The whole serialized origin, as received.
    pub raw: &'a [u8],
    /// `http`, `https`, …
    pub scheme: &'a [u8],
    /// The host: a domain, a dotted IPv4 address or `[ipv6]`.
    pub host: &'a [u8],
    /// The explicit port, if any (never the scheme's default).
    pub port: Option<u16>,
}

impl Origin<'_> {
    /// True when the host is a domain name (not an IP literal), so that
    /// subdomain wildcards may apply to it.
    pub fn host_is_domain(&self) -> bool {
        !self.host.starts_with(b"[") && !self.host.iter().all(|b| b.is_ascii_digit() || *b == b'.')
    }
}

/// Why a request origin was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginError {
    /// Not a serialized origin.
    Malformed,
    /// Longer than [`MAX_ORIGIN_LEN`].
    TooLong,
    /// Holds a comma: several origins joined into one value.
    Duplicated,
    /// The opaque origin `null`.
    Null,
}

/// The port a scheme implies, which a serialized origin never spells out.
pub fn default_port(scheme: &[u8]) -> Option<u16> {
    match scheme {
        b"http" | b"ws" => Some(80),
        b"https" | b"wss" => Some(443),
        _ => None,
    }
}

/// Parses a request `Origin` value byte for byte. Never allocates; one
/// pass over the bytes.
pub fn parse_request_origin(raw: &[u8]) -> Result<Origin<'_>, OriginError> {
    if raw.is_empty() {
        return Err(OriginError::Malformed);
    }
    if raw.len() > MAX_ORIGIN_LEN {
        return Err(OriginError::TooLong);
    }
    // Only a refused origin needs a closer look at why.
    parse_serialized(raw).ok_or_else(|| {
        if raw.contains(&b',') {
            OriginError::Duplicated
        } else if raw == b"null" {
            OriginError::Null
        } else {
            OriginError::Malformed
        }
    })
}

/// The fast path of [`parse_request_origin`]: `None` when `raw` is not a
/// serialized origin.
#[inline]
fn parse_serialized(raw: &[u8]) -> Option<Origin<'_>> {
    // scheme: [a-z][a-z0-9+.-]*
    if !raw.first()?.is_ascii_lowercase() {
        return None;
    }
    let mut i = 1;
    while raw.get(i).is_some_and(|&b| SCHEME[b as usize]) {
        i += 1;
    }
    let scheme = raw.get(..i)?;
    if raw.get(i..i + 3)? != b"://" {
        return None;
    }
    let host_start = i + 3;
    i = host_start;
    if raw.get(i) == Some(&b'[') {
        let close = i + raw.get(i..)?.iter().position(|&b| b == b']')?;
        if !valid_host(raw.get(i..=close)?) {
            return None;
        }
        i = close + 1;
    } else {
        let mut label_empty = true;
        while let Some(&b) = raw.get(i) {
            if LABEL[b as usize] {
                label_empty = false;
            } else if b == b'.' && !label_empty {
                label_empty = true;
            } else if b == b':' {
                break;
            } else {
                return None;
            }
            i += 1;
        }
        // A trailing dot ends a host (`a.com.` is its own origin); an
        // empty host does not.
        if label_empty && (i == host_start || raw.get(i - 1) != Some(&b'.')) {
            return None;
        }
    }
    let host = raw.get(host_start..i)?;
    let port = match raw.get(i..)? {
        [] => None,
        [b':', digits @ ..] => {
            let port = parse_port(digits)?;
            if default_port(scheme) == Some(port) {
                return None;
            }
            Some(port)
        }
        _ => return None,
    };
    Some(Origin {
        raw,
        scheme,
        host,
        port,
    })
}

/// `SCHEME[b]`: `b` may follow the first byte of a scheme (`[a-z0-9+.-]`).
static SCHEME: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'+' || c == b'.' || c == b'-';
        b += 1;
    }
    t
};

/// Splits `scheme://rest`; the scheme is `[a-z][a-z0-9+.-]*`.
fn split_scheme(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = raw.iter().position(|&b| b == b':')?;
    let (scheme, rest) = raw.split_at(colon);
    let rest = rest.strip_prefix(b"://")?;
    let mut bytes = scheme.iter();
    if !bytes.next()?.is_ascii_lowercase() {
        return None;
    }
    if !bytes
        .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'.' | b'-'))
    {
        return None;
    }
    Some((scheme, rest))
}

/// Splits `host[:port]`, with IPv6 hosts in brackets.
fn split_host_port(rest: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let host_end = if rest.first() == Some(&b'[') {
        rest.iter().position(|&b| b == b']')? + 1
    } else {
        rest.iter().position(|&b| b == b':').unwrap_or(rest.len())
    };
    let (host, tail) = rest.split_at(host_end);
    match tail {
        [] => Some((host, None)),
        [b':', digits @ ..] => Some((host, Some(digits))),
        _ => None,
    }
}

/// `LABEL[b]`: `b` may appear in a host label (`[a-z0-9_-]`).
static LABEL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_';
        b += 1;
    }
    t
};

/// A lowercase domain or IPv4 address (`[a-z0-9_-]` labels, no empty
/// label but an optional trailing dot), or a lowercase bracketed IPv6
/// literal. One pass.
fn valid_host(host: &[u8]) -> bool {
    if let [b'[', inner @ .., b']'] = host {
        return !inner.is_empty()
            && inner.contains(&b':')
            && inner
                .iter()
                .all(|&b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b':' | b'.'));
    }
    let mut label_empty = true;
    for &b in host {
        if b == b'.' {
            if label_empty {
                return false;
            }
            label_empty = true;
        } else if LABEL[b as usize] {
            label_empty = false;
        } else {
            return false;
        }
    }
    !label_empty || (host.len() > 1 && host.ends_with(b"."))
}

/// Longest host name (without a trailing dot) DNS can carry, in bytes.
const MAX_HOST_LEN: usize = 253;
/// Longest DNS label, in bytes.
const MAX_LABEL_LEN: usize = 63;

/// Schemes whose hosts WHATWG URL parsing canonicalises (domain to ASCII,
/// IPv4 numbers, IPv6 compression); other schemes have opaque hosts.
fn is_special_scheme(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "ws" | "wss" | "ftp")
}

/// Why `host` (syntactically valid, lowercase) is not what a browser
/// serializes for `scheme`, naming the canonical host when there is one.
/// Runs at policy load only: WHATWG URL host parsing (the `url` crate)
/// is the truth, plus DNS length limits on domain names.
fn host_problem(scheme: &str, host: &str, fast: bool) -> Option<HostProblem> {
    let (canonical, longest_label) = scan_domain(host.as_bytes());
    if is_special_scheme(scheme) && !(fast && canonical) {
        let canonical = match url::Url::parse(&format!("{scheme}://{host}/")) {
            Ok(u) => u.host_str().unwrap_or_default().to_owned(),
            Err(e) => return Some(HostProblem::Invalid(e.to_string())),
        };
        if canonical != host {
            return Some(HostProblem::Canonical(canonical));
        }
    }
    if host.starts_with('[') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > MAX_HOST_LEN {
        return Some(HostProblem::Invalid(format!(
            "longer than {MAX_HOST_LEN} bytes, the most DNS carries"
        )));
    }
    if longest_label > MAX_LABEL_LEN {
        return Some(HostProblem::Invalid(format!(
            "a label is longer than {MAX_LABEL_LEN} bytes, the most DNS carries"
        )));
    }
    None
}

/// One pass over `host` (a trailing dot aside): whether it is a canonical
/// domain, and its longest label in bytes.
///
/// Canonical: WHATWG URL host parsing for a special scheme is sure to
/// return `host` unchanged, decided without the `url` crate: lowercase
/// `[a-z0-9_-]` labels, none empty (an optional trailing dot), none
/// starting with `xn--` (punycode, which UTS 46 decodes and validates),
/// and a last label that starts with a letter (so the host does not "end
/// in a number" and is not parsed as IPv4). Every other host goes through
/// the `url` crate; the tests below check that the two agree.
fn scan_domain(host: &[u8]) -> (bool, usize) {
    let name = host.strip_suffix(b".").unwrap_or(host);
    let mut canonical = true;
    let mut longest = 0;
    // The start of the label being read.
    let mut start = 0;
    for (i, &b) in name.iter().enumerate() {
        if b == b'.' {
            let label = name.get(start..i).unwrap_or_default();
            canonical &= !label.is_empty() && !label.starts_with(b"xn--");
            longest = longest.max(label.len());
            start = i + 1;
        } else {
            canonical &= LABEL[b as usize];
        }
    }
    let last = name.get(start..).unwrap_or_default();
    longest = longest.max(last.len());
    canonical &= !last.starts_with(b"xn--") && last.first().is_some_and(u8::is_ascii_lowercase);
    (canonical, longest)
}

enum HostProblem {
    /// Browsers serialize the host as this instead.
    Canonical(String),
    /// No browser serializes it: why.
    Invalid(String),
}

/// Decimal port, 1–65535, no leading zero.
fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || digits[0] == b'0' {
        return None;
    }
    let mut value: u32 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    u16::try_from(value).ok()
}

/// Which ports a pattern accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortSpec {
    /// No port in the origin (the scheme's default).
    Default,
    /// Exactly this port.
    Fixed(u16),
    /// Any port, or none (`:*`).
    Any,
}

impl PortSpec {
    /// True when a request origin's port is accepted.
    #[inline]
    pub fn accepts(self, port: Option<u16>) -> bool {
        match self {
            PortSpec::Default => port.is_none(),
            PortSpec::Fixed(p) => port == Some(p),
            PortSpec::Any => true,
        }
    }
}

/// One entry of `allow_origins`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    /// `*`: every origin.
    Any,
    /// An exact serialized origin.
    Exact(String),
    /// `scheme://host:*`: one host, any port.
    AnyPort {
        /// The scheme.
        scheme: String,
        /// The host.
        host: String,
    },
    /// `scheme://*.suffix[:port|:*]`: one or more labels before `.suffix`.
    Subdomains {
        /// The scheme.
        scheme: String,
        /// The domain after `*.`.
        suffix: String,
        /// Accepted ports.
        port: PortSpec,
    },
    /// `regex:<pattern>`, matched against the whole origin.
    Regex(String),
}

impl OriginPattern {
    /// The scheme the pattern is limited to, if any.
    pub fn scheme(&self) -> Option<&str> {
        match self {
            OriginPattern::Exact(s) => Some(split_at_slashes(s).map_or(s.as_str(), |(s, _)| s)),
            OriginPattern::AnyPort { scheme, .. } | OriginPattern::Subdomains { scheme, .. } => {
                Some(scheme)
            }
            OriginPattern::Any | OriginPattern::Regex(_) => None,
        }
    }

    /// The host (or the suffix, for subdomain wildcards), if any.
    pub fn host(&self) -> Option<&str> {
        match self {
            OriginPattern::Exact(s) => {
                let (_, rest) = split_at_slashes(s)?;
                let (host, _) = split_host_port(rest.as_bytes())?;
                rest.get(..host.len())
            }
            OriginPattern::AnyPort { host, .. } => Some(host),
            OriginPattern::Subdomains { suffix, .. } => Some(suffix),
            OriginPattern::Any | OriginPattern::Regex(_) => None,
        }
    }
}

/// [`CLASS`] bits: a byte that is not ASCII.
const NON_ASCII: u8 = 1;
/// [`CLASS`] bits: ASCII whitespace or a control character.
const SPACE: u8 = 2;
/// [`CLASS`] bits: an ASCII uppercase letter.
const UPPER: u8 = 4;

/// `CLASS[b]`: what [`parse_pattern`] refuses `b` for, as bits, so that
/// one pass over a pattern finds them all.
static CLASS: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if !c.is_ascii() {
            NON_ASCII
        } else if c.is_ascii_whitespace() || c.is_ascii_control() {
            SPACE
        } else if c.is_ascii_uppercase() {
            UPPER
        } else {
            0
        };
        b += 1;
    }
    t
};

/// `text.split_once("://")`, without building a substring searcher.
pub(crate) fn split_at_slashes(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes.get(from..)?.iter().position(|&b| b == b':') {
        let colon = from + i;
        if bytes.get(colon + 1..colon + 3) == Some(b"//") {
            return Some((text.get(..colon)?, text.get(colon + 3..)?));
        }
        from = colon + 1;
    }
    None
}

/// Parses one `allow_origins` entry, or says what to write instead.
pub fn parse_pattern(text: &str) -> Result<OriginPattern, String> {
    parse_pattern_with(text, true)
}

/// [`parse_pattern`], with `fast: false` sending every special-scheme host
/// through the `url` crate (the reference the fast path is tested against).
fn parse_pattern_with(text: &str, fast: bool) -> Result<OriginPattern, String> {
    if text == "*" {
        return Ok(OriginPattern::Any);
    }
    if let Some(re) = text.strip_prefix("regex:") {
        if re.is_empty() {
            return Err("the regex is empty; write regex:<pattern>".into());
        }
        return Ok(OriginPattern::Regex(re.to_owned()));
    }
    if text.eq_ignore_ascii_case("null") {
        return Err(
            "the null origin is shared by sandboxed iframes, local files and redirects, so it \
                    cannot be allowed safely; remove it"
                .into(),
        );
    }
    if text
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("file:"))
    {
        return Err(
            "file: origins serialize as null and cannot be allowed safely; remove it".into(),
        );
    }
    if text.is_empty() {
        return Err(
            "empty origin; write scheme://host[:port], e.g. \"https://app.example.com\"".into(),
        );
    }
    if text.len() > MAX_ORIGIN_LEN {
        return Err(format!(
            "longer than {MAX_ORIGIN_LEN} bytes, so no browser origin can match it; shorten it or use a wildcard"
        ));
    }
    let class = text.bytes().fold(0, |c, b| c | CLASS[b as usize]);
    if class & NON_ASCII != 0 {
        return Err("non-ASCII host; write internationalized names in punycode (xn--…)".into());
    }
    if class & SPACE != 0 {
        return Err("whitespace or control characters; remove them".into());
    }
    if class & UPPER != 0 {
        let lower = text.to_ascii_lowercase();
        return Err(format!(
            "origins are compared in their lowercase serialized form; write \"{lower}\""
        ));
    }
    let Some((scheme, rest)) = split_at_slashes(text) else {
        return Err(
            "not an origin; write scheme://host[:port], e.g. \"https://app.example.com\"".into(),
        );
    };
    if split_scheme(text.as_bytes()).is_none() {
        return Err(format!(
            "invalid scheme \"{scheme}\"; write e.g. \"https://\""
        ));
    }
    if let Some(at) = rest.bytes().position(|b| b == b'@') {
        return Err(format!(
            "origins carry no user info; write \"{scheme}://{}\"",
            &rest[at + 1..]
        ));
    }
    if let Some(slash) = rest.bytes().position(|b| matches!(b, b'/' | b'?' | b'#')) {
        return Err(format!(
            "an origin has no path, query or trailing slash; write \"{scheme}://{}\"",
            &rest[..slash]
        ));
    }
    let Some((host, port)) = split_host_port(rest.as_bytes()) else {
        return Err("invalid host or port; write scheme://host[:port]".into());
    };
    // The parts are slices of `rest`: host, then `:` and the port.
    let host_len = host.len();
    let host = rest.get(..host_len).unwrap_or_default();
    let port_text = port.map(|_| rest.get(host_len + 1..).unwrap_or_default());
    let port = match port_text {
        None => PortSpec::Default,
        Some("*") => PortSpec::Any,
        Some(digits) => {
            let Some(port) = parse_port(digits.as_bytes()) else {
                return Err(format!(
                    "invalid port \"{digits}\"; write a number from 1 to 65535 or *"
                ));
            };
            if default_port(scheme.as_bytes()) == Some(port) {
                return Err(format!(
                    "{port} is the default port of {scheme} and browsers never send it; write \"{scheme}://{host}\""
                ));
            }
            PortSpec::Fixed(port)
        }
    };
    if let Some(suffix) = host.strip_prefix("*.") {
        if suffix.contains('*') || !valid_host(suffix.as_bytes()) || suffix.starts_with('[') {
            return Err(format!(
                "invalid domain after \"*.\"; write e.g. \"{scheme}://*.example.com\""
            ));
        }
        if !(Origin {
            raw: b"",
            scheme: b"",
            host: suffix.as_bytes(),
            port: None,
        })
        .host_is_domain()
        {
            return Err("subdomain wildcards apply to domain names, not IP addresses".into());
        }
        match host_problem(scheme, suffix, fast) {
            Some(HostProblem::Canonical(c)) => {
                return Err(format!(
                    "browsers serialize the domain \"{suffix}\" as \"{c}\"; write \"{scheme}://*.{c}{}\"",
                    port_suffix(port_text)
                ))
            }
            Some(HostProblem::Invalid(why)) => {
                return Err(format!(
                    "invalid domain \"{suffix}\" after \"*.\" ({why}), so no browser origin can match it"
                ))
            }
            None => {}
        }
        // The shortest host the wildcard can match is one letter, a dot and
        // the base: when even that is over DNS's limit, nothing matches.
        let base = suffix.strip_suffix('.').unwrap_or(suffix);
        if base.len() + 2 > MAX_HOST_LEN {
            return Err(format!(
                "no host under \"{suffix}\" fits in {MAX_HOST_LEN} bytes, the most DNS carries (the \
                 shortest, \"a.{suffix}\", has {} bytes), so no browser origin can match it; \
                 shorten the domain",
                base.len() + 2
            ));
        }
        return Ok(OriginPattern::Subdomains {
            scheme: scheme.to_owned(),
            suffix: suffix.to_owned(),
            port,
        });
    }
    if host.contains('*') {
        return Err(format!(
            "\"*\" is allowed only as a whole leading label; write e.g. \"{scheme}://*.example.com\""
        ));
    }
    if !valid_host(host.as_bytes()) {
        return Err(format!(
            "invalid host \"{host}\"; write a lowercase domain, IPv4 address or [IPv6] address"
        ));
    }
    match host_problem(scheme, host, fast) {
        Some(HostProblem::Canonical(c)) => {
            return Err(format!(
                "browsers serialize the host \"{host}\" as \"{c}\"; write \"{scheme}://{c}{}\"",
                port_suffix(port_text)
            ))
        }
        Some(HostProblem::Invalid(why)) => {
            return Err(format!(
                "invalid host \"{host}\" ({why}), so no browser sends this origin; fix or remove it"
            ))
        }
        None => {}
    }
    match port {
        PortSpec::Any => Ok(OriginPattern::AnyPort {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
        }),
        _ => Ok(OriginPattern::Exact(text.to_owned())),
    }
}

/// `:port` as written, or nothing.
fn port_suffix(port: Option<&str>) -> String {
    port.map(|p| format!(":{p}")).unwrap_or_default()
}

/// True for hosts that are always loopback: `localhost`, `*.localhost`
/// (with or without a trailing dot), 127.0.0.0/8 and `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn is_canonical_domain(host: &[u8]) -> bool {
        scan_domain(host).0
    }

    /// jub0bs/cors TestParsePattern "wildcard character sequence followed
    /// by 252 chars": a wildcard whose base leaves no room for one more
    /// label within 253 bytes can match nothing, so it is refused.
    #[test]
    fn wildcard_base_too_long_for_any_host() {
        let label = "a".repeat(62);
        let base_251 = format!("{label}.{label}.{label}.{label}");
        assert_eq!(base_251.len(), 251);
        assert!(parse_pattern(&format!("https://*.{base_251}")).is_ok());
        let err = parse_pattern(&format!("https://*.b{base_251}")).unwrap_err();
        assert!(err.contains("no host under"), "{err}");
    }

    macro_rules! request_origin {
        ($($name:ident: $raw:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse_request_origin($raw).map(|o| (o.scheme, o.host, o.port));
                let want: Result<(&[u8], &[u8], Option<u16>), OriginError> = $want;
                assert_eq!(got, want);
            }
        )*};
    }

    request_origin! {
        https_plain: b"https://app.example.com" => Ok((b"https", b"app.example.com", None));
        with_port: b"http://localhost:8080" => Ok((b"http", b"localhost", Some(8080)));
        ipv4: b"http://127.0.0.1:3000" => Ok((b"http", b"127.0.0.1", Some(3000)));
        ipv6: b"http://[::1]:3000" => Ok((b"http", b"[::1]", Some(3000)));
        custom_scheme: b"chrome-extension://abcdef" => Ok((b"chrome-extension", b"abcdef", None));
        default_https_port: b"https://a.com:443" => Err(OriginError::Malformed);
        default_http_port: b"http://a.com:80" => Err(OriginError::Malformed);
        https_port_80_ok: b"https://a.com:80" => Ok((b"https", b"a.com", Some(80)));
        uppercase_host: b"https://App.example.com" => Err(OriginError::Malformed);
        uppercase_scheme: b"HTTPS://app.example.com" => Err(OriginError::Malformed);
        trailing_slash: b"https://a.com/" => Err(OriginError::Malformed);
        path: b"https://a.com/x" => Err(OriginError::Malformed);
        userinfo: b"https://u@a.com" => Err(OriginError::Malformed);
        space: b"https://a.com " => Err(OriginError::Malformed);
        crlf: b"https://a.com\r\nx: y" => Err(OriginError::Malformed);
        non_ascii: "https://é.com".as_bytes() => Err(OriginError::Malformed);
        empty_label: b"https://a..com" => Err(OriginError::Malformed);
        trailing_dot: b"https://a.com." => Ok((b"https", b"a.com.", None));
        trailing_dot_port: b"https://a.com.:8443" => Ok((b"https", b"a.com.", Some(8443)));
        two_trailing_dots: b"https://a.com.." => Err(OriginError::Malformed);
        only_dot: b"https://." => Err(OriginError::Malformed);
        only_dot_port: b"https://.:8080" => Err(OriginError::Malformed);
        empty: b"" => Err(OriginError::Malformed);
        null: b"null" => Err(OriginError::Null);
        comma: b"https://a.com, https://b.com" => Err(OriginError::Duplicated);
        port_zero: b"https://a.com:0" => Err(OriginError::Malformed);
        port_leading_zero: b"https://a.com:08080" => Err(OriginError::Malformed);
        port_too_big: b"https://a.com:65536" => Err(OriginError::Malformed);
        empty_port: b"https://a.com:" => Err(OriginError::Malformed);
        no_host: b"https://" => Err(OriginError::Malformed);
        no_scheme: b"//a.com" => Err(OriginError::Malformed);
        bad_ipv6: b"http://[::g]" => Err(OriginError::Malformed);
        ipv6_then_junk: b"http://[::1]x" => Err(OriginError::Malformed);
    }

    #[test]
    fn too_long() {
        let mut long = b"https://".to_vec();
        long.resize(MAX_ORIGIN_LEN + 1, b'a');
        assert_eq!(parse_request_origin(&long), Err(OriginError::TooLong));
        long.truncate(MAX_ORIGIN_LEN);
        assert!(parse_request_origin(&long).is_ok());
    }

    macro_rules! pattern {
        ($($name:ident: $text:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(parse_pattern($text), $want);
            }
        )*};
    }

    fn err_contains(text: &str, needle: &str) {
        let err = parse_pattern(text).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    }

    pattern! {
        p_any: "*" => Ok(OriginPattern::Any);
        p_exact: "https://a.com" => Ok(OriginPattern::Exact("https://a.com".into()));
        p_exact_port: "http://localhost:3000" => Ok(OriginPattern::Exact("http://localhost:3000".into()));
        p_subdomains: "https://*.a.com" => Ok(OriginPattern::Subdomains {
            scheme: "https".into(), suffix: "a.com".into(), port: PortSpec::Default });
        p_subdomains_any_port: "https://*.a.com:*" => Ok(OriginPattern::Subdomains {
            scheme: "https".into(), suffix: "a.com".into(), port: PortSpec::Any });
        p_any_port: "http://localhost:*" => Ok(OriginPattern::AnyPort {
            scheme: "http".into(), host: "localhost".into() });
        p_regex: "regex:https://[a-z]+\\.a\\.com" => Ok(OriginPattern::Regex("https://[a-z]+\\.a\\.com".into()));
    }

    #[test]
    fn pattern_errors_say_what_to_write() {
        err_contains("https://a.com:443", "write \"https://a.com\"");
        err_contains("https://a.com/", "write \"https://a.com\"");
        err_contains("https://A.com", "write \"https://a.com\"");
        err_contains("null", "null origin");
        err_contains("file:///tmp", "file:");
        err_contains("a.com", "scheme://host");
        err_contains("https://a.*.com", "whole leading label");
        err_contains("https://*a.com", "whole leading label");
        err_contains("https://é.com", "punycode");
        err_contains("https://u@a.com", "user info");
        err_contains("https://*.127.0.0.1", "IP addresses");
        err_contains("https://a.com:99999", "invalid port");
    }

    /// Every string holding `://` in the shared vectors and the
    /// conformance data (tests/vectors, tests/conformance), whatever field
    /// it sits in, and every `allow_origins` entry.
    fn origins_in_test_data() -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) if s.contains("://") => out.push(s.clone()),
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                serde_json::Value::Object(o) => {
                    if let Some(serde_json::Value::Array(list)) = o.get("allow_origins") {
                        out.extend(list.iter().filter_map(|v| v.as_str().map(str::to_owned)));
                    }
                    o.values().for_each(|v| walk(v, out));
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for dir in ["tests/vectors", "tests/conformance"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    walk(&serde_json::from_str(&text).unwrap(), &mut out);
                }
            }
        }
        out
    }

    /// The fast path gives the `url` crate's verdict and message on every
    /// origin of the test data.
    #[test]
    fn fast_path_agrees_on_test_data() {
        let origins = origins_in_test_data();
        assert!(origins.len() > 500, "{} origins", origins.len());
        let mut fast = 0;
        for text in &origins {
            assert_eq!(
                parse_pattern_with(text, true),
                parse_pattern_with(text, false),
                "{text}"
            );
            fast += usize::from(text.split_once("://").is_some_and(|(_, r)| {
                is_canonical_domain(r.split(':').next().unwrap_or_default().as_bytes())
            }));
        }
        // The data does exercise the fast path.
        assert!(fast > 200, "{fast} of {}", origins.len());
    }

    /// Hosts near the edges of the fast path: punycode, IDNA, IPv4 in its
    /// many spellings, numbers as the last label, trailing dots, DNS
    /// length limits, uppercase, characters URL parsing refuses or maps.
    fn host_strategy() -> impl Strategy<Value = String> {
        let label = prop_oneof![
            "[a-z]{1,8}",
            "[a-z0-9_-]{1,10}",
            "[0-9]{1,4}",
            "0x[0-9a-f]{0,3}",
            "0[0-7]{1,3}",
            Just("xn--".to_owned()),
            Just("xn--bcher-kva".to_owned()),
            Just("xn--a".to_owned()),
            Just("xn--zz".to_owned()),
            Just("xn--nxasmq6b".to_owned()),
            "xn--[a-z0-9-]{1,8}",
            "[a-z]{2}--[a-z0-9]{1,4}",
            "-[a-z]{1,3}",
            "[a-z]{1,3}-",
            "[a-zA-Z]{1,6}",
            "[a-z]{63,64}",
            Just("".to_owned()),
            Just("localhost".to_owned()),
            "[a-z%~!$&'()+;=^|]{1,4}",
            "[a-zßéıſ\u{200d}\u{ad}]{1,4}",
        ];
        (proptest::collection::vec(label, 1..6), any::<bool>()).prop_map(|(labels, dot)| {
            let mut host = labels.join(".");
            if dot {
                host.push('.');
            }
            host
        })
    }

    fn pattern_strategy() -> impl Strategy<Value = String> {
        let scheme = prop_oneof![
            Just("https"),
            Just("http"),
            Just("wss"),
            Just("ws"),
            Just("ftp"),
            Just("chrome-extension"),
            Just("HTTPS"),
        ];
        let wildcard = prop_oneof![Just(""), Just(""), Just("*.")];
        let port = prop_oneof![
            Just(""),
            Just(""),
            Just(":8080"),
            Just(":443"),
            Just(":80"),
            Just(":*"),
            Just(":0"),
            Just(":08080"),
            Just(":65536"),
            Just(":"),
        ];
        let host = prop_oneof![
            host_strategy(),
            host_strategy(),
            "(25[0-6]|1?[0-9]{1,2})(\\.(25[0-6]|1?[0-9]{1,2})){0,4}\\.?",
            Just("[::1]".to_owned()),
            Just("[0:0::1]".to_owned()),
            Just("[::ffff:127.0.0.1]".to_owned()),
        ];
        (scheme, wildcard, host, port).prop_map(|(s, w, h, p)| format!("{s}://{w}{h}{p}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        /// Whole patterns: same result, same message, fast path or not.
        #[test]
        fn fast_path_agrees_on_patterns(text in pattern_strategy()) {
            prop_assert_eq!(
                parse_pattern_with(&text, true),
                parse_pattern_with(&text, false),
                "{}", text
            );
        }

        /// The fast path's claim itself: a host it calls canonical is what
        /// WHATWG URL parsing returns for it, for every special scheme.
        #[test]
        fn canonical_domains_are_what_url_parsing_returns(host in host_strategy()) {
            if is_canonical_domain(host.as_bytes()) {
                for scheme in ["http", "https", "ws", "wss", "ftp"] {
                    let url = url::Url::parse(&format!("{scheme}://{host}/"));
                    prop_assert_eq!(
                        url.as_ref().ok().and_then(|u| u.host_str()),
                        Some(host.as_str()),
                        "{}: {:?}", scheme, url
                    );
                }
            }
        }
    }

    #[test]
    fn loopback() {
        for host in [
            "localhost",
            "app.localhost",
            "127.0.0.1",
            "127.9.9.9",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["example.com", "128.0.0.1", "localhost.example.com", "[::2]"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
