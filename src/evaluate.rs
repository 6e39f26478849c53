//! The decision for one request: what kind of CORS request it is, whether
//! the policy allows it, why, and exactly which headers to write.
//!
//! Nothing here allocates: the request is a view over the caller's header
//! bytes, and the decision borrows from the request and the policy.

use crate::origin::{parse_request_origin, OriginError};
use crate::policy::{
    eq_bytes, is_plain_origin, short_word, ActualDeny, Mode, Policy, PreflightDeny,
};
use crate::tokens::{find_comma, is_token, trim_ows};

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
    // an exact compare, as HTTP/2, Envoy and most clients send lowercase;
    // then the bytes compared a word at a time in any case (HTTP/1.1 hosts
    // such as NGINX pass `Origin` as the client wrote it).
    let (kind, lower) = match name.len() {
        6 => (RequestHeader::Origin, ORIGIN),
        29 => (RequestHeader::RequestMethod, REQUEST_METHOD),
        30 => (RequestHeader::RequestHeaders, REQUEST_HEADERS),
        _ => return None,
    };
    (eq_bytes(name, lower.as_bytes()) || eq_any_case(name, kind)).then_some(kind)
}

/// [`request_header_kind`] for hosts that pass names as the client wrote
/// them (the C ABI: NGINX passes `Origin`): the any-case comparison
/// straight away, inline.
#[inline(always)]
pub(crate) fn request_header_kind_any_case(name: &[u8]) -> Option<RequestHeader> {
    let kind = match name.len() {
        6 => RequestHeader::Origin,
        29 => RequestHeader::RequestMethod,
        30 => RequestHeader::RequestHeaders,
        _ => return None,
    };
    eq_folded(name, kind).then_some(kind)
}

/// `name` (of the length of `kind`'s name) is `kind`'s name in any case.
/// Out of line from [`request_header_kind`]: only a host passing names as
/// the client wrote them (HTTP/1.1) gets there.
#[inline(never)]
fn eq_any_case(name: &[u8], kind: RequestHeader) -> bool {
    eq_folded(name, kind)
}

/// The body of [`eq_any_case`].
#[inline(always)]
fn eq_folded(name: &[u8], kind: RequestHeader) -> bool {
    match kind {
        RequestHeader::Origin => name.first_chunk::<6>().is_some_and(|b| {
            let w = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], 0, 0]);
            w | ORIGIN_FOLD == ORIGIN_WORD
        }),
        // The first 16 bytes (`access-control-r`), then the last 16
        // (`l-request-method` or `-request-headers`): every byte.
        RequestHeader::RequestMethod => ends(name, ACR_FOLD, ACR_WORD, METHOD_FOLD, METHOD_WORD),
        RequestHeader::RequestHeaders => ends(name, ACR_FOLD, ACR_WORD, HEADERS_FOLD, HEADERS_WORD),
    }
}

/// `name`'s first and last 16 bytes are `head` and `tail` in any case
/// (each folded as [`case_fold`] says).
#[inline(always)]
fn ends(name: &[u8], head_fold: u128, head: u128, tail_fold: u128, tail: u128) -> bool {
    match (name.first_chunk::<16>(), name.last_chunk::<16>()) {
        (Some(h), Some(t)) => {
            u128::from_le_bytes(*h) | head_fold == head
                && u128::from_le_bytes(*t) | tail_fold == tail
        }
        _ => false,
    }
}

/// `0x20` on each byte of `w` that is a lowercase letter: OR-ing a word
/// with it folds an uppercase letter onto its lowercase form at those
/// places only, so that `x | fold == w` holds exactly when `x` is `w` in
/// any case (a byte that is not a letter must be equal).
const fn case_fold(w: u128) -> u128 {
    let mut fold = 0;
    let mut i = 0;
    while i < 16 {
        if ((w >> (8 * i)) as u8).is_ascii_lowercase() {
            fold |= 0x20 << (8 * i);
        }
        i += 1;
    }
    fold
}

/// Bytes `at..at + len` (len <= 16) of `s` as a little-endian word.
const fn word_at(s: &str, at: usize, len: usize) -> u128 {
    let b = s.as_bytes();
    let mut w = 0;
    let mut i = 0;
    while i < len {
        w |= (b[at + i] as u128) << (8 * i);
        i += 1;
    }
    w
}

const ORIGIN_WORD: u64 = word_at(ORIGIN, 0, 6) as u64;
const ORIGIN_FOLD: u64 = case_fold(ORIGIN_WORD as u128) as u64;
const ACR_WORD: u128 = word_at(REQUEST_METHOD, 0, 16);
const ACR_FOLD: u128 = case_fold(ACR_WORD);
const METHOD_WORD: u128 = word_at(REQUEST_METHOD, REQUEST_METHOD.len() - 16, 16);
const METHOD_FOLD: u128 = case_fold(METHOD_WORD);
const HEADERS_WORD: u128 = word_at(REQUEST_HEADERS, REQUEST_HEADERS.len() - 16, 16);
const HEADERS_FOLD: u128 = case_fold(HEADERS_WORD);
const _: () = assert!(word_at(REQUEST_METHOD, 0, 16) == word_at(REQUEST_HEADERS, 0, 16));
const _: () = assert!(ORIGIN.len() == 6 && REQUEST_METHOD.len() == 29);
const _: () = assert!(REQUEST_HEADERS.len() == 30);

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

/// A request with no method and no headers (what a safe denial borrows).
static EMPTY_REQUEST: Request<'static> = Request {
    method: b"",
    origin: None,
    origin_lines: 0,
    request_method: None,
    request_method_lines: 0,
    request_headers: [b""; REQUEST_HEADERS_MAX_LINES],
    request_headers_lines: 0,
};

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

/// The headers a decision may write, in the order they are written.
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
// `Headers::echo` has one bit per kept request line.
const _: () = assert!(REQUEST_HEADERS_MAX_LINES <= u8::BITS as usize);

/// The outcomes a decision can take. The policy builds, when it loads, the
/// headers, action and status of each ([`Plans`]); evaluating a request
/// picks one and adds what comes from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    NotCors,
    ActualAllowed,
    ActualDenied,
    PreflightAllowed,
    /// An allowed preflight that requested headers (it gets
    /// `Access-Control-Allow-Headers`).
    PreflightAllowedHeaders,
    PreflightDenied,
}

impl Plan {
    pub(crate) const ALL: [Plan; 6] = [
        Plan::NotCors,
        Plan::ActualAllowed,
        Plan::ActualDenied,
        Plan::PreflightAllowed,
        Plan::PreflightAllowedHeaders,
        Plan::PreflightDenied,
    ];
}

/// Where the value of a planned header comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The planned value itself (static text or the policy's).
    Fixed,
    /// The request's `Origin`.
    Origin,
    /// The requested method (echoed under `allow_methods: ["*"]` with
    /// credentials).
    RequestMethod,
    /// The request's `Access-Control-Request-Headers` lines, one header per
    /// line that names something (under `allow_headers: ["*"]` with
    /// credentials); the planned value when there is none.
    RequestHeaderLines,
    /// The text of the decision's reason (the debug header).
    Reason,
}

/// One header of a plan, built when the policy loads.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) name: &'static str,
    pub(crate) op: HeaderOp,
    pub(crate) source: Source,
    /// The value for `Source::Fixed` (and `RequestHeaderLines`' fallback).
    pub(crate) value: Box<[u8]>,
}

/// What every decision of one plan shares.
#[derive(Debug)]
pub(crate) struct Outcome {
    verdict: Verdict,
    kind: Kind,
    action: Action,
    status: u16,
    headers: Box<[Planned]>,
}

/// A policy's outcomes, one per [`Plan`], built when it loads: evaluating
/// a request formats nothing and looks nothing up to know its headers.
#[derive(Debug)]
pub(crate) struct Plans {
    outcomes: [Outcome; Plan::ALL.len()],
    /// `mode: "report"`: every outcome is empty.
    report: bool,
    /// Allowed preflights echo the request's header lines.
    echo_header_lines: bool,
}

impl Plans {
    /// The outcomes of a compiled policy (its other fields set).
    pub(crate) fn new(p: &Policy) -> Plans {
        Plans {
            outcomes: Plan::ALL.map(|plan| Plans::outcome(p, plan)),
            report: p.mode == Mode::Report,
            echo_header_lines: p.any_header && p.credentials && p.mode != Mode::Report,
        }
    }

    /// The action and status of `plan`'s decisions.
    pub(crate) fn action(&self, plan: Plan) -> (Action, u16) {
        self.outcomes
            .get(plan as usize)
            .map_or((Action::Continue, 0), |o| (o.action, o.status))
    }

    /// The headers `plan` writes, as planned.
    pub(crate) fn headers(&self, plan: Plan) -> &[Planned] {
        self.outcomes
            .get(plan as usize)
            .map_or(&[][..], |o| &o.headers)
    }

    /// An empty set (before [`Plans::new`]).
    pub(crate) fn empty() -> Plans {
        Plans {
            outcomes: Plan::ALL.map(|_| Outcome {
                verdict: Verdict::Denied,
                kind: Kind::Actual,
                action: Action::Continue,
                status: 0,
                headers: Box::default(),
            }),
            report: false,
            echo_header_lines: false,
        }
    }

    fn outcome(p: &Policy, plan: Plan) -> Outcome {
        let fixed = |name: &'static str, value: &[u8]| Planned {
            name,
            op: HeaderOp::Set,
            source: Source::Fixed,
            value: value.into(),
        };
        let from = |name: &'static str, source: Source| Planned {
            name,
            op: HeaderOp::Set,
            source,
            value: Box::default(),
        };
        let any_origin = p.origins.allows_any();
        let (verdict, kind) = match plan {
            Plan::NotCors => (Verdict::NotCors, Kind::NotCors),
            Plan::ActualAllowed => (Verdict::Allowed, Kind::Actual),
            Plan::ActualDenied => (Verdict::Denied, Kind::Actual),
            Plan::PreflightAllowed | Plan::PreflightAllowedHeaders => {
                (Verdict::Allowed, Kind::Preflight)
            }
            Plan::PreflightDenied => (Verdict::Denied, Kind::Preflight),
        };
        let mut h = Vec::new();
        let expose = p.expose_headers_value.as_deref();
        if verdict == Verdict::Allowed {
            h.push(if any_origin {
                fixed(ALLOW_ORIGIN, b"*")
            } else {
                from(ALLOW_ORIGIN, Source::Origin)
            });
            if p.credentials {
                h.push(fixed(ALLOW_CREDENTIALS, b"true"));
            }
            if kind == Kind::Preflight {
                // With credentials a literal `*` is a method name to Fetch:
                // echo the (allowed, so non-empty) requested method instead.
                if p.any_method && p.credentials {
                    h.push(from(ALLOW_METHODS, Source::RequestMethod));
                } else if !p.allow_methods_value.is_empty() {
                    h.push(fixed(ALLOW_METHODS, &p.allow_methods_value));
                }
                if plan == Plan::PreflightAllowedHeaders {
                    h.push(Planned {
                        source: if p.any_header && p.credentials {
                            Source::RequestHeaderLines
                        } else {
                            Source::Fixed
                        },
                        ..fixed(ALLOW_HEADERS, &p.allow_headers_value)
                    });
                }
                if let Some(age) = p.max_age_value.as_deref() {
                    h.push(fixed(MAX_AGE, age));
                }
            }
            if let Some(e) = expose {
                h.push(fixed(EXPOSE_HEADERS, e));
            }
        } else if verdict == Verdict::NotCors && any_origin {
            // A response that is not CORS: under `*` it carries what a
            // cached copy served to a later CORS request needs (Fetch,
            // "CORS protocol and HTTP caches").
            h.push(fixed(ALLOW_ORIGIN, b"*"));
            if let Some(e) = expose {
                h.push(fixed(EXPOSE_HEADERS, e));
            }
        }
        let vary = |value: &[u8]| Planned {
            op: HeaderOp::Append,
            ..fixed(VARY, value)
        };
        if kind == Kind::Preflight {
            h.push(vary(VARY_PREFLIGHT));
        } else if !any_origin || verdict == Verdict::Denied {
            // With `*`, well-formed origins all get the same answer; a
            // denial (malformed origin) differs, so it varies on Origin.
            h.push(vary(VARY_ORIGIN));
        }
        let (mut action, mut status) = if verdict == Verdict::Allowed && kind == Kind::Preflight {
            (Action::Respond, p.preflight_status)
        } else {
            (Action::Continue, 0)
        };
        if verdict == Verdict::Denied {
            if p.debug {
                h.push(from(DEBUG_REASON, Source::Reason));
            }
            let reject = match kind {
                Kind::Preflight => p.preflight_deny == PreflightDeny::Reject,
                _ => p.actual_deny == ActualDeny::Reject,
            };
            if reject {
                (action, status) = (Action::Respond, 403);
            }
        }
        if p.mode == Mode::Report {
            (action, status) = (Action::Continue, 0);
            h.clear();
        }
        debug_assert!(h.windows(2).all(|w| order(w[0].name) < order(w[1].name)));
        Outcome {
            verdict,
            kind,
            action,
            status,
            headers: h.into_boxed_slice(),
        }
    }
}

/// The position of `name` in [`HEADER_ORDER`].
fn order(name: &str) -> usize {
    HEADER_ORDER
        .iter()
        .position(|h| *h == name)
        .unwrap_or(HEADER_ORDER.len())
}

/// The outcome of [`Policy::evaluate`]: small and `Copy`; the header values
/// are borrowed from the policy or the request when [`Decision::headers`]
/// is iterated.
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
    /// The policy's plan this decision follows (none for a safe denial).
    pub(crate) plan: Option<Plan>,
}

impl<'a> Decision<'a> {
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
                planned: &[],
                request: &EMPTY_REQUEST,
                reason: Reason::InternalError,
                echo: 0,
            },
            plan: None,
        }
    }

    /// The headers to write, in order.
    pub fn headers(&self) -> Headers<'a> {
        self.headers
    }
}

/// Iterator over a decision's headers, in order. Small: the values are
/// borrowed from the policy or the request when iterated, never copied
/// into the decision.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    /// The headers still to come, as the policy planned them.
    planned: &'a [Planned],
    /// The evaluated request: the origin and the echoed method and header
    /// lines are read from it.
    request: &'a Request<'a>,
    reason: Reason,
    /// Bit i: the request's `Access-Control-Request-Headers` line i
    /// (trimmed, not blank) is echoed and still to come (a
    /// `Source::RequestHeaderLines` header gives one header per bit).
    echo: u8,
}

impl<'a> Headers<'a> {
    /// The next header, with where its value comes from (the C ABI copies
    /// the request's bytes into its decision, and only those).
    #[inline]
    pub(crate) fn next_with_source(&mut self) -> Option<(Header<'a>, Source)> {
        let (p, rest) = self.planned.split_first()?;
        let value: &'a [u8] = match p.source {
            Source::Fixed => &p.value,
            Source::Origin => self.request.origin.unwrap_or_default(),
            Source::RequestMethod => self.request.request_method.unwrap_or_default(),
            Source::Reason => self.reason.as_str().as_bytes(),
            Source::RequestHeaderLines if self.echo != 0 => {
                let line = self
                    .request
                    .request_headers
                    .get(self.echo.trailing_zeros() as usize)
                    .copied()
                    .unwrap_or_default();
                self.echo &= self.echo - 1;
                let h = Header {
                    name: p.name,
                    value: trim_list(line),
                    op: p.op,
                };
                if self.echo == 0 {
                    self.planned = rest;
                }
                return Some((h, Source::RequestHeaderLines));
            }
            Source::RequestHeaderLines => &p.value,
        };
        self.planned = rest;
        let source = if p.source == Source::RequestHeaderLines {
            Source::Fixed
        } else {
            p.source
        };
        Some((
            Header {
                name: p.name,
                value,
                op: p.op,
            },
            source,
        ))
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    #[inline]
    fn next(&mut self) -> Option<Header<'a>> {
        self.next_with_source().map(|(h, _)| h)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // `echo` is non-zero only before or at the header it expands.
        let n = self.planned.len() + (self.echo.count_ones() as usize).saturating_sub(1);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Headers<'_> {}

/// Why a check refused the request: the reason and what it names.
type Refusal<'a> = (Reason, &'a [u8]);

impl Policy {
    /// Decides one request. Never allocates, never panics, linear time.
    #[inline]
    pub fn evaluate<'a>(&'a self, request: &'a Request<'a>) -> Decision<'a> {
        // The common case inline: an actual request (no
        // `Access-Control-Request-Method`) from one exact allowed origin.
        if let Some(origin) = request.origin {
            if request.request_method_lines == 0 && request.origin_lines == 1 {
                if self.origins.matches_exact(origin) {
                    return self.decide(request, Plan::ActualAllowed, (Reason::Allowed, b""), 0);
                }
                return self.actual_not_exact(request, origin);
            }
        }
        self.evaluate_any(request)
    }

    /// An actual request with one `Origin` line that is no exact allowed
    /// origin.
    #[inline(never)]
    fn actual_not_exact<'a>(&'a self, request: &'a Request<'a>, origin: &'a [u8]) -> Decision<'a> {
        match self.check_inexact_origin(origin) {
            Ok(()) => self.decide(request, Plan::ActualAllowed, (Reason::Allowed, b""), 0),
            Err(refusal) => self.decide(request, Plan::ActualDenied, refusal, 0),
        }
    }

    /// [`Policy::evaluate`] for any request.
    #[inline(never)]
    fn evaluate_any<'a>(&'a self, request: &'a Request<'a>) -> Decision<'a> {
        let Some(origin) = request.origin else {
            return self.decide(request, Plan::NotCors, (Reason::NotCors, b""), 0);
        };
        let preflight = request.request_method_lines > 0 && eq_bytes(request.method, b"OPTIONS");
        let denied = if preflight {
            Plan::PreflightDenied
        } else {
            Plan::ActualDenied
        };
        if let Err(refusal) = self.check_origin(request, origin) {
            return self.decide(request, denied, refusal, 0);
        }
        if !preflight {
            return self.decide(request, Plan::ActualAllowed, (Reason::Allowed, b""), 0);
        }
        if let Err(refusal) = self.check_method(request) {
            return self.decide(request, denied, refusal, 0);
        }
        match self.check_headers(request) {
            Err(refusal) => self.decide(request, denied, refusal, 0),
            Ok(false) => self.decide(request, Plan::PreflightAllowed, (Reason::Allowed, b""), 0),
            Ok(true) => {
                let echo = if self.plans.echo_header_lines {
                    echo_lines(request)
                } else {
                    0
                };
                let allowed = (Reason::Allowed, &b""[..]);
                self.decide(request, Plan::PreflightAllowedHeaders, allowed, echo)
            }
        }
    }

    /// The decision of `plan`, as the policy built it, for this request.
    #[inline(always)]
    fn decide<'a>(
        &'a self,
        request: &'a Request<'a>,
        plan: Plan,
        (reason, detail): Refusal<'a>,
        echo: u8,
    ) -> Decision<'a> {
        let o = match self.plans.outcomes.get(plan as usize) {
            Some(o) => o,
            None => return Decision::internal_error(),
        };
        Decision {
            verdict: o.verdict,
            kind: o.kind,
            reason,
            action: o.action,
            status: o.status,
            strip_upstream: !self.plans.report,
            report_only: self.plans.report,
            detail,
            headers: Headers {
                planned: &o.headers,
                request,
                reason,
                echo,
            },
            plan: Some(plan),
        }
    }

    fn check_origin<'a>(
        &'a self,
        request: &Request<'a>,
        origin: &'a [u8],
    ) -> Result<(), Refusal<'a>> {
        if request.origin_lines > 1 {
            return Err((Reason::OriginDuplicated, b""));
        }
        // Fast path: an exact policy origin was validated at load as a
        // serialized origin, so a byte-equal request origin is one too.
        if self.origins.matches_exact(origin) {
            return Ok(());
        }
        self.check_inexact_origin_apart(origin)
    }

    /// [`Policy::check_inexact_origin`] out of line, so that a preflight's
    /// checks of its method and headers keep their registers.
    #[inline(never)]
    fn check_inexact_origin_apart<'a>(&'a self, origin: &'a [u8]) -> Result<(), Refusal<'a>> {
        self.check_inexact_origin(origin)
    }

    /// Checks an origin that is no exact allowed origin.
    #[inline]
    fn check_inexact_origin<'a>(&'a self, origin: &'a [u8]) -> Result<(), Refusal<'a>> {
        // Only exact origins are allowed and this one is well-formed: the
        // parser would say so at greater cost, and nothing else can match.
        if self.origins.exact_only() && is_plain_origin(origin) {
            return Err((Reason::OriginNotAllowed, origin));
        }
        // Exact origins and subdomain wildcards only, and a plain origin:
        // its host's suffixes looked up without parsing it.
        if let Some(allowed) = self.origins.plain_subdomain_match(origin) {
            return if allowed {
                Ok(())
            } else {
                Err((Reason::OriginNotAllowed, origin))
            };
        }
        match parse_request_origin(origin) {
            Ok(parsed) if self.origins.matches_inexact(&parsed) => Ok(()),
            Ok(_) => Err((Reason::OriginNotAllowed, origin)),
            Err(OriginError::Null) if self.origins.allows_any() => Ok(()),
            Err(OriginError::Null) => Err((Reason::OriginNull, b"")),
            Err(OriginError::Malformed) => Err((Reason::OriginMalformed, b"")),
            Err(OriginError::TooLong) => Err((Reason::OriginTooLong, b"")),
            Err(OriginError::Duplicated) => Err((Reason::OriginDuplicated, b"")),
        }
    }

    fn check_method<'a>(&'a self, request: &Request<'a>) -> Result<(), Refusal<'a>> {
        let method = request.request_method.unwrap_or_default();
        if request.request_method_lines > 1 {
            Err((Reason::MethodDuplicated, b""))
        } else if !is_token(method) {
            Err((Reason::MethodMalformed, b""))
        } else if !(is_safelisted_method(method)
            || (self.any_method
                && method.len() <= STAR_METHOD_MAX_LEN
                && !is_forbidden_method(method))
            || self.allows_listed_method(method))
        {
            Err((Reason::MethodNotAllowed, method))
        } else {
            Ok(())
        }
    }

    /// Checks every requested header; returns whether any was requested.
    ///
    /// One pass over the lines, as [`crate::tokens::scan_list`] would
    /// scan them (its caps, its order of errors): the lines are split at
    /// commas and each element trimmed of spaces and tabs; an element that
    /// is not empty must be a token (otherwise the list is malformed),
    /// counts towards the cap, and is looked up until one is refused. A
    /// name found among the listed ones is a token already (they were
    /// validated as tokens), so only the others are checked byte by byte.
    fn check_headers<'a>(&'a self, request: &Request<'a>) -> Result<bool, Refusal<'a>> {
        if request.request_headers_lines as usize > REQUEST_HEADERS_MAX_LINES {
            return Err((Reason::TooManyHeaderLines, b""));
        }
        let lines = request.request_header_lines();
        let total: usize = lines.iter().map(|l| l.len()).sum();
        if total > REQUEST_HEADERS_MAX_BYTES {
            return Err((Reason::HeadersTooLong, b""));
        }
        let mut count = 0usize;
        let mut refused: Option<&'a [u8]> = None;
        for &line in lines {
            let mut start = 0;
            while start <= line.len() {
                let end = find_comma(line, start).unwrap_or(line.len());
                let element = trim_ows(line.get(start..end).unwrap_or_default());
                start = end + 1;
                if element.is_empty() {
                    continue;
                }
                if refused.is_none()
                    && !self.any_header
                    && self.headers.contains_ignore_case(element)
                {
                    // A listed name (so a token).
                    count += 1;
                    if count > REQUEST_HEADERS_MAX_NAMES {
                        return Err((Reason::TooManyHeaders, b""));
                    }
                    continue;
                }
                self.other_element(element, &mut count, &mut refused)?;
            }
        }
        match refused {
            Some(name) => Err((Reason::HeaderNotAllowed, name)),
            None => Ok(count > 0),
        }
    }

    /// True when `method` is one of `allow_methods`, byte for byte.
    #[inline]
    fn allows_listed_method(&self, method: &[u8]) -> bool {
        if method.len() < 8 {
            let key = (method.len(), short_word(method));
            return self.short_methods.contains(&key);
        }
        self.methods.iter().any(|m| eq_bytes(m, method))
    }

    /// An element of `check_headers` that is not a listed name, or comes
    /// after a refused one, or any name is allowed: it must be a token; it
    /// is counted; the first not allowed is refused.
    #[inline(never)]
    fn other_element<'a>(
        &'a self,
        element: &'a [u8],
        count: &mut usize,
        refused: &mut Option<&'a [u8]>,
    ) -> Result<(), Refusal<'a>> {
        if !is_token(element) {
            return Err((Reason::HeadersMalformed, b""));
        }
        *count += 1;
        if *count > REQUEST_HEADERS_MAX_NAMES {
            return Err((Reason::TooManyHeaders, b""));
        }
        // Without `*`, a name reaching here first was looked up already.
        if refused.is_none() && (!self.any_header || !self.allows_header(element)) {
            *refused = Some(element);
        }
        Ok(())
    }

    #[inline]
    fn allows_header(&self, name: &[u8]) -> bool {
        if self.any_header && !name.eq_ignore_ascii_case(b"authorization") {
            return true;
        }
        self.headers.contains_ignore_case(name)
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

/// The request's `Access-Control-Request-Headers` lines echoed as the
/// values of `Access-Control-Allow-Headers`: bit i for line i when it
/// names something (it is trimmed of spaces, tabs and commas at both ends
/// when iterated). The lines were validated as token lists (no CR, LF or
/// other control byte), so they are safe to write back. Borrows, never
/// copies.
fn echo_lines(request: &Request<'_>) -> u8 {
    let mut mask = 0u8;
    for (i, line) in request.request_header_lines().iter().enumerate() {
        if !trim_list(line).is_empty() {
            mask |= 1 << i;
        }
    }
    mask
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

    #[test]
    fn request_header_names_in_any_case_and_no_near_miss() {
        // Every name in a few cases, and every one-byte change of each
        // (each byte replaced by each value) against the plain definition.
        let plain = |name: &[u8]| {
            REQUEST_HEADER_NAMES
                .iter()
                .position(|n| name.eq_ignore_ascii_case(n.as_bytes()))
        };
        let kinds = [
            RequestHeader::Origin,
            RequestHeader::RequestMethod,
            RequestHeader::RequestHeaders,
        ];
        for (name, kind) in REQUEST_HEADER_NAMES.iter().zip(kinds) {
            for variant in [
                name.to_string(),
                name.to_ascii_uppercase(),
                "Origin".to_string(),
                "Access-Control-Request-Method".to_string(),
                "Access-Control-Request-Headers".to_string(),
            ] {
                let expected = plain(variant.as_bytes()).map(|i| kinds[i]);
                assert_eq!(
                    request_header_kind(variant.as_bytes()),
                    expected,
                    "{variant}"
                );
            }
            assert_eq!(request_header_kind(name.as_bytes()), Some(kind));
            let upper = name.to_ascii_uppercase();
            assert_eq!(request_header_kind_any_case(upper.as_bytes()), Some(kind));
            let mut bytes = name.as_bytes().to_vec();
            for i in 0..bytes.len() {
                let keep = bytes[i];
                for b in 0..=255u8 {
                    bytes[i] = b;
                    let expected = plain(&bytes).map(|k| kinds[k]);
                    assert_eq!(request_header_kind(&bytes), expected, "{bytes:?}");
                    let any_case = request_header_kind_any_case(&bytes);
                    assert_eq!(any_case, expected, "{bytes:?}");
                }
                bytes[i] = keep;
            }
        }
        for other in ["", "origins", "host", "access-control-request-methods"] {
            assert_eq!(request_header_kind(other.as_bytes()), None);
            assert_eq!(request_header_kind_any_case(other.as_bytes()), None);
        }
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
    fn requested_header_lists() {
        let p = policy(r#"{"allow_origins":["https://a.com"],"allow_headers":["x-a","x-b"]}"#);
        let many = vec!["x-a"; REQUEST_HEADERS_MAX_NAMES + 1].join(",");
        for (lines, want, detail) in [
            (&["x-a, X-A ,x-b"][..], Reason::Allowed, ""),
            (&["x-a", "", " ,X-B"], Reason::Allowed, ""),
            (&["x-c,x-d"], Reason::HeaderNotAllowed, "x-c"),
            (&["x-a", "x-b,x-c ,"], Reason::HeaderNotAllowed, "x-c"),
            // Malformed wins over a refusal before it, and over listed names.
            (&["x-c,x@y"], Reason::HeadersMalformed, ""),
            (&["x-a x-b"], Reason::HeadersMalformed, ""),
            (&["x-a,\rx-b"], Reason::HeadersMalformed, ""),
            (&[many.as_str()], Reason::TooManyHeaders, ""),
        ] {
            let mut r = request(
                "OPTIONS",
                &[
                    ("Origin", "https://a.com"),
                    ("Access-Control-Request-Method", "GET"),
                ],
            );
            for l in lines {
                r.add_header(b"access-control-request-headers", l.as_bytes());
            }
            let d = p.evaluate(&r);
            assert_eq!((d.reason, d.detail), (want, detail.as_bytes()), "{lines:?}");
        }
    }

    #[test]
    fn report_mode_writes_nothing() {
        let p = policy(r#"{"allow_origins":["https://a.com"],"mode":"report"}"#);
        let r = request("GET", &[("Origin", "https://b.com")]);
        let d = p.evaluate(&r);
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
        let r = request("GET", &[]);
        let d = p.evaluate(&r);
        assert_eq!(d.verdict, Verdict::NotCors);
        assert_eq!(
            headers(&d),
            [
                ("access-control-allow-origin".into(), "*".into()),
                ("access-control-expose-headers".into(), "x-id".into()),
            ]
        );
        let exact = policy(r#"{"allow_origins":["https://a.com"],"expose_headers":["x-id"]}"#);
        let r = request("GET", &[]);
        let d = exact.evaluate(&r);
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
            let r = request("GET", &[("Origin", origin)]);
            let d = p.evaluate(&r);
            assert_eq!(d.verdict == Verdict::Allowed, allowed, "{origin}");
        }
    }
}
