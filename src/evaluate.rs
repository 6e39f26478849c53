//! The decision for one request: what kind of CORS request it is, whether
//! the policy allows it, why, and exactly which headers to write.
//!
//! Nothing here allocates: the request is a view over the caller's header
//! bytes, and the decision borrows from the request and the policy.

use crate::origin::{parse_request_origin, OriginError};
use crate::policy::{ActualDeny, Mode, Policy, PreflightDeny, MAX_HEADER_NAME_LEN};
use crate::tokens::{is_token, scan_list, ListCaps, ListError};

/// Most `Access-Control-Request-Headers` lines kept; more are denied.
pub const REQUEST_HEADERS_MAX_LINES: usize = 8;
/// Most bytes of `Access-Control-Request-Headers`, all lines together.
pub const REQUEST_HEADERS_MAX_BYTES: usize = 4096;
/// Most names in `Access-Control-Request-Headers`.
pub const REQUEST_HEADERS_MAX_NAMES: usize = 64;
/// Longest requested method `allow_methods: ["*"]` admits, in bytes (it
/// may be echoed; a listed method of any length is matched as written).
pub const STAR_METHOD_MAX_LEN: usize = 512;
/// Most headers one decision writes: the eight kinds of [`HEADER_ORDER`]
/// once each, except `Access-Control-Allow-Headers`, which an allowed
/// credentialed preflight under `allow_headers: ["*"]` writes once per
/// `Access-Control-Request-Headers` line (up to
/// [`REQUEST_HEADERS_MAX_LINES`]). The debug header is only on denials,
/// which carry no `Access-Control-Allow-Headers`, so 14 at most are
/// reachable; the bound is 15.
pub const DECISION_MAX_HEADERS: usize = HEADER_ORDER.len() - 1 + REQUEST_HEADERS_MAX_LINES;

/// `Origin`.
pub const ORIGIN: &str = "origin";
/// `Access-Control-Request-Method`.
pub const REQUEST_METHOD: &str = "access-control-request-method";
/// `Access-Control-Request-Headers`.
pub const REQUEST_HEADERS: &str = "access-control-request-headers";
/// The request headers corsgate reads.
pub const REQUEST_HEADER_NAMES: [&str; 3] = [ORIGIN, REQUEST_METHOD, REQUEST_HEADERS];

/// `Access-Control-Allow-Origin`.
pub const ALLOW_ORIGIN: &str = "access-control-allow-origin";
/// `Access-Control-Allow-Credentials`.
pub const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
/// `Access-Control-Allow-Methods`.
pub const ALLOW_METHODS: &str = "access-control-allow-methods";
/// `Access-Control-Allow-Headers`.
pub const ALLOW_HEADERS: &str = "access-control-allow-headers";
/// `Access-Control-Max-Age`.
pub const MAX_AGE: &str = "access-control-max-age";
/// `Access-Control-Expose-Headers`.
pub const EXPOSE_HEADERS: &str = "access-control-expose-headers";
/// `Vary`.
pub const VARY: &str = "vary";
/// The debug header naming the reason of a denial.
pub const DEBUG_REASON: &str = "x-corsgate-reason";
/// The response headers corsgate owns: an upstream's are removed (a
/// spoofed `x-corsgate-reason` too).
pub const OWNED_HEADER_NAMES: [&str; 7] = [
    ALLOW_ORIGIN,
    ALLOW_CREDENTIALS,
    ALLOW_METHODS,
    ALLOW_HEADERS,
    MAX_AGE,
    EXPOSE_HEADERS,
    DEBUG_REASON,
];

const VARY_ORIGIN: &[u8] = b"Origin";
const VARY_PREFLIGHT: &[u8] =
    b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// A request header corsgate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestHeader {
    /// `Origin`.
    Origin,
    /// `Access-Control-Request-Method`.
    RequestMethod,
    /// `Access-Control-Request-Headers`.
    RequestHeaders,
}

/// Which request header corsgate reads `name` (any case) as, if any.
#[inline]
pub fn request_header_kind(name: &[u8]) -> Option<RequestHeader> {
    // Cheap length pre-check: most request headers are none of these; then
    // an exact compare, as HTTP/2, Envoy and most clients send lowercase.
    let (kind, lower) = match name.len() {
        6 => (RequestHeader::Origin, ORIGIN),
        29 => (RequestHeader::RequestMethod, REQUEST_METHOD),
        30 => (RequestHeader::RequestHeaders, REQUEST_HEADERS),
        _ => return None,
    };
    (name == lower.as_bytes() || name.eq_ignore_ascii_case(lower.as_bytes())).then_some(kind)
}

/// Counts one more line of a request header and keeps it while `kept` has
/// room (the first line of a single header; the first lines of a list).
/// Shared by [`Request`] and the C ABI's request view.
#[inline]
pub fn keep_line<T>(kept: &mut [T], lines: &mut u32, value: T) {
    if let Some(slot) = kept.get_mut(*lines as usize) {
        *slot = value;
    }
    *lines = lines.saturating_add(1);
}

/// True when `name` (any case) is a response header corsgate owns.
pub fn is_owned_header(name: &[u8]) -> bool {
    OWNED_HEADER_NAMES
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
}

/// The request, as a view over the caller's header bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The request method, byte for byte.
    pub method: &'a [u8],
    /// The first `Origin` line.
    pub origin: Option<&'a [u8]>,
    /// How many `Origin` lines were seen.
    pub origin_lines: u32,
    /// The first `Access-Control-Request-Method` line.
    pub request_method: Option<&'a [u8]>,
    /// How many `Access-Control-Request-Method` lines were seen.
    pub request_method_lines: u32,
    /// The first `Access-Control-Request-Headers` lines.
    pub request_headers: [&'a [u8]; REQUEST_HEADERS_MAX_LINES],
    /// How many `Access-Control-Request-Headers` lines were seen (may be
    /// more than are kept).
    pub request_headers_lines: u32,
}

impl<'a> Request<'a> {
    /// A request with this method and no headers yet.
    pub fn new(method: &'a [u8]) -> Self {
        Request {
            method,
            origin: None,
            origin_lines: 0,
            request_method: None,
            request_method_lines: 0,
            request_headers: [b""; REQUEST_HEADERS_MAX_LINES],
            request_headers_lines: 0,
        }
    }

    /// Offers one header line (name in any case). Returns `true` when
    /// corsgate reads this header.
    pub fn add_header(&mut self, name: &[u8], value: &'a [u8]) -> bool {
        let Some(which) = request_header_kind(name) else {
            return false;
        };
        match which {
            RequestHeader::Origin => keep_line(
                std::slice::from_mut(&mut self.origin),
                &mut self.origin_lines,
                Some(value),
            ),
            RequestHeader::RequestMethod => keep_line(
                std::slice::from_mut(&mut self.request_method),
                &mut self.request_method_lines,
                Some(value),
            ),
            RequestHeader::RequestHeaders => keep_line(
                &mut self.request_headers,
                &mut self.request_headers_lines,
                value,
            ),
        }
        true
    }

    /// The kept `Access-Control-Request-Headers` lines.
    pub fn request_header_lines(&self) -> &[&'a [u8]] {
        let kept = (self.request_headers_lines as usize).min(REQUEST_HEADERS_MAX_LINES);
        self.request_headers.get(..kept).unwrap_or_default()
    }
}

macro_rules! c_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $value:expr => $text:expr,)* }) => {
        $(#[$m])*
        #[repr(u32)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant = $value,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The value's stable text form.
            pub fn as_str(self) -> &'static str {
                let with_nul = self.as_str_with_nul();
                with_nul.get(..with_nul.len() - 1).unwrap_or_default()
            }

            /// The text form as a C string (for the C ABI), without a
            /// lookup or a copy.
            pub fn as_cstr(self) -> &'static std::ffi::CStr {
                std::ffi::CStr::from_bytes_with_nul(self.as_str_with_nul().as_bytes()).unwrap_or_default()
            }

            fn as_str_with_nul(self) -> &'static str {
                match self { $($name::$variant => concat!($text, "\0"),)* }
            }

            /// The value with this numeric code, if any.
            pub fn from_u32(code: u32) -> Option<Self> {
                match code { $($value => Some($name::$variant),)* _ => None }
            }
        }
    };
}

c_enum! {
    /// Whether the request may go on as a CORS request.
    Verdict {
        /// No `Origin`: not a CORS request.
        NotCors = 0 => "not-cors",
        /// The policy allows it.
        Allowed = 1 => "allowed",
        /// The policy refuses it.
        Denied = 2 => "denied",
    }
}

c_enum! {
    /// What kind of request it is.
    Kind {
        /// No `Origin`.
        NotCors = 0 => "not-cors",
        /// `OPTIONS` + `Origin` + `Access-Control-Request-Method`.
        Preflight = 1 => "preflight",
        /// Any other request with an `Origin`.
        Actual = 2 => "actual",
    }
}

c_enum! {
    /// Why the verdict is what it is.
    Reason {
        /// No `Origin`.
        NotCors = 0 => "not-cors",
        /// Allowed.
        Allowed = 1 => "allowed",
        /// The origin matches no pattern.
        OriginNotAllowed = 10 => "origin-not-allowed",
        /// The origin is not a serialized origin.
        OriginMalformed = 11 => "origin-malformed",
        /// The origin is longer than 512 bytes.
        OriginTooLong = 12 => "origin-too-long",
        /// Several origins (several lines, or joined with commas).
        OriginDuplicated = 13 => "origin-duplicated",
        /// The opaque origin `null`.
        OriginNull = 14 => "origin-null",
        /// The requested method is not allowed.
        MethodNotAllowed = 20 => "method-not-allowed",
        /// The requested method is not a token.
        MethodMalformed = 21 => "method-malformed",
        /// Several `Access-Control-Request-Method` lines.
        MethodDuplicated = 22 => "method-duplicated",
        /// A requested header is not allowed.
        HeaderNotAllowed = 30 => "header-not-allowed",
        /// `Access-Control-Request-Headers` is not a list of tokens.
        HeadersMalformed = 31 => "headers-malformed",
        /// `Access-Control-Request-Headers` is longer than 4096 bytes.
        HeadersTooLong = 32 => "headers-too-long",
        /// More than 64 requested header names.
        TooManyHeaders = 33 => "too-many-headers",
        /// More than 8 `Access-Control-Request-Headers` lines.
        TooManyHeaderLines = 34 => "too-many-header-lines",
        /// corsgate failed internally; the request was denied safely.
        InternalError = 90 => "internal-error",
    }
}

c_enum! {
    /// What the caller does next.
    Action {
        /// Let the request go on; on its response remove the owned headers
        /// (when `strip_upstream`) and write `headers`.
        Continue = 0 => "continue",
        /// Answer now with `status`, an empty body and `headers`.
        Respond = 1 => "respond",
    }
}

c_enum! {
    /// How to write one header.
    HeaderOp {
        /// Replace any existing value.
        Set = 0 => "set",
        /// Add one more value (`Vary`).
        Append = 1 => "append",
    }
}

/// Every (kind, reason) pair a decision can have, in a fixed order: hosts
/// that count outcomes define one counter per entry up front (Envoy
/// freezes its counters after config load) and find it by
/// [`outcome_index`]. New pairs go at the end (ABI.md).
pub const OUTCOMES: [(Kind, Reason); 22] = [
    (Kind::NotCors, Reason::NotCors),
    (Kind::Actual, Reason::Allowed),
    (Kind::Actual, Reason::OriginNotAllowed),
    (Kind::Actual, Reason::OriginMalformed),
    (Kind::Actual, Reason::OriginTooLong),
    (Kind::Actual, Reason::OriginDuplicated),
    (Kind::Actual, Reason::OriginNull),
    (Kind::Actual, Reason::InternalError),
    (Kind::Preflight, Reason::Allowed),
    (Kind::Preflight, Reason::OriginNotAllowed),
    (Kind::Preflight, Reason::OriginMalformed),
    (Kind::Preflight, Reason::OriginTooLong),
    (Kind::Preflight, Reason::OriginDuplicated),
    (Kind::Preflight, Reason::OriginNull),
    (Kind::Preflight, Reason::MethodNotAllowed),
    (Kind::Preflight, Reason::MethodMalformed),
    (Kind::Preflight, Reason::MethodDuplicated),
    (Kind::Preflight, Reason::HeaderNotAllowed),
    (Kind::Preflight, Reason::HeadersMalformed),
    (Kind::Preflight, Reason::HeadersTooLong),
    (Kind::Preflight, Reason::TooManyHeaders),
    (Kind::Preflight, Reason::TooManyHeaderLines),
];

/// The position of `(kind, reason)` in [`OUTCOMES`], if a decision can
/// have it.
pub fn outcome_index(kind: Kind, reason: Reason) -> Option<usize> {
    OUTCOMES.iter().position(|&o| o == (kind, reason))
}

/// One response header to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Lowercase name.
    pub name: &'static str,
    /// Value, borrowed from the policy or the request.
    pub value: &'a [u8],
    /// Set or append.
    pub op: HeaderOp,
}

/// The headers a decision may write, in the order they are written; a
/// decision keeps one bit per entry and derives the values on demand.
const HEADER_ORDER: [&str; 8] = [
    ALLOW_ORIGIN,
    ALLOW_CREDENTIALS,
    ALLOW_METHODS,
    ALLOW_HEADERS,
    MAX_AGE,
    EXPOSE_HEADERS,
    VARY,
    DEBUG_REASON,
];

// Bits of `HEADER_ORDER`.
const ALLOW_ORIGIN_BIT: usize = 0;
const ALLOW_CREDENTIALS_BIT: usize = 1;
const ALLOW_METHODS_BIT: usize = 2;
const ALLOW_HEADERS_BIT: usize = 3;
const MAX_AGE_BIT: usize = 4;
const EXPOSE_HEADERS_BIT: usize = 5;
/// `Vary`: the one header that is appended.
const VARY_BIT: usize = 6;
const DEBUG_REASON_BIT: usize = 7;
const _: () = assert!(HEADER_ORDER[VARY_BIT].len() == VARY.len());

/// The outcome of [`Policy::evaluate`]: small and `Copy`; the header values
/// are derived from the policy when [`Decision::headers`] is iterated.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// Allowed, denied or not CORS.
    pub verdict: Verdict,
    /// Preflight, actual or not CORS.
    pub kind: Kind,
    /// Why.
    pub reason: Reason,
    /// Continue to the upstream or respond now.
    pub action: Action,
    /// The status to respond with (`Respond` only; 0 otherwise).
    pub status: u16,
    /// Remove the upstream's owned headers before writing `headers`.
    pub strip_upstream: bool,
    /// `mode: "report"`: nothing is written.
    pub report_only: bool,
    /// What was refused (a header name, a method, an origin), or empty.
    /// Always a token or a well-formed origin, so safe to log.
    pub detail: &'a [u8],
    headers: Headers<'a>,
}

impl<'a> Decision<'a> {
    fn new(policy: &'a Policy, kind: Kind) -> Self {
        let not_cors = kind == Kind::NotCors;
        Decision {
            verdict: if not_cors {
                Verdict::NotCors
            } else {
                Verdict::Allowed
            },
            kind,
            reason: if not_cors {
                Reason::NotCors
            } else {
                Reason::Allowed
            },
            action: Action::Continue,
            status: 0,
            strip_upstream: true,
            report_only: false,
            detail: b"",
            headers: Headers {
                policy: Some(policy),
                allow_origin: b"",
                allow_methods: b"",
                echo: [b""; REQUEST_HEADERS_MAX_LINES],
                echo_len: 0,
                echo_next: 0,
                preflight: kind == Kind::Preflight,
                reason: Reason::Allowed,
                present: 0,
            },
        }
    }

    /// A safe denial, for when evaluation cannot run.
    pub fn internal_error() -> Decision<'static> {
        Decision {
            verdict: Verdict::Denied,
            kind: Kind::Actual,
            reason: Reason::InternalError,
            action: Action::Continue,
            status: 0,
            strip_upstream: true,
            report_only: false,
            detail: b"",
            headers: Headers {
                policy: None,
                allow_origin: b"",
                allow_methods: b"",
                echo: [b""; REQUEST_HEADERS_MAX_LINES],
                echo_len: 0,
                echo_next: 0,
                preflight: false,
                reason: Reason::InternalError,
                present: 0,
            },
        }
    }

    /// The headers to write, in order.
    pub fn headers(&self) -> Headers<'a> {
        self.headers
    }

    /// Marks `HEADER_ORDER[bit]` as one to write.
    fn push(&mut self, bit: usize) {
        self.headers.present |= 1 << bit;
    }

    fn deny(&mut self, reason: Reason, detail: &'a [u8]) {
        self.verdict = Verdict::Denied;
        self.reason = reason;
        self.detail = detail;
        self.headers.reason = reason;
    }
}

/// Iterator over a decision's headers, in order.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    policy: Option<&'a Policy>,
    /// The request's origin, or the policy's `*`.
    allow_origin: &'a [u8],
    /// The policy's method list, or the request's method (echoed).
    allow_methods: &'a [u8],
    /// Echoed `Access-Control-Request-Headers` lines (trimmed, none
    /// blank): when `echo_len > 0`, `Access-Control-Allow-Headers` is
    /// written once per line instead of the policy's list.
    echo: [&'a [u8]; REQUEST_HEADERS_MAX_LINES],
    echo_len: u8,
    /// The next echoed line to write.
    echo_next: u8,
    preflight: bool,
    reason: Reason,
    /// Bit i: `HEADER_ORDER[i]` is still to come.
    present: u8,
}

impl<'a> Headers<'a> {
    /// The value of `HEADER_ORDER[bit]`.
    fn value(&self, bit: usize) -> &'a [u8] {
        let Some(p) = self.policy else {
            return b"";
        };
        match bit {
            ALLOW_ORIGIN_BIT => self.allow_origin,
            ALLOW_CREDENTIALS_BIT => b"true",
            ALLOW_METHODS_BIT => self.allow_methods,
            ALLOW_HEADERS_BIT => &p.allow_headers_value,
            MAX_AGE_BIT => p.max_age_value.as_deref().unwrap_or_default(),
            EXPOSE_HEADERS_BIT => p.expose_headers_value.as_deref().unwrap_or_default(),
            VARY_BIT if self.preflight => VARY_PREFLIGHT,
            VARY_BIT => VARY_ORIGIN,
            DEBUG_REASON_BIT => self.reason.as_str().as_bytes(),
            _ => b"",
        }
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    #[inline]
    fn next(&mut self) -> Option<Header<'a>> {
        if self.present == 0 {
            return None;
        }
        let bit = self.present.trailing_zeros() as usize;
        if bit == ALLOW_HEADERS_BIT && self.echo_len > 0 {
            let line = self.echo.get(self.echo_next as usize).copied();
            self.echo_next += 1;
            if self.echo_next >= self.echo_len {
                self.present &= self.present - 1;
            }
            return Some(Header {
                name: ALLOW_HEADERS,
                value: line.unwrap_or_default(),
                op: HeaderOp::Set,
            });
        }
        self.present &= self.present - 1;
        let name = HEADER_ORDER.get(bit).copied().unwrap_or(DEBUG_REASON);
        let op = if bit == VARY_BIT {
            HeaderOp::Append
        } else {
            HeaderOp::Set
        };
        Some(Header {
            name,
            value: self.value(bit),
            op,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let mut n = self.present.count_ones() as usize;
        if self.present & (1 << ALLOW_HEADERS_BIT) != 0 && self.echo_len > 0 {
            n += usize::from(self.echo_len - self.echo_next) - 1;
        }
        (n, Some(n))
    }
}

impl ExactSizeIterator for Headers<'_> {}

impl Policy {
    /// Decides one request. Never allocates, never panics, linear time.
    pub fn evaluate<'a>(&'a self, request: &Request<'a>) -> Decision<'a> {
        // One `Decision` built in place and returned once (no copies).
        let kind = match request.origin {
            None => Kind::NotCors,
            Some(_) if request.method == b"OPTIONS" && request.request_method_lines > 0 => {
                Kind::Preflight
            }
            Some(_) => Kind::Actual,
        };
        let mut d = Decision::new(self, kind);
        if let Some(origin) = request.origin {
            self.check_origin(request, origin, &mut d);
            let mut requested_headers = false;
            if kind == Kind::Preflight && d.verdict == Verdict::Allowed {
                self.check_method(request, &mut d);
                if d.verdict == Verdict::Allowed {
                    requested_headers = self.check_headers(request, &mut d);
                }
            }
            if d.verdict == Verdict::Allowed {
                self.write_allowed(request, requested_headers, &mut d);
            }
        } else {
            self.write_not_cors(&mut d);
        }
        self.finish(kind, &mut d);
        d
    }

    fn check_origin<'a>(&'a self, request: &Request<'a>, origin: &'a [u8], d: &mut Decision<'a>) {
        if request.origin_lines > 1 {
            return d.deny(Reason::OriginDuplicated, b"");
        }
        // Fast path: an exact policy origin was validated at load as a
        // serialized origin, so a byte-equal request origin is one too.
        if self.origins.matches_exact(origin) {
            return;
        }
        match parse_request_origin(origin) {
            Ok(parsed) if self.origins.matches(&parsed) => {}
            Ok(_) => d.deny(Reason::OriginNotAllowed, origin),
            Err(OriginError::Null) if self.origins.allows_any() => {}
            Err(OriginError::Null) => d.deny(Reason::OriginNull, b""),
            Err(OriginError::Malformed) => d.deny(Reason::OriginMalformed, b""),
            Err(OriginError::TooLong) => d.deny(Reason::OriginTooLong, b""),
            Err(OriginError::Duplicated) => d.deny(Reason::OriginDuplicated, b""),
        }
    }

    fn check_method<'a>(&'a self, request: &Request<'a>, d: &mut Decision<'a>) {
        let method = request.request_method.unwrap_or_default();
        if request.request_method_lines > 1 {
            d.deny(Reason::MethodDuplicated, b"");
        } else if !is_token(method) {
            d.deny(Reason::MethodMalformed, b"");
        } else if !(is_safelisted_method(method)
            || (self.any_method
                && method.len() <= STAR_METHOD_MAX_LEN
                && !is_forbidden_method(method))
            || self.methods.iter().any(|m| **m == *method))
        {
            d.deny(Reason::MethodNotAllowed, method);
        }
    }

    /// Checks every requested header; returns whether any was requested.
    fn check_headers<'a>(&'a self, request: &Request<'a>, d: &mut Decision<'a>) -> bool {
        if request.request_headers_lines as usize > REQUEST_HEADERS_MAX_LINES {
            d.deny(Reason::TooManyHeaderLines, b"");
            return false;
        }
        let caps = ListCaps {
            max_bytes: REQUEST_HEADERS_MAX_BYTES,
            max_elements: REQUEST_HEADERS_MAX_NAMES,
        };
        let mut requested = false;
        let scanned = scan_list(request.request_header_lines(), caps, |name| {
            requested = true;
            self.allows_header(name)
        });
        match scanned {
            Ok(None) => {}
            Ok(Some(refused)) => d.deny(Reason::HeaderNotAllowed, refused),
            Err(ListError::TooLong) => d.deny(Reason::HeadersTooLong, b""),
            Err(ListError::Malformed) => d.deny(Reason::HeadersMalformed, b""),
            Err(ListError::TooMany) => d.deny(Reason::TooManyHeaders, b""),
        }
        requested
    }

    fn allows_header(&self, name: &[u8]) -> bool {
        if self.any_header && !name.eq_ignore_ascii_case(b"authorization") {
            return true;
        }
        let mut buf = [0u8; MAX_HEADER_NAME_LEN];
        let Some(lower) = buf.get_mut(..name.len()) else {
            return false;
        };
        for (dst, src) in lower.iter_mut().zip(name) {
            *dst = src.to_ascii_lowercase();
        }
        self.headers.contains(&*lower)
    }

    fn write_allowed<'a>(
        &'a self,
        request: &Request<'a>,
        requested_headers: bool,
        d: &mut Decision<'a>,
    ) {
        let origin = request.origin.unwrap_or_default();
        d.headers.allow_origin = if self.origins.allows_any() {
            b"*"
        } else {
            origin
        };
        d.push(ALLOW_ORIGIN_BIT);
        if self.credentials {
            d.push(ALLOW_CREDENTIALS_BIT);
        }
        if d.kind == Kind::Preflight {
            let method = request.request_method.unwrap_or_default();
            // With credentials a literal `*` is a method name to Fetch:
            // echo the (allowed) requested method instead.
            d.headers.allow_methods = if self.any_method && self.credentials {
                method
            } else {
                &self.allow_methods_value
            };
            if !d.headers.allow_methods.is_empty() {
                d.push(ALLOW_METHODS_BIT);
            }
            if requested_headers {
                if self.any_header && self.credentials {
                    echo_lines(request, &mut d.headers);
                }
                d.push(ALLOW_HEADERS_BIT);
            }
            if self.max_age_value.is_some() {
                d.push(MAX_AGE_BIT);
            }
            d.action = Action::Respond;
            d.status = self.preflight_status;
        }
        if self.expose_headers_value.is_some() {
            d.push(EXPOSE_HEADERS_BIT);
        }
    }

    /// A response that is not CORS: under `*` it carries what a cached
    /// copy served to a later CORS request needs (Fetch, "CORS protocol
    /// and HTTP caches"): `Access-Control-Allow-Origin: *` and the exposed
    /// names. Otherwise only `Vary: Origin` (added by `finish`).
    fn write_not_cors(&self, d: &mut Decision<'_>) {
        if self.origins.allows_any() {
            d.headers.allow_origin = b"*";
            d.push(ALLOW_ORIGIN_BIT);
            if self.expose_headers_value.is_some() {
                d.push(EXPOSE_HEADERS_BIT);
            }
        }
    }

    /// Adds `Vary`, the debug header and the deny action; applies report mode.
    fn finish<'a>(&'a self, kind: Kind, d: &mut Decision<'a>) {
        if kind == Kind::Preflight {
            d.push(VARY_BIT);
        } else if !self.origins.allows_any() || d.verdict == Verdict::Denied {
            // With `*`, well-formed origins all get the same answer; a
            // denial (malformed origin) differs, so it varies on Origin.
            d.push(VARY_BIT);
        }
        if d.verdict == Verdict::Denied {
            if self.debug {
                d.push(DEBUG_REASON_BIT);
            }
            let reject = match kind {
                Kind::Preflight => self.preflight_deny == PreflightDeny::Reject,
                _ => self.actual_deny == ActualDeny::Reject,
            };
            if reject {
                d.action = Action::Respond;
                d.status = 403;
            }
        }
        if self.mode == Mode::Report {
            d.action = Action::Continue;
            d.status = 0;
            d.strip_upstream = false;
            d.report_only = true;
            d.headers.present = 0;
        }
    }
}

/// `GET`, `HEAD` and `POST` need no `Access-Control-Allow-Methods`.
fn is_safelisted_method(method: &[u8]) -> bool {
    matches!(method, b"GET" | b"HEAD" | b"POST")
}

/// Fetch's forbidden methods (any case): `*` never admits them.
fn is_forbidden_method(method: &[u8]) -> bool {
    [&b"CONNECT"[..], b"TRACE", b"TRACK"]
        .iter()
        .any(|m| method.eq_ignore_ascii_case(m))
}

/// Copies the request's `Access-Control-Request-Headers` lines into the
/// decision as the values of `Access-Control-Allow-Headers`: one header
/// per line that names something, trimmed of spaces, tabs and commas at
/// both ends. The lines were validated as token lists (no CR, LF or other
/// control byte), so they are safe to write back. Borrows, never copies.
fn echo_lines<'a>(request: &Request<'a>, headers: &mut Headers<'a>) {
    let mut n = 0;
    for line in request.request_header_lines() {
        let trimmed = trim_list(line);
        if let Some(slot) = headers.echo.get_mut(n).filter(|_| !trimmed.is_empty()) {
            *slot = trimmed;
            n += 1;
        }
    }
    headers.echo_len = n as u8;
    headers.echo_next = 0;
}

/// `line` without leading and trailing spaces, tabs and commas.
fn trim_list(line: &[u8]) -> &[u8] {
    let sep = |b: &u8| matches!(b, b' ' | b'\t' | b',');
    let start = line.iter().position(|b| !sep(b)).unwrap_or(line.len());
    let end = line.iter().rposition(|b| !sep(b)).map_or(start, |e| e + 1);
    line.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Policy {
        Policy::from_json(json.as_bytes()).unwrap()
    }

    fn request<'a>(method: &'a str, headers: &[(&str, &'a str)]) -> Request<'a> {
        let mut r = Request::new(method.as_bytes());
        for (name, value) in headers {
            r.add_header(name.as_bytes(), value.as_bytes());
        }
        r
    }

    fn headers(d: &Decision<'_>) -> Vec<(String, String)> {
        d.headers()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn preflight_allowed() {
        let p = policy(
            r#"{"allow_origins":["https://a.com"],"allow_methods":["PUT"],"allow_headers":["x-a"],"allow_credentials":true,"max_age":60}"#,
        );
        let r = request(
            "OPTIONS",
            &[
                ("Origin", "https://a.com"),
                ("Access-Control-Request-Method", "PUT"),
                ("access-control-request-headers", "X-A"),
            ],
        );
        let d = p.evaluate(&r);
        assert_eq!(
            (d.verdict, d.kind, d.reason, d.action, d.status),
            (
                Verdict::Allowed,
                Kind::Preflight,
                Reason::Allowed,
                Action::Respond,
                204
            )
        );
        assert_eq!(
            headers(&d),
            [
                ("access-control-allow-origin".into(), "https://a.com".into()),
                ("access-control-allow-credentials".into(), "true".into()),
                ("access-control-allow-methods".into(), "PUT".into()),
                ("access-control-allow-headers".into(), "x-a".into()),
                ("access-control-max-age".into(), "60".into()),
                (
                    "vary".into(),
                    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".into()
                ),
            ]
        );
    }

    #[test]
    fn authorization_needs_listing() {
        let p = policy(r#"{"allow_origins":["https://a.com"],"allow_headers":["*"]}"#);
        let r = request(
            "OPTIONS",
            &[
                ("Origin", "https://a.com"),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "x-any,authorization"),
            ],
        );
        let d = p.evaluate(&r);
        assert_eq!(
            (d.reason, d.detail),
            (Reason::HeaderNotAllowed, &b"authorization"[..])
        );
    }

    #[test]
    fn header_lines_over_cap() {
        let p = policy(r#"{"allow_origins":["https://a.com"],"allow_headers":["x-a"]}"#);
        let mut r = request(
            "OPTIONS",
            &[
                ("Origin", "https://a.com"),
                ("Access-Control-Request-Method", "GET"),
            ],
        );
        for _ in 0..9 {
            r.add_header(b"Access-Control-Request-Headers", b"x-a");
        }
        assert_eq!(p.evaluate(&r).reason, Reason::TooManyHeaderLines);
    }

    #[test]
    fn report_mode_writes_nothing() {
        let p = policy(r#"{"allow_origins":["https://a.com"],"mode":"report"}"#);
        let d = p.evaluate(&request("GET", &[("Origin", "https://b.com")]));
        assert_eq!(
            (
                d.verdict,
                d.reason,
                d.action,
                d.strip_upstream,
                d.headers().len()
            ),
            (
                Verdict::Denied,
                Reason::OriginNotAllowed,
                Action::Continue,
                false,
                0
            )
        );
    }

    #[test]
    fn enum_codes_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_u32(*r as u32), Some(*r));
        }
        assert_eq!(Reason::from_u32(7), None);
    }

    #[test]
    fn owned_headers_any_case() {
        assert!(is_owned_header(b"Access-Control-Allow-Origin"));
        assert!(is_owned_header(b"access-control-expose-headers"));
        assert!(is_owned_header(b"X-Corsgate-Reason"));
        assert!(!is_owned_header(b"vary"));
    }

    #[test]
    fn star_not_cors_carries_allow_origin() {
        let p = policy(r#"{"allow_origins":["*"],"expose_headers":["x-id"]}"#);
        let d = p.evaluate(&request("GET", &[]));
        assert_eq!(d.verdict, Verdict::NotCors);
        assert_eq!(
            headers(&d),
            [
                ("access-control-allow-origin".into(), "*".into()),
                ("access-control-expose-headers".into(), "x-id".into()),
            ]
        );
        let exact = policy(r#"{"allow_origins":["https://a.com"],"expose_headers":["x-id"]}"#);
        let d = exact.evaluate(&request("GET", &[]));
        assert_eq!(headers(&d), [("vary".into(), "Origin".into())]);
    }

    #[test]
    fn preflight_always_has_methods_and_exposed() {
        let p = policy(r#"{"allow_origins":["https://a.com"],"expose_headers":["x-id"]}"#);
        let r = request(
            "OPTIONS",
            &[
                ("Origin", "https://a.com"),
                ("Access-Control-Request-Method", "GET"),
            ],
        );
        let h = headers(&p.evaluate(&r));
        assert_eq!(
            h[1],
            (
                "access-control-allow-methods".into(),
                "GET, HEAD, POST".into()
            )
        );
        assert_eq!(
            h[2],
            ("access-control-expose-headers".into(), "x-id".into())
        );
    }

    #[test]
    fn star_with_credentials_echoes_request() {
        let p = policy(
            r#"{"allow_origins":["https://a.com"],"allow_credentials":true,"allow_methods":["*"],"allow_headers":["*"]}"#,
        );
        let mut r = request(
            "OPTIONS",
            &[
                ("Origin", "https://a.com"),
                ("Access-Control-Request-Method", "PATCH"),
                ("Access-Control-Request-Headers", " x-a, X-B ,"),
                ("Access-Control-Request-Headers", ", ,"),
            ],
        );
        r.add_header(b"Access-Control-Request-Headers", b"x-c");
        let d = p.evaluate(&r);
        assert_eq!(d.headers().len(), 6);
        assert_eq!(
            headers(&d),
            [
                ("access-control-allow-origin".into(), "https://a.com".into()),
                ("access-control-allow-credentials".into(), "true".into()),
                ("access-control-allow-methods".into(), "PATCH".into()),
                ("access-control-allow-headers".into(), "x-a, X-B".into()),
                ("access-control-allow-headers".into(), "x-c".into()),
                (
                    "vary".into(),
                    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".into()
                ),
            ]
        );
        // Borrowed from the request, not copied.
        let acam = d.headers().nth(2).unwrap().value;
        assert!(std::ptr::eq(acam, r.request_method.unwrap()));
        // `*` never covers authorization.
        let r = request(
            "OPTIONS",
            &[
                ("Origin", "https://a.com"),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
        );
        assert_eq!(p.evaluate(&r).reason, Reason::HeaderNotAllowed);
    }

    #[test]
    fn star_methods_never_forbidden() {
        let p = policy(r#"{"allow_origins":["*"],"allow_methods":["*"]}"#);
        for m in ["CONNECT", "TRACE", "TRACK", "trace"] {
            let r = request(
                "OPTIONS",
                &[
                    ("Origin", "https://a.com"),
                    ("Access-Control-Request-Method", m),
                ],
            );
            assert_eq!(p.evaluate(&r).reason, Reason::MethodNotAllowed, "{m}");
        }
    }

    #[test]
    fn trailing_dot_origin_is_its_own() {
        let p = policy(r#"{"allow_origins":["https://a.com.","https://*.b.com."]}"#);
        for (origin, allowed) in [
            ("https://a.com.", true),
            ("https://a.com", false),
            ("https://x.b.com.", true),
            ("https://x.b.com", false),
        ] {
            let d = p.evaluate(&request("GET", &[("Origin", origin)]));
            assert_eq!(d.verdict == Verdict::Allowed, allowed, "{origin}");
        }
    }
}
