//! The C-visible types of the ABI and their conversions from the core.

use std::ffi::{c_char, CStr};

use crate::evaluate::{
    self, Action, Decision, HeaderOp, Kind, Plan, Reason, Request, Source, Verdict,
};
use crate::Policy;

/// The ABI version; the SONAME is `libcorsgate.so.<CORSGATE_ABI_VERSION>`.
pub const CORSGATE_ABI_VERSION: u32 = 2;
/// Most `Access-Control-Request-Headers` lines a request keeps; a request
/// with more is denied (`too-many-header-lines`).
pub const CORSGATE_REQUEST_HEADERS_MAX_LINES: usize = 8;
/// Most headers one decision can hold (its reserved capacity; today's
/// decisions use at most 15). Read them with `corsgate_decision_header`.
pub const CORSGATE_DECISION_MAX_HEADERS: usize = 24;
/// Longest `Origin` accepted, in bytes; longer ones are denied.
pub const CORSGATE_ORIGIN_MAX_LEN: usize = 512;
/// Size of a decision's internal area, in 8-byte words: room for
/// `CORSGATE_DECISION_MAX_HEADERS` headers and the request bytes they
/// echo. `sizeof(corsgate_decision)` is 8192 on LP64 targets.
pub const CORSGATE_DECISION_INTERNAL_WORDS: usize = 1020;

const _: () = assert!(CORSGATE_REQUEST_HEADERS_MAX_LINES == evaluate::REQUEST_HEADERS_MAX_LINES);
const _: () = assert!(CORSGATE_DECISION_MAX_HEADERS >= evaluate::DECISION_MAX_HEADERS);
const _: () = assert!(CORSGATE_ORIGIN_MAX_LEN == crate::origin::MAX_ORIGIN_LEN);

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
    /// An index is past the end (`corsgate_decision_header`).
    CORSGATE_RESULT_OUT_OF_RANGE = 3,
    /// The request bytes a decision must keep do not fit in it (a
    /// requested method longer than the decision's room); denied safely.
    CORSGATE_RESULT_REQUEST_TOO_LARGE = 4,
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
            CORSGATE_RESULT_OUT_OF_RANGE,
            CORSGATE_RESULT_REQUEST_TOO_LARGE,
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
            corsgate_result::CORSGATE_RESULT_OUT_OF_RANGE => c"index out of range",
            corsgate_result::CORSGATE_RESULT_REQUEST_TOO_LARGE => {
                c"request too large for a decision"
            }
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
    /// remove the owned headers when `strip_upstream`, then write the
    /// decision's headers (`corsgate_decision_header`).
    CORSGATE_ACTION_CONTINUE = 0,
    /// Answer now with `status`, an empty body and the decision's headers;
    /// the upstream never runs.
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
    /// "header-not-allowed": the detail (`corsgate_decision_detail`) names
    /// the first refused header.
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
    pub(crate) unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
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
    /// Value: static, borrowed from the policy, or inside the decision it
    /// was read from (see `corsgate_decision_header`).
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
    /// An empty request (for tests).
    #[cfg(test)]
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

    /// Writes an empty request with this method through `this`, field by
    /// field (no copy of a whole request built aside).
    ///
    /// # Safety
    /// `this` must be valid for writes of a `corsgate_request`.
    pub(crate) unsafe fn init(this: *mut corsgate_request, method: *const u8, method_len: usize) {
        use std::ptr::addr_of_mut;
        // SAFETY: per the caller; each place is a field of `*this`.
        unsafe {
            addr_of_mut!((*this).method).write(corsgate_slice {
                ptr: method,
                len: method_len,
            });
            addr_of_mut!((*this).origin).write(corsgate_slice::EMPTY);
            addr_of_mut!((*this).origin_lines).write(0);
            addr_of_mut!((*this).request_method).write(corsgate_slice::EMPTY);
            addr_of_mut!((*this).request_method_lines).write(0);
            addr_of_mut!((*this).request_headers)
                .write([corsgate_slice::EMPTY; CORSGATE_REQUEST_HEADERS_MAX_LINES]);
            addr_of_mut!((*this).request_headers_lines).write(0);
        }
    }

    /// Records one header line, as [`Request::add_header`] does, through
    /// a raw pointer: only the line count and the kept slot are read and
    /// written, each whole.
    ///
    /// # Safety
    /// `this` must be valid for reads and writes of a `corsgate_request`
    /// (initialized by `corsgate_request_init`).
    pub(crate) unsafe fn add_header(
        this: *mut corsgate_request,
        name: &[u8],
        value: corsgate_slice,
    ) -> bool {
        use evaluate::RequestHeader;
        use std::ptr::addr_of_mut;
        // SAFETY: per the caller; the places are fields of `*this`, and
        // the slot index is checked against the array length.
        unsafe {
            let (slots, cap, lines) = match evaluate::request_header_kind_any_case(name) {
                None => return false,
                Some(RequestHeader::Origin) => (
                    addr_of_mut!((*this).origin),
                    1,
                    addr_of_mut!((*this).origin_lines),
                ),
                Some(RequestHeader::RequestMethod) => (
                    addr_of_mut!((*this).request_method),
                    1,
                    addr_of_mut!((*this).request_method_lines),
                ),
                Some(RequestHeader::RequestHeaders) => (
                    addr_of_mut!((*this).request_headers).cast::<corsgate_slice>(),
                    CORSGATE_REQUEST_HEADERS_MAX_LINES,
                    addr_of_mut!((*this).request_headers_lines),
                ),
            };
            let n = lines.read();
            if (n as usize) < cap {
                slots.add(n as usize).write(value);
            }
            lines.write(n.saturating_add(1));
        }
        true
    }

    /// The core view of this request.
    ///
    /// # Safety
    /// Every slice must be readable for `'a`.
    pub(crate) unsafe fn as_core<'a>(&self) -> Request<'a> {
        let mut request = Request {
            // SAFETY: per the caller, for every slice below.
            method: unsafe { self.method.as_bytes() },
            origin: (self.origin_lines > 0).then(|| unsafe { self.origin.as_bytes() }),
            origin_lines: self.origin_lines,
            request_method: (self.request_method_lines > 0)
                .then(|| unsafe { self.request_method.as_bytes() }),
            request_method_lines: self.request_method_lines,
            request_headers: Default::default(),
            request_headers_lines: self.request_headers_lines,
        };
        // Only the kept lines (none on most requests), in place.
        let kept = (self.request_headers_lines as usize).min(CORSGATE_REQUEST_HEADERS_MAX_LINES);
        for (dst, src) in request
            .request_headers
            .iter_mut()
            .zip(&self.request_headers)
            .take(kept)
        {
            // SAFETY: per the caller.
            *dst = unsafe { src.as_bytes() };
        }
        request
    }
}

/// What to do with one request: written whole by `corsgate_evaluate` into
/// memory the caller provides.
///
/// A decision holds no pointer into itself: it may be copied, returned by
/// value, `memcpy`d or `realloc`ed freely, and each copy stays valid on
/// its own. Read its headers and `detail` through `corsgate_decision_header`
/// and `corsgate_decision_detail`, which resolve them at call time: values
/// copied from the request (the reflected origin, echoed request method
/// and header names, `detail`) point into the copy passed in; the others
/// are static or borrowed from the policy, which must still be held
/// (`corsgate_policy_retain`). The public fields are fixed for this ABI
/// version; `internal` is corsgate's and has no meaning to the caller.
#[repr(C)]
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
    /// upstream's response before writing the headers.
    pub strip_upstream: bool,
    /// `mode: "report"`: record the outcome, write nothing.
    pub report_only: bool,
    /// How many headers `corsgate_decision_header` gives (at most
    /// `CORSGATE_DECISION_MAX_HEADERS`).
    pub headers_len: usize,
    /// Internal: read only through the `corsgate_decision_*` accessors.
    pub internal: [u64; CORSGATE_DECISION_INTERNAL_WORDS],
}

/// Where a value of the decision lives: outside it (`ptr` non-NULL: a
/// static string or the policy) or in its own bytes (`ptr` NULL: `len`
/// bytes at `off`). Any bit pattern is a valid `Ref`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Ref {
    ptr: *const u8,
    off: u32,
    len: u32,
}

/// One header of the decision.
#[repr(C)]
#[derive(Clone, Copy)]
struct Entry {
    name: *const u8,
    name_len: u32,
    op: u32,
    value: Ref,
}

/// The internal area of a decision. Only integers and raw pointers, so
/// reading a copy (even a corrupted one) is never undefined behaviour in
/// Rust; offsets are bounds-checked on every read.
#[repr(C)]
struct Internal {
    headers_len: u32,
    used: u32,
    detail: Ref,
    headers: [Entry; CORSGATE_DECISION_MAX_HEADERS],
    bytes: [u8; DECISION_BYTES],
}

const INTERNAL_LEN: usize = CORSGATE_DECISION_INTERNAL_WORDS * 8;
/// Request bytes a decision can keep.
const DECISION_BYTES: usize =
    INTERNAL_LEN - 8 - std::mem::size_of::<Ref>() - CORSGATE_DECISION_MAX_HEADERS * 32;

const _: () = assert!(std::mem::size_of::<Entry>() == 32);
const _: () = assert!(PLANNED_MAX <= CORSGATE_DECISION_MAX_HEADERS);
const _: () = assert!(std::mem::size_of::<Internal>() == INTERNAL_LEN);
const _: () = assert!(std::mem::align_of::<Internal>() <= 8);
// A reflected origin, every requested header name, and a long method fit.
const _: () =
    assert!(DECISION_BYTES >= CORSGATE_ORIGIN_MAX_LEN + evaluate::REQUEST_HEADERS_MAX_BYTES + 1024);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<corsgate_decision>() == 8192);

impl Ref {
    const EMPTY: Ref = Ref {
        ptr: std::ptr::null(),
        off: 0,
        len: 0,
    };
}

/// Most headers a plan without echoed header lines writes (an allowed
/// preflight: origin, credentials, methods, headers, max-age, exposed,
/// `Vary`); a plan's entries are copied as one block of this many.
const PLANNED_MAX: usize = 8;

/// One plan's headers as decision entries, built when the policy loads:
/// writing a decision copies them whole, then fills in the values taken
/// from the request.
struct EntryPlan {
    /// The plan's entries; those of `patches` have an empty value.
    entries: [Entry; PLANNED_MAX],
    len: usize,
    /// The entries whose value is the request's (or the reason's).
    patches: [(u8, Source); PLANNED_MAX],
    patches_len: usize,
    /// The plan echoes header lines (one header per line): written header
    /// by header instead.
    per_header: bool,
    /// The plan's action and status.
    action: corsgate_action,
    status: u32,
}

/// A policy's plans as decision entries, one per [`Plan`], and whether
/// the policy only reports.
pub(crate) struct EntryPlans([EntryPlan; Plan::ALL.len()], bool);

// SAFETY: the entries' pointers are to static strings or to the policy's
// planned values, which are immutable and live as long as the
// `corsgate_policy` holding both; they are only read.
unsafe impl Send for EntryPlans {}
// SAFETY: as above.
unsafe impl Sync for EntryPlans {}

impl EntryPlans {
    /// The entries of `policy`'s plans; the policy must outlive them
    /// (`corsgate_policy` holds both).
    pub(crate) fn new(policy: &Policy) -> EntryPlans {
        let plans = Plan::ALL.map(|plan| {
            let planned = policy.plans.headers(plan);
            let empty = Entry {
                name: std::ptr::null(),
                name_len: 0,
                op: 0,
                value: Ref::EMPTY,
            };
            let mut t = EntryPlan {
                entries: [empty; PLANNED_MAX],
                len: planned.len(),
                patches: [(0, Source::Fixed); PLANNED_MAX],
                patches_len: 0,
                per_header: planned.len() > PLANNED_MAX,
                action: policy.plans.action(plan).0.into(),
                status: u32::from(policy.plans.action(plan).1),
            };
            for (i, p) in planned.iter().enumerate().take(PLANNED_MAX) {
                let value = match p.source {
                    Source::Fixed if !p.value.is_empty() => Ref {
                        ptr: p.value.as_ptr(),
                        off: 0,
                        len: p.value.len() as u32,
                    },
                    Source::Fixed => Ref::EMPTY,
                    Source::RequestHeaderLines => {
                        t.per_header = true;
                        Ref::EMPTY
                    }
                    Source::Origin | Source::RequestMethod | Source::Reason => {
                        if let Some(slot) = t.patches.get_mut(t.patches_len) {
                            *slot = (i as u8, p.source);
                            t.patches_len += 1;
                        }
                        Ref::EMPTY
                    }
                };
                if let Some(e) = t.entries.get_mut(i) {
                    *e = Entry {
                        name: p.name.as_ptr(),
                        name_len: p.name.len() as u32,
                        op: corsgate_header_op::from(p.op) as u32,
                        value,
                    };
                }
            }
            t
        });
        EntryPlans(plans, policy.is_report_only())
    }
}

/// Copies `v` to `dst` without a call for the short values copied here
/// (an origin, a method): up to 32 bytes as overlapping 8-byte words.
///
/// # Safety
/// `dst` valid for writes of `v.len()` bytes, not overlapping `v`.
#[inline(always)]
unsafe fn copy_short(v: &[u8], dst: *mut u8) {
    let n = v.len();
    let src = v.as_ptr();
    // SAFETY: every read is within `v`, every write within `dst[..n]`
    // (each word at `at` is used only when `at + 8 <= n`).
    unsafe {
        let word = |at: usize| {
            dst.add(at)
                .cast::<u64>()
                .write_unaligned(src.add(at).cast::<u64>().read_unaligned())
        };
        match n {
            0..=7 => {
                for (i, b) in v.iter().enumerate() {
                    dst.add(i).write(*b);
                }
            }
            8..=16 => {
                word(0);
                word(n - 8);
            }
            17..=32 => {
                word(0);
                word(8);
                word(n - 16);
                word(n - 8);
            }
            _ => std::ptr::copy_nonoverlapping(src, dst, n),
        }
    }
}

/// `v` lies inside one of the request's byte strings.
fn from_request(v: &[u8], r: &Request<'_>) -> bool {
    let (a, b) = (v.as_ptr() as usize, v.as_ptr() as usize + v.len());
    let within = |s: &[u8]| {
        let s0 = s.as_ptr() as usize;
        s0 <= a && b <= s0 + s.len()
    };
    let lines = (r.request_headers_lines as usize).min(r.request_headers.len());
    within(r.method)
        || r.origin.is_some_and(within)
        || r.request_method.is_some_and(within)
        || r.request_headers[..lines].iter().any(|l| within(l))
}

impl corsgate_decision {
    /// Writes a core decision whole through `out`: every public field, and
    /// the used part of the internal area. Request bytes a value needs are
    /// copied into the decision; `detail` is truncated to the room left.
    ///
    /// Fails (writing nothing valid) with `CORSGATE_RESULT_REQUEST_TOO_LARGE`
    /// when a header value from the request does not fit.
    ///
    /// # Safety
    /// `out` must be valid for writes of a `corsgate_decision` (its current
    /// contents may be anything, even uninitialized).
    pub(crate) unsafe fn write(
        out: *mut corsgate_decision,
        request: &Request<'_>,
        d: &Decision<'_>,
        plans: Option<&EntryPlans>,
    ) -> Result<(), corsgate_result> {
        use std::ptr::addr_of_mut;
        // SAFETY: `out` is valid for writes; no reference to it is made,
        // only field places written whole.
        unsafe {
            let int = addr_of_mut!((*out).internal).cast::<Internal>();
            let bytes = addr_of_mut!((*int).bytes).cast::<u8>();
            let mut used = 0usize;
            // Copies request bytes into the decision: `v` is the request's.
            let mut keep = |v: &[u8], truncate: bool| -> Result<Ref, corsgate_result> {
                if v.is_empty() {
                    return Ok(Ref::EMPTY);
                }
                let room = DECISION_BYTES - used;
                let n = if v.len() <= room {
                    v.len()
                } else if truncate {
                    room
                } else {
                    return Err(corsgate_result::CORSGATE_RESULT_REQUEST_TOO_LARGE);
                };
                copy_short(v.get(..n).unwrap_or_default(), bytes.add(used));
                let r = Ref {
                    ptr: std::ptr::null(),
                    off: used as u32,
                    len: n as u32,
                };
                used += n;
                Ok(r)
            };
            let entries = addr_of_mut!((*int).headers).cast::<Entry>();
            let mut n = 0usize;
            let planned = match (plans, d.plan) {
                (Some(plans), Some(plan)) => plans.0.get(plan as usize),
                _ => None,
            };
            let mut headers = d.headers();
            if let Some(t) = planned.filter(|t| !t.per_header) {
                // The plan's entries in one block, then the request's values.
                // Fixed sizes, so no call to `memcpy`; most plans have 4
                // headers or fewer.
                if let (true, Some(four)) = (t.len <= 4, t.entries.first_chunk::<4>()) {
                    entries.cast::<[Entry; 4]>().write(*four);
                } else {
                    entries.cast::<[Entry; PLANNED_MAX]>().write(t.entries);
                }
                n = t.len;
                let patches = t.patches.get(..t.patches_len).unwrap_or_default();
                if let [(i, Source::Origin)] = *patches {
                    // The common case: the reflected origin alone.
                    let value = keep(request.origin.unwrap_or_default(), false)?;
                    addr_of_mut!((*entries.add(usize::from(i))).value).write(value);
                } else {
                    for &(i, source) in patches {
                        let value = match source {
                            Source::Origin => keep(request.origin.unwrap_or_default(), false)?,
                            Source::RequestMethod => {
                                keep(request.request_method.unwrap_or_default(), false)?
                            }
                            _ => {
                                let text = d.reason.as_str().as_bytes();
                                Ref {
                                    ptr: text.as_ptr(),
                                    off: 0,
                                    len: text.len() as u32,
                                }
                            }
                        };
                        addr_of_mut!((*entries.add(usize::from(i))).value).write(value);
                    }
                }
                headers = Decision::internal_error().headers();
            }
            while let Some((h, source)) = headers.next_with_source() {
                if n == CORSGATE_DECISION_MAX_HEADERS {
                    return Err(corsgate_result::CORSGATE_RESULT_REQUEST_TOO_LARGE);
                }
                // Values the policy planned are static or the policy's;
                // the others are the request's, which the caller may free
                // once `corsgate_evaluate` returns.
                let value = match source {
                    Source::Fixed | Source::Reason if !h.value.is_empty() => Ref {
                        ptr: h.value.as_ptr(),
                        off: 0,
                        len: h.value.len() as u32,
                    },
                    Source::Fixed | Source::Reason => Ref::EMPTY,
                    Source::Origin | Source::RequestMethod | Source::RequestHeaderLines => {
                        keep(h.value, false)?
                    }
                };
                entries.add(n).write(Entry {
                    name: h.name.as_ptr(),
                    name_len: h.name.len() as u32,
                    op: corsgate_header_op::from(h.op) as u32,
                    value,
                });
                n += 1;
            }
            // Always the request's (a refused origin, method or header
            // name); checked all the same, as it is only on denials.
            let detail = if d.detail.is_empty() || from_request(d.detail, request) {
                keep(d.detail, true)?
            } else {
                Ref {
                    ptr: d.detail.as_ptr(),
                    off: 0,
                    len: d.detail.len() as u32,
                }
            };
            addr_of_mut!((*int).detail).write(detail);
            addr_of_mut!((*int).headers_len).write(n as u32);
            addr_of_mut!((*int).used).write(used as u32);
            addr_of_mut!((*out).verdict).write(d.verdict.into());
            addr_of_mut!((*out).kind).write(d.kind.into());
            addr_of_mut!((*out).reason).write(d.reason.into());
            addr_of_mut!((*out).action).write(d.action.into());
            addr_of_mut!((*out).status).write(u32::from(d.status));
            addr_of_mut!((*out).strip_upstream).write(d.strip_upstream);
            addr_of_mut!((*out).report_only).write(d.report_only);
            addr_of_mut!((*out).headers_len).write(n);
        }
        Ok(())
    }

    /// Writes the decision of an actual request from an allowed origin
    /// (`origin`, its only `Origin` line, no
    /// `Access-Control-Request-Method`): what [`corsgate_decision::write`]
    /// writes for that decision, without building it first. Returns false,
    /// having written nothing, when the plan needs the general path.
    ///
    /// # Safety
    /// As for [`corsgate_decision::write`].
    #[inline]
    pub(crate) unsafe fn write_actual_allowed(
        out: *mut corsgate_decision,
        origin: &[u8],
        plans: &EntryPlans,
    ) -> bool {
        // SAFETY: per the caller.
        unsafe { Self::write_actual(out, origin, plans, Plan::ActualAllowed) }
    }

    /// Writes the denial of an actual request whose well-formed `origin`
    /// (its only `Origin` line, no `Access-Control-Request-Method`) no
    /// pattern allows: reason `origin-not-allowed`, the origin as detail.
    /// As [`corsgate_decision::write_actual_allowed`] otherwise.
    ///
    /// # Safety
    /// As for [`corsgate_decision::write`].
    #[inline]
    pub(crate) unsafe fn write_origin_not_allowed(
        out: *mut corsgate_decision,
        origin: &[u8],
        plans: &EntryPlans,
    ) -> bool {
        // SAFETY: per the caller.
        unsafe { Self::write_actual(out, origin, plans, Plan::ActualDenied) }
    }

    /// [`corsgate_decision::write_actual_allowed`] (`ActualAllowed`) or
    /// [`corsgate_decision::write_origin_not_allowed`] (`ActualDenied`).
    ///
    /// # Safety
    /// As for [`corsgate_decision::write`].
    #[inline(always)]
    unsafe fn write_actual(
        out: *mut corsgate_decision,
        origin: &[u8],
        plans: &EntryPlans,
        plan: Plan,
    ) -> bool {
        use std::ptr::addr_of_mut;
        let Some(t) = plans.0.get(plan as usize) else {
            return false;
        };
        let allowed = plan == Plan::ActualAllowed;
        let reason = if allowed {
            Reason::Allowed
        } else {
            Reason::OriginNotAllowed
        };
        // At most one value from elsewhere: the origin (allowed) or the
        // reason's text (the debug header of a denial).
        let patch = match t.patches.get(..t.patches_len).unwrap_or_default() {
            [] => None,
            [(i, Source::Origin)] if allowed => Some((usize::from(*i), None)),
            [(i, Source::Reason)] if !allowed => {
                let text = reason.as_str().as_bytes();
                let value = Ref {
                    ptr: text.as_ptr(),
                    off: 0,
                    len: text.len() as u32,
                };
                Some((usize::from(*i), Some(value)))
            }
            _ => return false,
        };
        if t.per_header || origin.len() > DECISION_BYTES {
            return false;
        }
        let report = plans.1;
        // SAFETY: `out` is valid for writes; only field places are written
        // whole; `origin.len()` fits the byte area (checked above).
        unsafe {
            let int = addr_of_mut!((*out).internal).cast::<Internal>();
            let entries = addr_of_mut!((*int).headers).cast::<Entry>();
            // Fixed sizes, so no call to `memcpy`.
            if let (true, Some(two)) = (t.len <= 2, t.entries.first_chunk::<2>()) {
                entries.cast::<[Entry; 2]>().write(*two);
            } else if let (true, Some(four)) = (t.len <= 4, t.entries.first_chunk::<4>()) {
                entries.cast::<[Entry; 4]>().write(*four);
            } else {
                entries.cast::<[Entry; PLANNED_MAX]>().write(t.entries);
            }
            // The origin's bytes: the allowed origin's value, or the
            // denial's detail (which also comes first in the byte area).
            let kept = if origin.is_empty() {
                Ref::EMPTY
            } else {
                copy_short(origin, addr_of_mut!((*int).bytes).cast::<u8>());
                Ref {
                    ptr: std::ptr::null(),
                    off: 0,
                    len: origin.len() as u32,
                }
            };
            if let Some((i, value)) = patch {
                addr_of_mut!((*entries.add(i)).value).write(value.unwrap_or(kept));
            }
            let (detail, used) = match (allowed, patch) {
                (true, Some(_)) => (Ref::EMPTY, origin.len()),
                (true, None) => (Ref::EMPTY, 0),
                (false, _) => (kept, origin.len()),
            };
            addr_of_mut!((*int).detail).write(detail);
            addr_of_mut!((*int).headers_len).write(t.len as u32);
            addr_of_mut!((*int).used).write(used as u32);
            addr_of_mut!((*out).verdict).write(if allowed {
                corsgate_verdict::CORSGATE_VERDICT_ALLOWED
            } else {
                corsgate_verdict::CORSGATE_VERDICT_DENIED
            });
            addr_of_mut!((*out).kind).write(corsgate_kind::CORSGATE_KIND_ACTUAL);
            addr_of_mut!((*out).reason).write(reason.into());
            addr_of_mut!((*out).action).write(t.action);
            addr_of_mut!((*out).status).write(t.status);
            addr_of_mut!((*out).strip_upstream).write(!report);
            addr_of_mut!((*out).report_only).write(report);
            addr_of_mut!((*out).headers_len).write(t.len);
        }
        true
    }

    /// The safe denial every failure writes: denied, internal error,
    /// upstream CORS headers stripped, nothing added.
    ///
    /// # Safety
    /// As for [`corsgate_decision::write`].
    pub(crate) unsafe fn write_denial(out: *mut corsgate_decision) {
        // SAFETY: per the caller; the static decision borrows nothing, so
        // nothing can fail to fit.
        let _ = unsafe { Self::write(out, &Request::default(), &Decision::internal_error(), None) };
    }

    /// Resolves a value at the address of the decision it is read from.
    ///
    /// # Safety
    /// `d` readable as a `corsgate_decision`.
    unsafe fn resolve(d: *const corsgate_decision, r: Ref) -> corsgate_slice {
        if !r.ptr.is_null() {
            return corsgate_slice {
                ptr: r.ptr,
                len: r.len as usize,
            };
        }
        let (off, len) = (r.off as usize, r.len as usize);
        if len == 0 || off > DECISION_BYTES || len > DECISION_BYTES - off {
            return corsgate_slice::EMPTY;
        }
        // SAFETY: `d` readable; off + len within the byte area.
        let bytes = unsafe { std::ptr::addr_of!((*d).internal).cast::<Internal>() };
        corsgate_slice {
            // SAFETY: in bounds, checked above.
            ptr: unsafe { std::ptr::addr_of!((*bytes).bytes).cast::<u8>().add(off) },
            len,
        }
    }

    /// Header `index`, or None past the end.
    ///
    /// # Safety
    /// `d` readable as a `corsgate_decision` written by `write`.
    pub(crate) unsafe fn header(
        d: *const corsgate_decision,
        index: usize,
    ) -> Option<corsgate_header> {
        // SAFETY: `d` readable; every field read is an integer or a raw
        // pointer (valid for any bits), read by value.
        unsafe {
            let int = std::ptr::addr_of!((*d).internal).cast::<Internal>();
            let len = (std::ptr::addr_of!((*int).headers_len).read() as usize)
                .min(CORSGATE_DECISION_MAX_HEADERS);
            if index >= len {
                return None;
            }
            let e = std::ptr::addr_of!((*int).headers)
                .cast::<Entry>()
                .add(index)
                .read();
            Some(corsgate_header {
                name: corsgate_slice {
                    ptr: e.name,
                    len: e.name_len as usize,
                },
                value: Self::resolve(d, e.value),
                op: if e.op == corsgate_header_op::CORSGATE_HEADER_OP_APPEND as u32 {
                    corsgate_header_op::CORSGATE_HEADER_OP_APPEND
                } else {
                    corsgate_header_op::CORSGATE_HEADER_OP_SET
                },
            })
        }
    }

    /// The detail.
    ///
    /// # Safety
    /// As for [`corsgate_decision::header`].
    pub(crate) unsafe fn detail(d: *const corsgate_decision) -> corsgate_slice {
        // SAFETY: as in `header`.
        unsafe {
            let int = std::ptr::addr_of!((*d).internal).cast::<Internal>();
            Self::resolve(d, std::ptr::addr_of!((*int).detail).read())
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
            unsafe { len_out.write(N) };
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
