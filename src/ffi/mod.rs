//! The C ABI: the only room with `extern "C"`. See `include/corsgate.h`
//! (generated from this file by cbindgen) and `ABI.md` for the rules.
//!
//! Every export runs inside `ffi_panic_boundary!`: a panic becomes
//! `CORSGATE_RESULT_PANIC` (or a documented default), never an unwind into
//! the host.
#![allow(non_camel_case_types)]
// Exports are called from C, which has no `unsafe`; each documents its
// pointer contract and checks NULL (rustls-ffi does the same).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod types;

use std::ffi::c_char;
use std::ptr;

use crate::config::{PolicyError, RawPolicy};
use crate::evaluate::{Decision, Request, OWNED_HEADER_NAMES, REQUEST_HEADER_NAMES};
use crate::policy::Policy;

pub use types::*;

/// Runs `$body`, turning a panic into `$on_panic`.
macro_rules! ffi_panic_boundary {
    ($on_panic:expr, $body:block) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $on_panic,
        }
    };
}

/// A compiled policy (opaque). Immutable once built.
pub struct corsgate_policy(Policy);

/// A policy being assembled field by field (opaque).
pub struct corsgate_builder(RawPolicy);

/// Borrows `len` bytes at `ptr`; `(NULL, 0)` is empty, `(NULL, n>0)` is None.
///
/// # Safety
/// A non-NULL `ptr` must point to `len` readable bytes that outlive `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&[]);
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Copies a message into the caller's buffer (truncated to `cap`) and
/// stores its full length.
///
/// # Safety
/// `out` NULL or writable for `cap` bytes; `len_out` NULL or writable.
unsafe fn write_message(message: &str, out: *mut u8, cap: usize, len_out: *mut usize) {
    if !out.is_null() {
        let n = message.len().min(cap);
        // SAFETY: the caller gave `cap` writable bytes at `out`; n <= cap.
        unsafe { ptr::copy_nonoverlapping(message.as_ptr(), out, n) };
    }
    if !len_out.is_null() {
        // SAFETY: checked non-NULL; the caller gave a writable size_t.
        unsafe { *len_out = message.len() };
    }
}

/// The library version, e.g. "corsgate/0.1.0".
///
/// Ownership: static; never free it.
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn corsgate_version() -> *const c_char {
    concat!("corsgate/", env!("CARGO_PKG_VERSION"), "\0")
        .as_ptr()
        .cast()
}

/// The ABI version this library implements (`CORSGATE_ABI_VERSION` of
/// the header it was built with). A caller built against another major
/// ABI version must not use it.
#[no_mangle]
pub extern "C" fn corsgate_abi_version() -> u32 {
    CORSGATE_ABI_VERSION
}

/// A static description of a `corsgate_result`, e.g. "invalid policy".
///
/// Ownership: static; never free it.
/// Returns: "unknown result" for a value that is not a `corsgate_result`.
#[no_mangle]
pub extern "C" fn corsgate_result_str(result: u32) -> *const c_char {
    corsgate_result::from_u32(result)
        .map_or(c"unknown result", corsgate_result::description)
        .as_ptr()
}

/// The static text form of a `corsgate_reason`, e.g. "origin-not-allowed"
/// (what `$cors_result`, counters and the debug header use).
///
/// Ownership: static; never free it.
/// Returns: "unknown" for a value that is not a `corsgate_reason`.
#[no_mangle]
pub extern "C" fn corsgate_reason_str(reason: u32) -> *const c_char {
    types::reason_cstr(reason)
}

/// The static text form of a `corsgate_verdict`: "not-cors", "allowed" or
/// "denied".
///
/// Ownership: static; never free it.
/// Returns: "unknown" for a value that is not a `corsgate_verdict`.
#[no_mangle]
pub extern "C" fn corsgate_verdict_str(verdict: u32) -> *const c_char {
    types::verdict_cstr(verdict)
}

/// The static text form of a `corsgate_kind`: "not-cors", "preflight" or
/// "actual".
///
/// Ownership: static; never free it.
/// Returns: "unknown" for a value that is not a `corsgate_kind`.
#[no_mangle]
pub extern "C" fn corsgate_kind_str(kind: u32) -> *const c_char {
    types::kind_cstr(kind)
}

/// Compiles a policy from its JSON document (DESIGN.md "The policy").
///
/// Ownership: on OK, `*policy_out` is a new policy the caller owns; free it
/// with `corsgate_policy_free`.
/// Lifetime: `json` is only read during the call.
/// Thread safety: any thread.
/// NULL: `json` may be NULL only with `json_len` 0; `message_out` and
/// `message_len_out` may be NULL.
/// Returns: OK; NULL_PARAMETER; INVALID_JSON (not a JSON object) or
/// INVALID_POLICY (unknown fields, invalid values), with every problem
/// (one per line, each naming the field, the value and the fix)
/// copied into `message_out` (at most `message_cap` bytes, not
/// NUL-terminated) and its full length in `*message_len_out`; PANIC.
#[no_mangle]
pub extern "C" fn corsgate_policy_from_json(
    json: *const u8,
    json_len: usize,
    policy_out: *mut *mut corsgate_policy,
    message_out: *mut u8,
    message_cap: usize,
    message_len_out: *mut usize,
) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        // SAFETY: the caller promises `json_len` readable bytes at `json`.
        let Some(json) = (unsafe { bytes(json, json_len) }) else {
            return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
        };
        let result = match RawPolicy::read_json(json) {
            Err(e) => Err((corsgate_result::CORSGATE_RESULT_INVALID_JSON, e)),
            Ok((raw, unknown)) => Policy::compile_read(&raw, unknown)
                .map_err(|e| (corsgate_result::CORSGATE_RESULT_INVALID_POLICY, e)),
        };
        // SAFETY: pointers as documented above.
        unsafe {
            finish_build(
                result,
                policy_out,
                message_out,
                message_cap,
                message_len_out,
            )
        }
    })
}

/// Stores a built policy or the error message.
///
/// # Safety
/// As for `corsgate_policy_from_json`'s outputs.
unsafe fn finish_build(
    result: Result<Policy, (corsgate_result, PolicyError)>,
    policy_out: *mut *mut corsgate_policy,
    message_out: *mut u8,
    message_cap: usize,
    message_len_out: *mut usize,
) -> corsgate_result {
    if policy_out.is_null() {
        return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
    }
    match result {
        Ok(policy) => {
            // SAFETY: policy_out checked non-NULL.
            unsafe { *policy_out = Box::into_raw(Box::new(corsgate_policy(policy))) };
            // SAFETY: as the caller documented.
            unsafe { write_message("", message_out, message_cap, message_len_out) };
            corsgate_result::CORSGATE_RESULT_OK
        }
        Err((code, error)) => {
            // SAFETY: as the caller documented.
            unsafe {
                write_message(
                    &error.to_string(),
                    message_out,
                    message_cap,
                    message_len_out,
                )
            };
            code
        }
    }
}

/// Frees a policy. NULL is a no-op.
///
/// Ownership: takes `policy`; it must come from this library and not be
/// used after, by any thread.
#[no_mangle]
pub extern "C" fn corsgate_policy_free(policy: *mut corsgate_policy) {
    ffi_panic_boundary!((), {
        if !policy.is_null() {
            // SAFETY: the pointer came from Box::into_raw in this library.
            drop(unsafe { Box::from_raw(policy) });
        }
    })
}

/// True when the policy answers every origin the same way (it allows
/// `*`), so its responses need no `Vary: Origin`.
///
/// NULL: returns false.
#[no_mangle]
pub extern "C" fn corsgate_policy_is_origin_independent(policy: *const corsgate_policy) -> bool {
    ffi_panic_boundary!(false, {
        // SAFETY: NULL or a live policy from this library.
        unsafe { policy.as_ref() }.is_some_and(|p| p.0.is_origin_independent())
    })
}

/// True when the policy is in `mode: "report"` (decisions change nothing).
///
/// NULL: returns false.
#[no_mangle]
pub extern "C" fn corsgate_policy_is_report_only(policy: *const corsgate_policy) -> bool {
    ffi_panic_boundary!(false, {
        // SAFETY: NULL or a live policy from this library.
        unsafe { policy.as_ref() }.is_some_and(|p| p.0.is_report_only())
    })
}

/// A new, empty policy builder (for hosts whose configuration sets policy
/// fields one by one, like the NGINX directives).
///
/// Ownership: on OK, the caller owns `*builder_out`; free it with
/// `corsgate_builder_free`.
/// Thread safety: a builder is used by one thread at a time.
/// Returns: OK, NULL_PARAMETER, PANIC.
#[no_mangle]
pub extern "C" fn corsgate_builder_new(builder_out: *mut *mut corsgate_builder) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        if builder_out.is_null() {
            return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
        }
        // SAFETY: checked non-NULL.
        unsafe { *builder_out = Box::into_raw(Box::new(corsgate_builder(RawPolicy::new()))) };
        corsgate_result::CORSGATE_RESULT_OK
    })
}

/// Frees a builder. NULL is a no-op.
///
/// Ownership: takes `builder`.
#[no_mangle]
pub extern "C" fn corsgate_builder_free(builder: *mut corsgate_builder) {
    ffi_panic_boundary!((), {
        if !builder.is_null() {
            // SAFETY: the pointer came from Box::into_raw in this library.
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}

/// Sets every field present in a JSON policy document (fields set later
/// win). On error the builder is unchanged.
///
/// Lifetime: `json` is only read during the call.
/// NULL: `json` may be NULL only with `json_len` 0; the message pointers
/// may be NULL.
/// Returns: OK; NULL_PARAMETER; INVALID_JSON (not a JSON object) or
/// INVALID_POLICY (unknown or repeated fields), with the message as in
/// `corsgate_policy_from_json`; PANIC.
#[no_mangle]
pub extern "C" fn corsgate_builder_merge_json(
    builder: *mut corsgate_builder,
    json: *const u8,
    json_len: usize,
    message_out: *mut u8,
    message_cap: usize,
    message_len_out: *mut usize,
) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        // SAFETY: NULL or a live builder used by this thread only.
        let Some(builder) = (unsafe { builder.as_mut() }) else {
            return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
        };
        // SAFETY: the caller promises `json_len` readable bytes.
        let Some(json) = (unsafe { bytes(json, json_len) }) else {
            return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
        };
        let (code, message) = match RawPolicy::read_json(json) {
            Err(e) => (corsgate_result::CORSGATE_RESULT_INVALID_JSON, e.to_string()),
            Ok((_, unknown)) if !unknown.is_empty() => (
                corsgate_result::CORSGATE_RESULT_INVALID_POLICY,
                PolicyError { errors: unknown }.to_string(),
            ),
            Ok((raw, _)) => {
                builder.0.merge(raw);
                (corsgate_result::CORSGATE_RESULT_OK, String::new())
            }
        };
        // SAFETY: as documented.
        unsafe { write_message(&message, message_out, message_cap, message_len_out) };
        code
    })
}

/// Sets one field by its JSON name ("allow_origins", "max_age", …) from
/// text values as written in a configuration file: list fields take every
/// value, the others exactly one ("on"/"off"/"true"/"false", "600", "204",
/// "reject", "report", …). Values are checked by `corsgate_builder_build`,
/// which reports every problem at once.
///
/// Lifetime: the bytes are copied; they may be freed after the call.
/// NULL: `values` may be NULL only with `values_len` 0.
/// Returns: OK; NULL_PARAMETER; UNKNOWN_FIELD for a name that is not a
/// policy field; INVALID_TEXT when a value is not UTF-8; PANIC.
#[no_mangle]
pub extern "C" fn corsgate_builder_set(
    builder: *mut corsgate_builder,
    field: *const u8,
    field_len: usize,
    values: *const corsgate_slice,
    values_len: usize,
) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        // SAFETY: NULL or a live builder used by this thread only.
        let Some(builder) = (unsafe { builder.as_mut() }) else {
            return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
        };
        // SAFETY: the caller promises readable bytes and slices.
        let (field, texts) = match unsafe { field_and_texts(field, field_len, values, values_len) }
        {
            Ok(parts) => parts,
            Err(code) => return code,
        };
        match builder.0.set_text(field, texts) {
            Ok(()) => corsgate_result::CORSGATE_RESULT_OK,
            Err(_) => corsgate_result::CORSGATE_RESULT_UNKNOWN_FIELD,
        }
    })
}

/// Checks one policy field on its own, from text values as
/// `corsgate_builder_set` takes them, so that a host setting fields one at
/// a time (the NGINX directives) can report a problem where it was written.
/// Problems that involve other fields (an `http://` origin with
/// credentials) are reported by `corsgate_builder_build` only.
///
/// Lifetime: everything is only read during the call.
/// NULL: as `corsgate_builder_set`; the message pointers may be NULL.
/// Returns: OK; NULL_PARAMETER; UNKNOWN_FIELD, INVALID_TEXT or
/// INVALID_POLICY with a message naming the field (and, for
/// INVALID_POLICY, every problem of this field) in `message_out`, as in
/// `corsgate_policy_from_json`; PANIC.
#[no_mangle]
pub extern "C" fn corsgate_field_check(
    field: *const u8,
    field_len: usize,
    values: *const corsgate_slice,
    values_len: usize,
    message_out: *mut u8,
    message_cap: usize,
    message_len_out: *mut usize,
) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        // SAFETY: the caller promises readable bytes and slices.
        let parts = unsafe { field_and_texts(field, field_len, values, values_len) };
        let (code, message) = match parts {
            Err(corsgate_result::CORSGATE_RESULT_NULL_PARAMETER) => {
                return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
            }
            Err(code) => {
                // SAFETY: field_and_texts read these bytes already.
                let name = unsafe { bytes(field, field_len) }.unwrap_or_default();
                let name = String::from_utf8_lossy(name);
                (
                    code,
                    format!("{name}: {}", code.description().to_string_lossy()),
                )
            }
            Ok((field, _)) if !crate::config::FIELDS.contains(&field) => (
                corsgate_result::CORSGATE_RESULT_UNKNOWN_FIELD,
                format!("{field}: unknown policy field"),
            ),
            Ok((field, texts)) => match Policy::check_field(field, texts) {
                Ok(()) => (corsgate_result::CORSGATE_RESULT_OK, String::new()),
                Err(e) => (
                    corsgate_result::CORSGATE_RESULT_INVALID_POLICY,
                    e.to_string(),
                ),
            },
        };
        // SAFETY: as documented.
        unsafe { write_message(&message, message_out, message_cap, message_len_out) };
        code
    })
}

/// Reads a field name and its text values.
///
/// # Safety
/// As for `corsgate_builder_set`'s inputs.
unsafe fn field_and_texts<'a>(
    field: *const u8,
    field_len: usize,
    values: *const corsgate_slice,
    values_len: usize,
) -> Result<(&'a str, Vec<String>), corsgate_result> {
    // SAFETY: the caller promises readable bytes / slices.
    let (Some(field), Some(values)) = (unsafe { bytes(field, field_len) }, unsafe {
        slices(values, values_len)
    }) else {
        return Err(corsgate_result::CORSGATE_RESULT_NULL_PARAMETER);
    };
    let field =
        std::str::from_utf8(field).map_err(|_| corsgate_result::CORSGATE_RESULT_UNKNOWN_FIELD)?;
    let mut texts = Vec::with_capacity(values.len());
    for v in values {
        // SAFETY: each slice is readable, as promised by the caller.
        let b = unsafe { bytes(v.ptr, v.len) }
            .ok_or(corsgate_result::CORSGATE_RESULT_NULL_PARAMETER)?;
        let text =
            std::str::from_utf8(b).map_err(|_| corsgate_result::CORSGATE_RESULT_INVALID_TEXT)?;
        texts.push(text.to_owned());
    }
    Ok((field, texts))
}

/// Borrows `len` slices at `ptr`.
///
/// # Safety
/// A non-NULL `ptr` must point to `len` readable `corsgate_slice`s.
unsafe fn slices<'a>(ptr: *const corsgate_slice, len: usize) -> Option<&'a [corsgate_slice]> {
    if ptr.is_null() {
        return (len == 0).then_some(&[]);
    }
    // SAFETY: non-NULL, and the caller promises `len` readable slices.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Validates and compiles the builder's fields into a new policy. The
/// builder is unchanged and may be reused.
///
/// Ownership: on OK, the caller owns `*policy_out`.
/// Returns: OK; NULL_PARAMETER; INVALID_POLICY with every problem in the
/// message, as in `corsgate_policy_from_json`; PANIC.
#[no_mangle]
pub extern "C" fn corsgate_builder_build(
    builder: *const corsgate_builder,
    policy_out: *mut *mut corsgate_policy,
    message_out: *mut u8,
    message_cap: usize,
    message_len_out: *mut usize,
) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        // SAFETY: NULL or a live builder.
        let Some(builder) = (unsafe { builder.as_ref() }) else {
            return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
        };
        let result = Policy::compile(&builder.0)
            .map_err(|e| (corsgate_result::CORSGATE_RESULT_INVALID_POLICY, e));
        // SAFETY: as documented.
        unsafe {
            finish_build(
                result,
                policy_out,
                message_out,
                message_cap,
                message_len_out,
            )
        }
    })
}

/// Starts a request view: the method, and no headers yet.
///
/// Lifetime: `request` borrows `method` (and later each header value) until
/// `corsgate_evaluate` returns; nothing is copied.
/// NULL: `request` NULL is a no-op; `method` may be NULL only with length 0.
#[no_mangle]
pub extern "C" fn corsgate_request_init(
    request: *mut corsgate_request,
    method: *const u8,
    method_len: usize,
) {
    ffi_panic_boundary!((), {
        // SAFETY: NULL or a writable request.
        if let Some(request) = unsafe { request.as_mut() } {
            *request = corsgate_request::empty();
            request.method = corsgate_slice {
                ptr: method,
                len: method_len,
            };
        }
    })
}

/// Offers one request header line (any name, any case; pass every line,
/// in order). Returns true when corsgate reads this header, false when it
/// ignores it.
///
/// Lifetime: `request` keeps pointing at `value` until
/// `corsgate_evaluate` returns; `name` is only read during the call.
/// NULL: returns false.
#[no_mangle]
pub extern "C" fn corsgate_request_add_header(
    request: *mut corsgate_request,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> bool {
    ffi_panic_boundary!(false, {
        // SAFETY: NULL or a writable request; readable name bytes.
        let (Some(request), Some(name)) = (unsafe { request.as_mut() }, unsafe {
            bytes(name, name_len)
        }) else {
            return false;
        };
        if value.is_null() && value_len > 0 {
            return false;
        }
        request.add_header(
            name,
            corsgate_slice {
                ptr: value,
                len: value_len,
            },
        )
    })
}

/// The request header names corsgate reads (lowercase), for hosts that
/// fetch headers by name (Envoy). Stores the count in `*len_out`.
///
/// Ownership: static array; never free it.
/// NULL: `len_out` may be NULL.
#[no_mangle]
pub extern "C" fn corsgate_request_header_names(len_out: *mut usize) -> *const corsgate_slice {
    static NAMES: StaticSlices<3> = StaticSlices::new(REQUEST_HEADER_NAMES);
    NAMES.get(len_out)
}

/// The response header names corsgate owns (lowercase): when a decision
/// says `strip_upstream`, remove these from the upstream's response before
/// writing the decision's headers.
///
/// Ownership: static array; never free it.
/// NULL: `len_out` may be NULL.
#[no_mangle]
pub extern "C" fn corsgate_owned_header_names(len_out: *mut usize) -> *const corsgate_slice {
    static NAMES: StaticSlices<{ OWNED_HEADER_NAMES.len() }> =
        StaticSlices::new(OWNED_HEADER_NAMES);
    NAMES.get(len_out)
}

/// True when `name` (any case) is a response header corsgate owns.
///
/// NULL: returns false unless `name_len` is 0.
#[no_mangle]
pub extern "C" fn corsgate_is_owned_header(name: *const u8, name_len: usize) -> bool {
    ffi_panic_boundary!(false, {
        // SAFETY: the caller promises `name_len` readable bytes.
        unsafe { bytes(name, name_len) }.is_some_and(crate::evaluate::is_owned_header)
    })
}

/// Every (kind, reason) pair a decision can have, in a fixed order, for
/// hosts that must define their counters before the first request (Envoy).
/// Stores the count in `*len_out`.
///
/// Ownership: static array; never free it.
/// NULL: `len_out` may be NULL.
#[no_mangle]
pub extern "C" fn corsgate_outcomes(len_out: *mut usize) -> *const corsgate_outcome {
    if !len_out.is_null() {
        // SAFETY: checked non-NULL; the caller gave a writable size_t.
        unsafe { *len_out = OUTCOMES.len() };
    }
    OUTCOMES.as_ptr()
}

/// The position of a decision's `kind` and `reason` in `corsgate_outcomes`,
/// or that array's length when no decision has this pair.
#[no_mangle]
pub extern "C" fn corsgate_outcome_index(kind: u32, reason: u32) -> usize {
    OUTCOMES
        .iter()
        .position(|o| o.kind as u32 == kind && o.reason as u32 == reason)
        .unwrap_or(OUTCOMES.len())
}

/// Decides one request. Call it once per request; it never allocates and
/// runs in time linear in the request's CORS header bytes.
///
/// Ownership: `decision_out` is the caller's (stack, pool, per-stream
/// struct); nothing to free.
/// Lifetime: the decision copies what it needs from the request into its
/// own storage, so it stays valid after the request's header memory is
/// gone, as long as the policy is alive and the decision is not moved or
/// copied (header values may point into it): evaluate into its final place.
/// Thread safety: any number of threads may evaluate with one policy.
/// NULL: NULL_PARAMETER, nothing written.
/// Returns: OK; NULL_PARAMETER; PANIC, with `*decision_out` a safe denial
/// (reason INTERNAL_ERROR, no CORS headers).
#[no_mangle]
pub extern "C" fn corsgate_evaluate(
    policy: *const corsgate_policy,
    request: *const corsgate_request,
    decision_out: *mut corsgate_decision,
) -> corsgate_result {
    // SAFETY: NULL or live objects, as documented.
    let (Some(policy), Some(request)) = (unsafe { policy.as_ref() }, unsafe { request.as_ref() })
    else {
        return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
    };
    if decision_out.is_null() {
        return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
    }
    let code = ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        // SAFETY: the caller promises every slice in the request is readable.
        let request = unsafe { request.as_core() };
        let decision = policy.0.evaluate(&request);
        // SAFETY: decision_out checked non-NULL and writable.
        unsafe { corsgate_decision::write(decision_out, &request, &decision) };
        corsgate_result::CORSGATE_RESULT_OK
    });
    if code == corsgate_result::CORSGATE_RESULT_PANIC {
        // SAFETY: as above; a static decision borrows nothing.
        unsafe {
            corsgate_decision::write(
                decision_out,
                &Request::default(),
                &Decision::internal_error(),
            )
        };
    }
    code
}
