//! The C-visible types of the ABI and their conversions from the core.

use std::ffi::{c_char, CStr};

use crate::evaluate::{self, Action, Decision, HeaderOp, Kind, Reason, Request, Verdict};

/// The ABI version; the SONAME is `libcorsgate.so.<CORSGATE_ABI_VERSION>`.
pub const CORSGATE_ABI_VERSION: u32 = 1;
/// Most `Access-Control-Request-Headers` lines a request keeps; a request
/// with more is denied (`too-many-header-lines`).
pub const CORSGATE_REQUEST_HEADERS_MAX_LINES: usize = 8;
/// Most headers one decision asks the caller to write (14 are reachable:
/// `access-control-allow-headers` repeats once per echoed request line).
pub const CORSGATE_DECISION_MAX_HEADERS: usize = 15;
/// Longest `Origin` accepted, in bytes; longer ones are denied.
pub const CORSGATE_ORIGIN_MAX_LEN: usize = 512;
/// Bytes of private storage in a decision (request bytes it keeps: the
/// origin, the detail, an echoed method and echoed request-header lines).
pub const CORSGATE_DECISION_STORAGE_LEN: usize = 5632;

const _: () = assert!(CORSGATE_REQUEST_HEADERS_MAX_LINES == evaluate::REQUEST_HEADERS_MAX_LINES);
const _: () = assert!(CORSGATE_DECISION_MAX_HEADERS == evaluate::DECISION_MAX_HEADERS);
const _: () = assert!(CORSGATE_ORIGIN_MAX_LEN == crate::origin::MAX_ORIGIN_LEN);
/// Where the kept request bytes go in `storage`.
const DETAIL_AT: usize = CORSGATE_ORIGIN_MAX_LEN;
const METHOD_AT: usize = DETAIL_AT + 512;
const LINES_AT: usize = METHOD_AT + evaluate::STAR_METHOD_MAX_LEN;
const _: () =
    assert!(CORSGATE_DECISION_STORAGE_LEN == LINES_AT + evaluate::REQUEST_HEADERS_MAX_BYTES);

/// Result of a fallible call. 0 is OK; other values are grouped (1–99
/// call errors, 100–199 policy errors) and never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum corsgate_result {
    /// Success.
    CORSGATE_RESULT_OK = 0,
    /// A required pointer was NULL (or NULL with a non-zero length).
    CORSGATE_RESULT_NULL_PARAMETER = 1,
    /// corsgate failed internally; nothing was changed (see each call).
    CORSGATE_RESULT_PANIC = 2,
    /// The policy is invalid (unknown or repeated fields, invalid values);
    /// the message says every problem.
    CORSGATE_RESULT_INVALID_POLICY = 100,
    /// The document is not JSON, or not a JSON object.
    CORSGATE_RESULT_INVALID_JSON = 101,
    /// No policy field has this name.
    CORSGATE_RESULT_UNKNOWN_FIELD = 102,
    /// A text value is not UTF-8.
    CORSGATE_RESULT_INVALID_TEXT = 103,
}

impl corsgate_result {
    pub(crate) fn from_u32(code: u32) -> Option<Self> {
        use corsgate_result::*;
        [
            CORSGATE_RESULT_OK,
            CORSGATE_RESULT_NULL_PARAMETER,
            CORSGATE_RESULT_PANIC,
            CORSGATE_RESULT_INVALID_POLICY,
            CORSGATE_RESULT_INVALID_JSON,
            CORSGATE_RESULT_UNKNOWN_FIELD,
            CORSGATE_RESULT_INVALID_TEXT,
        ]
        .into_iter()
        .find(|r| *r as u32 == code)
    }

    pub(crate) fn description(self) -> &'static CStr {
        match self {
            corsgate_result::CORSGATE_RESULT_OK => c"ok",
            corsgate_result::CORSGATE_RESULT_NULL_PARAMETER => c"a required pointer is NULL",
            corsgate_result::CORSGATE_RESULT_PANIC => c"internal error in corsgate",
            corsgate_result::CORSGATE_RESULT_INVALID_POLICY => c"invalid policy",
            corsgate_result::CORSGATE_RESULT_INVALID_JSON => c"invalid policy document",
            corsgate_result::CORSGATE_RESULT_UNKNOWN_FIELD => c"unknown policy field",
            corsgate_result::CORSGATE_RESULT_INVALID_TEXT => c"value is not UTF-8",
        }
    }
}

/// Whether the request may go on as a CORS request.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum corsgate_verdict {
    /// No `Origin`: not a CORS request.
    CORSGATE_VERDICT_NOT_CORS = 0,
    /// The policy allows it.
    CORSGATE_VERDICT_ALLOWED = 1,
    /// The policy refuses it.
    CORSGATE_VERDICT_DENIED = 2,
}

/// What kind of request it is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum corsgate_kind {
    /// No `Origin`.
    CORSGATE_KIND_NOT_CORS = 0,
    /// `OPTIONS` + `Origin` + `Access-Control-Request-Method`.
    CORSGATE_KIND_PREFLIGHT = 1,
    /// Any other request with an `Origin`.
    CORSGATE_KIND_ACTUAL = 2,
}

/// What the caller does next.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum corsgate_action {
    /// Let the request go on. On its response (whatever the status),
    /// remove the owned headers when `strip_upstream`, then write `headers`.
    CORSGATE_ACTION_CONTINUE = 0,
    /// Answer now with `status`, an empty body and `headers`; the upstream
    /// never runs.
    CORSGATE_ACTION_RESPOND = 1,
}

/// How to write one header.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum corsgate_header_op {
    /// Replace any existing value of the header.
    CORSGATE_HEADER_OP_SET = 0,
    /// Add one more value (used for `Vary`, which is never overwritten).
    CORSGATE_HEADER_OP_APPEND = 1,
}

/// Why the verdict is what it is. Text forms from `corsgate_reason_str`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum corsgate_reason {
    /// "not-cors": no `Origin`.
    CORSGATE_REASON_NOT_CORS = 0,
    /// "allowed".
    CORSGATE_REASON_ALLOWED = 1,
    /// "origin-not-allowed": the origin matches no pattern.
    CORSGATE_REASON_ORIGIN_NOT_ALLOWED = 10,
    /// "origin-malformed": not a serialized origin, byte for byte.
    CORSGATE_REASON_ORIGIN_MALFORMED = 11,
    /// "origin-too-long": longer than `CORSGATE_ORIGIN_MAX_LEN`.
    CORSGATE_REASON_ORIGIN_TOO_LONG = 12,
    /// "origin-duplicated": several `Origin` lines, or origins joined by commas.
    CORSGATE_REASON_ORIGIN_DUPLICATED = 13,
    /// "origin-null": the opaque origin `null`.
    CORSGATE_REASON_ORIGIN_NULL = 14,
    /// "method-not-allowed".
    CORSGATE_REASON_METHOD_NOT_ALLOWED = 20,
    /// "method-malformed": the requested method is not a token.
    CORSGATE_REASON_METHOD_MALFORMED = 21,
    /// "method-duplicated": several request-method lines.
    CORSGATE_REASON_METHOD_DUPLICATED = 22,
    /// "header-not-allowed": `detail` names the first refused header.
    CORSGATE_REASON_HEADER_NOT_ALLOWED = 30,
    /// "headers-malformed": the requested headers are not a token list.
    CORSGATE_REASON_HEADERS_MALFORMED = 31,
    /// "headers-too-long": more than 4096 bytes of requested headers.
    CORSGATE_REASON_HEADERS_TOO_LONG = 32,
    /// "too-many-headers": more than 64 requested header names.
    CORSGATE_REASON_TOO_MANY_HEADERS = 33,
    /// "too-many-header-lines": more request-headers lines than kept.
    CORSGATE_REASON_TOO_MANY_HEADER_LINES = 34,
    /// "internal-error": evaluation failed; denied safely.
    CORSGATE_REASON_INTERNAL_ERROR = 90,
}

/// A borrowed byte string: `len` bytes at `ptr`; `(NULL, 0)` is empty.
/// Never NUL-terminated. Who owns the bytes is said where it is used.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct corsgate_slice {
    /// First byte, or NULL when `len` is 0.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl corsgate_slice {
    const EMPTY: corsgate_slice = corsgate_slice {
        ptr: std::ptr::null(),
        len: 0,
    };

    const fn of(bytes: &'static [u8]) -> Self {
        corsgate_slice {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// # Safety
    /// `ptr` NULL or readable for `len` bytes for `'a`.
    unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: non-NULL, readable per the caller.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// One response header to write.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct corsgate_header {
    /// Lowercase name; static.
    pub name: corsgate_slice,
    /// Value; borrowed from the policy or from the decision's own storage.
    pub value: corsgate_slice,
    /// Replace or append.
    pub op: corsgate_header_op,
}

/// A request, as the host sees it: fill it with `corsgate_request_init`
/// and `corsgate_request_add_header`. Every slice borrows the host's bytes
/// until `corsgate_evaluate` returns. Fields may be read; write them only
/// through those two calls.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct corsgate_request {
    /// The request method, byte for byte.
    pub method: corsgate_slice,
    /// The first `Origin` line.
    pub origin: corsgate_slice,
    /// How many `Origin` lines were seen.
    pub origin_lines: u32,
    /// The first `Access-Control-Request-Method` line.
    pub request_method: corsgate_slice,
    /// How many `Access-Control-Request-Method` lines were seen.
    pub request_method_lines: u32,
    /// The first `Access-Control-Request-Headers` lines.
    pub request_headers: [corsgate_slice; CORSGATE_REQUEST_HEADERS_MAX_LINES],
    /// How many `Access-Control-Request-Headers` lines were seen (may be
    /// more than `CORSGATE_REQUEST_HEADERS_MAX_LINES`).
    pub request_headers_lines: u32,
}

impl corsgate_request {
    pub(crate) const fn empty() -> Self {
        corsgate_request {
            method: corsgate_slice::EMPTY,
            origin: corsgate_slice::EMPTY,
            origin_lines: 0,
            request_method: corsgate_slice::EMPTY,
            request_method_lines: 0,
            request_headers: [corsgate_slice::EMPTY; CORSGATE_REQUEST_HEADERS_MAX_LINES],
            request_headers_lines: 0,
        }
    }

    /// Records one header line, as [`Request::add_header`] does.
    pub(crate) fn add_header(&mut self, name: &[u8], value: corsgate_slice) -> bool {
        use evaluate::{keep_line, RequestHeader};
        match evaluate::request_header_kind(name) {
            None => return false,
            Some(RequestHeader::Origin) => keep_line(
                std::slice::from_mut(&mut self.origin),
                &mut self.origin_lines,
                value,
            ),
            Some(RequestHeader::RequestMethod) => keep_line(
                std::slice::from_mut(&mut self.request_method),
                &mut self.request_method_lines,
                value,
            ),
            Some(RequestHeader::RequestHeaders) => keep_line(
                &mut self.request_headers,
                &mut self.request_headers_lines,
                value,
            ),
        }
        true
    }

    /// The core view of this request.
    ///
    /// # Safety
    /// Every slice must be readable for `'a`.
    pub(crate) unsafe fn as_core<'a>(&self) -> Request<'a> {
        let mut request_headers: [&[u8]; CORSGATE_REQUEST_HEADERS_MAX_LINES] = Default::default();
        for (dst, src) in request_headers.iter_mut().zip(&self.request_headers) {
            // SAFETY: per the caller.
            *dst = unsafe { src.as_bytes() };
        }
        Request {
            // SAFETY: per the caller, for every slice below.
            method: unsafe { self.method.as_bytes() },
            origin: (self.origin_lines > 0).then(|| unsafe { self.origin.as_bytes() }),
            origin_lines: self.origin_lines,
            request_method: (self.request_method_lines > 0)
                .then(|| unsafe { self.request_method.as_bytes() }),
            request_method_lines: self.request_method_lines,
            request_headers,
            request_headers_lines: self.request_headers_lines,
        }
    }
}

/// What to do with one request: written by `corsgate_evaluate` into memory
/// the caller provides. Request bytes the decision needs (the reflected
/// origin, `detail`) are copied into `storage`, so header values may point
/// into the decision itself: do not move or copy a decision after
/// evaluating; evaluate into its final place.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct corsgate_decision {
    /// Allowed, denied or not CORS.
    pub verdict: corsgate_verdict,
    /// Preflight, actual or not CORS.
    pub kind: corsgate_kind,
    /// Why; `corsgate_reason_str` gives its text.
    pub reason: corsgate_reason,
    /// Continue to the upstream, or respond now.
    pub action: corsgate_action,
    /// With `CORSGATE_ACTION_RESPOND`: the status to answer with (204, 200
    /// or 403); 0 otherwise.
    pub status: u32,
    /// Remove every header `corsgate_is_owned_header` names from the
    /// upstream's response before writing `headers`.
    pub strip_upstream: bool,
    /// `mode: "report"`: record the outcome, write nothing.
    pub report_only: bool,
    /// How many entries of `headers` are in use.
    pub headers_len: usize,
    /// The headers to write, in order. `access-control-allow-headers`
    /// may repeat (one line per echoed request line). Values borrow from
    /// the policy, from `storage` (the reflected origin), or, on an allowed
    /// preflight (always `CORSGATE_ACTION_RESPOND`) under a credentialed
    /// `*`, from the request's `Access-Control-Request-Method` and
    /// `Access-Control-Request-Headers` bytes: write the reply before the
    /// request's headers go.
    pub headers: [corsgate_header; CORSGATE_DECISION_MAX_HEADERS],
    /// What was refused (a header name, a method, an origin), for logs;
    /// empty when nothing is named. A token or a well-formed origin,
    /// possibly truncated.
    pub detail: corsgate_slice,
    /// Private.
    pub storage: [u8; CORSGATE_DECISION_STORAGE_LEN],
}

/// Copies `bytes` into `storage` at `at` (the caller checked they fit)
/// and returns the kept copy.
fn keep(storage: &mut [u8], at: usize, bytes: &[u8]) -> corsgate_slice {
    match storage.get_mut(at..at + bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            corsgate_slice {
                ptr: dst.as_ptr(),
                len: bytes.len(),
            }
        }
        None => corsgate_slice::EMPTY,
    }
}

/// True when `part` lies inside `whole` (same memory).
fn within(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    !part.is_empty() && p >= w && p + part.len() <= w + whole.len()
}

impl corsgate_decision {
    /// Writes a core decision, copying request bytes into `storage`.
    ///
    /// # Safety
    /// `out` must be writable; the decision's policy-borrowed values must
    /// outlive the use the caller makes of them (documented on evaluate).
    pub(crate) unsafe fn write(
        out: *mut corsgate_decision,
        request: &Request<'_>,
        d: &Decision<'_>,
    ) {
        // SAFETY: `out` is writable per the caller; every field is plain
        // data, so writing them in place leaves no invalid value behind.
        let out = unsafe { &mut *out };
        out.verdict = d.verdict.into();
        out.kind = d.kind.into();
        out.reason = d.reason.into();
        out.action = d.action.into();
        out.status = u32::from(d.status);
        out.strip_upstream = d.strip_upstream;
        out.report_only = d.report_only;
        let origin = request.origin.unwrap_or_default();
        let origin_len = origin.len().min(CORSGATE_ORIGIN_MAX_LEN);
        let origin_at = keep(&mut out.storage, 0, &origin[..origin_len]);
        let detail_len = d.detail.len().min(METHOD_AT - DETAIL_AT);
        out.detail = keep(&mut out.storage, DETAIL_AT, &d.detail[..detail_len]);
        let method = request.request_method.unwrap_or_default();
        let lines = request.request_header_lines();
        let mut lines_used = 0;
        let headers = d.headers();
        out.headers_len = headers.len();
        for (slot, h) in out.headers.iter_mut().zip(headers) {
            // Values borrowed from the request are copied into `storage`
            // (the decision outlives the request): the reflected origin,
            // an echoed method, echoed request-header lines (each within
            // one kept line; all of them fit, as the lines are capped).
            let value = if std::ptr::eq(h.value, origin) {
                corsgate_slice {
                    ptr: origin_at.ptr,
                    len: origin_len,
                }
            } else if h.name == evaluate::ALLOW_METHODS
                && std::ptr::eq(h.value, method)
                && method.len() <= evaluate::STAR_METHOD_MAX_LEN
            {
                keep(&mut out.storage, METHOD_AT, method)
            } else if h.name == evaluate::ALLOW_HEADERS
                && lines.iter().any(|l| within(h.value, l))
                && LINES_AT + lines_used + h.value.len() <= CORSGATE_DECISION_STORAGE_LEN
            {
                let kept = keep(&mut out.storage, LINES_AT + lines_used, h.value);
                lines_used += h.value.len();
                kept
            } else {
                corsgate_slice {
                    ptr: h.value.as_ptr(),
                    len: h.value.len(),
                }
            };
            *slot = corsgate_header {
                name: corsgate_slice {
                    ptr: h.name.as_ptr(),
                    len: h.name.len(),
                },
                value,
                op: h.op.into(),
            };
        }
        for slot in out.headers.iter_mut().skip(headers.len()) {
            *slot = corsgate_header {
                name: corsgate_slice::EMPTY,
                value: corsgate_slice::EMPTY,
                op: corsgate_header_op::CORSGATE_HEADER_OP_SET,
            };
        }
    }
}

/// One (kind, reason) pair a decision can have: an entry of
/// `corsgate_outcomes`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct corsgate_outcome {
    /// Preflight, actual or not CORS.
    pub kind: corsgate_kind,
    /// Why.
    pub reason: corsgate_reason,
}

/// `evaluate::OUTCOMES` in C form.
pub(crate) static OUTCOMES: [corsgate_outcome; evaluate::OUTCOMES.len()] = {
    let mut out = [corsgate_outcome {
        kind: corsgate_kind::CORSGATE_KIND_NOT_CORS,
        reason: corsgate_reason::CORSGATE_REASON_NOT_CORS,
    }; evaluate::OUTCOMES.len()];
    let mut i = 0;
    while i < out.len() {
        let (kind, reason) = evaluate::OUTCOMES[i];
        out[i] = corsgate_outcome {
            kind: kind_to_c(kind),
            reason: reason_to_c(reason),
        };
        i += 1;
    }
    out
};

/// A static array of slices over static strings, shareable across threads.
pub(crate) struct StaticSlices<const N: usize>([corsgate_slice; N]);

// SAFETY: the slices point at immutable 'static strings.
unsafe impl<const N: usize> Sync for StaticSlices<N> {}

impl<const N: usize> StaticSlices<N> {
    pub(crate) const fn new(names: [&'static str; N]) -> Self {
        let mut out = [corsgate_slice::EMPTY; N];
        let mut i = 0;
        while i < N {
            out[i] = corsgate_slice::of(names[i].as_bytes());
            i += 1;
        }
        StaticSlices(out)
    }

    pub(crate) fn get(&'static self, len_out: *mut usize) -> *const corsgate_slice {
        if !len_out.is_null() {
            // SAFETY: checked non-NULL; the caller gave a writable size_t.
            unsafe { *len_out = N };
        }
        self.0.as_ptr()
    }
}

macro_rules! convert {
    ($fn:ident: $core:ident => $c:ident { $($from:ident => $to:ident,)* }) => {
        const fn $fn(v: $core) -> $c {
            match v { $($core::$from => $c::$to,)* }
        }

        impl From<$core> for $c {
            fn from(v: $core) -> Self {
                $fn(v)
            }
        }
    };
}

convert!(verdict_to_c: Verdict => corsgate_verdict {
    NotCors => CORSGATE_VERDICT_NOT_CORS,
    Allowed => CORSGATE_VERDICT_ALLOWED,
    Denied => CORSGATE_VERDICT_DENIED,
});
convert!(kind_to_c: Kind => corsgate_kind {
    NotCors => CORSGATE_KIND_NOT_CORS,
    Preflight => CORSGATE_KIND_PREFLIGHT,
    Actual => CORSGATE_KIND_ACTUAL,
});
convert!(action_to_c: Action => corsgate_action {
    Continue => CORSGATE_ACTION_CONTINUE,
    Respond => CORSGATE_ACTION_RESPOND,
});
convert!(header_op_to_c: HeaderOp => corsgate_header_op {
    Set => CORSGATE_HEADER_OP_SET,
    Append => CORSGATE_HEADER_OP_APPEND,
});
convert!(reason_to_c: Reason => corsgate_reason {
    NotCors => CORSGATE_REASON_NOT_CORS,
    Allowed => CORSGATE_REASON_ALLOWED,
    OriginNotAllowed => CORSGATE_REASON_ORIGIN_NOT_ALLOWED,
    OriginMalformed => CORSGATE_REASON_ORIGIN_MALFORMED,
    OriginTooLong => CORSGATE_REASON_ORIGIN_TOO_LONG,
    OriginDuplicated => CORSGATE_REASON_ORIGIN_DUPLICATED,
    OriginNull => CORSGATE_REASON_ORIGIN_NULL,
    MethodNotAllowed => CORSGATE_REASON_METHOD_NOT_ALLOWED,
    MethodMalformed => CORSGATE_REASON_METHOD_MALFORMED,
    MethodDuplicated => CORSGATE_REASON_METHOD_DUPLICATED,
    HeaderNotAllowed => CORSGATE_REASON_HEADER_NOT_ALLOWED,
    HeadersMalformed => CORSGATE_REASON_HEADERS_MALFORMED,
    HeadersTooLong => CORSGATE_REASON_HEADERS_TOO_LONG,
    TooManyHeaders => CORSGATE_REASON_TOO_MANY_HEADERS,
    TooManyHeaderLines => CORSGATE_REASON_TOO_MANY_HEADER_LINES,
    InternalError => CORSGATE_REASON_INTERNAL_ERROR,
});

pub(crate) fn reason_cstr(code: u32) -> *const c_char {
    Reason::from_u32(code)
        .map_or(c"unknown", Reason::as_cstr)
        .as_ptr()
}

pub(crate) fn verdict_cstr(code: u32) -> *const c_char {
    Verdict::from_u32(code)
        .map_or(c"unknown", Verdict::as_cstr)
        .as_ptr()
}

pub(crate) fn kind_cstr(code: u32) -> *const c_char {
    Kind::from_u32(code)
        .map_or(c"unknown", Kind::as_cstr)
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_core() {
        for r in Reason::ALL {
            assert_eq!(corsgate_reason::from(*r) as u32, *r as u32);
            // SAFETY: static NUL-terminated strings.
            let text = unsafe { CStr::from_ptr(reason_cstr(*r as u32)) };
            assert_eq!(text.to_str().unwrap(), r.as_str());
        }
        for v in Verdict::ALL {
            assert_eq!(corsgate_verdict::from(*v) as u32, *v as u32);
            // SAFETY: as above.
            assert_eq!(
                unsafe { CStr::from_ptr(verdict_cstr(*v as u32)) }
                    .to_str()
                    .unwrap(),
                v.as_str()
            );
        }
        for k in Kind::ALL {
            assert_eq!(corsgate_kind::from(*k) as u32, *k as u32);
            // SAFETY: as above.
            assert_eq!(
                unsafe { CStr::from_ptr(kind_cstr(*k as u32)) }
                    .to_str()
                    .unwrap(),
                k.as_str()
            );
        }
        // SAFETY: as above.
        assert_eq!(
            unsafe { CStr::from_ptr(reason_cstr(5)) }.to_str().unwrap(),
            "unknown"
        );
    }
}
