//! The C ABI: the only room with `extern "C"`. See `include/corsgate.h`
//! (generated from this file by cbindgen) and `ABI.md` for the rules.
//!
//! Every export runs inside `ffi_panic_boundary!`: a panic becomes
//! `CORSGATE_RESULT_PANIC` (or a documented default), never an unwind into
//! the host. (With `rust-version` 1.81+, an unwind reaching an
//! `extern "C"` boundary aborts instead of being undefined behaviour; the
//! boundary turns it into a result before that.)
//!
//! Out-parameters are written whole through raw pointers (`ptr::write`,
//! field places with `addr_of_mut!`), never through a `&mut` over the
//! caller's memory, which may hold any bytes (pool memory, `malloc`, a
//! `memset` pattern): a reference to an invalid `bool` or enum would be
//! undefined behaviour.
#![allow(non_camel_case_types)]
// Exports are called from C, which has no `unsafe`; each documents its
// pointer contract and checks NULL (rustls-ffi does the same).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod types;

use std::ffi::c_char;
use std::ptr;
use std::sync::Arc;

use crate::config::{PolicyError, RawPolicy};
use crate::evaluate::{OWNED_HEADER_NAMES, REQUEST_HEADER_NAMES};
use crate::policy::{is_plain_origin, Policy};

pub use types::*;

/// Runs `$body`, turning a panic into `$on_panic`, which runs inside a
/// boundary of its own: should it panic too, the process aborts rather
/// than unwind into C. The panic payload is leaked, not dropped (its
/// destructor could panic). `AssertUnwindSafe` is sound here because no
/// export leaves shared state half-changed: the builder merges into a copy
/// and swaps it in only once complete; policies are immutable.
macro_rules! ffi_panic_boundary {
    ($on_panic:expr, $body:block) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(payload) => {
                std::mem::forget(payload);
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $on_panic)) {
                    Ok(value) => value,
                    Err(_) => std::process::abort(),
                }
            }
        }
    };
}

/// A compiled policy (opaque), reference-counted: immutable once built,
/// shared by every holder, freed when the last reference is released.
pub struct corsgate_policy(Policy, EntryPlans);

impl corsgate_policy {
    /// A new reference-counted policy, as a raw pointer owning one count.
    fn into_raw(policy: Policy) -> *mut corsgate_policy {
        let plans = EntryPlans::new(&policy);
        Arc::into_raw(Arc::new(corsgate_policy(policy, plans))).cast_mut()
    }
}

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
        unsafe { len_out.write(message.len()) };
    }
}

/// The library version, e.g. "corsgate/0.1.0", for humans and logs.
///
/// Ownership: static, NUL-terminated; never free it.
/// Lifetime: the library's.
/// Thread safety: any thread.
/// NULL: takes no pointer.
/// Returns: the version string.
#[no_mangle]
pub extern "C" fn corsgate_version() -> *const c_char {
    ffi_panic_boundary!(c"corsgate".as_ptr(), {
        concat!("corsgate/", env!("CARGO_PKG_VERSION"), "\0")
            .as_ptr()
            .cast()
    })
}

/// The ABI version this library implements (`CORSGATE_ABI_VERSION` of
/// the header it was built with, the SONAME major). A caller built against
/// another ABI version must not use it.
///
/// Ownership: nothing is passed or returned by pointer.
/// Lifetime: not applicable.
/// Thread safety: any thread.
/// NULL: takes no pointer.
/// Returns: `CORSGATE_ABI_VERSION`.
#[no_mangle]
pub extern "C" fn corsgate_abi_version() -> u32 {
    ffi_panic_boundary!(CORSGATE_ABI_VERSION, { CORSGATE_ABI_VERSION })
}

/// A static description of a `corsgate_result`, e.g. "invalid policy".
///
/// Ownership: static, NUL-terminated; never free it.
/// Lifetime: the library's.
/// Thread safety: any thread.
/// NULL: takes no pointer; never returns NULL.
/// Returns: the description; "unknown result" for a value that is not a
/// `corsgate_result`.
#[no_mangle]
pub extern "C" fn corsgate_result_str(result: u32) -> *const c_char {
    ffi_panic_boundary!(c"unknown result".as_ptr(), {
        corsgate_result::from_u32(result)
            .map_or(c"unknown result", corsgate_result::description)
            .as_ptr()
    })
}

/// The static text form of a `corsgate_reason`, e.g. "origin-not-allowed"
/// (what `$cors_result`, counters and the debug header use).
///
/// Ownership: static, NUL-terminated; never free it.
/// Lifetime: the library's.
/// Thread safety: any thread.
/// NULL: takes no pointer; never returns NULL.
/// Returns: the text; "unknown" for a value that is not a `corsgate_reason`.
#[no_mangle]
pub extern "C" fn corsgate_reason_str(reason: u32) -> *const c_char {
    ffi_panic_boundary!(c"unknown".as_ptr(), { types::reason_cstr(reason) })
}

/// The static text form of a `corsgate_verdict`: "not-cors", "allowed" or
/// "denied".
///
/// Ownership: static, NUL-terminated; never free it.
/// Lifetime: the library's.
/// Thread safety: any thread.
/// NULL: takes no pointer; never returns NULL.
/// Returns: the text; "unknown" for a value that is not a `corsgate_verdict`.
#[no_mangle]
pub extern "C" fn corsgate_verdict_str(verdict: u32) -> *const c_char {
    ffi_panic_boundary!(c"unknown".as_ptr(), { types::verdict_cstr(verdict) })
}

/// The static text form of a `corsgate_kind`: "not-cors", "preflight" or
/// "actual".
///
/// Ownership: static, NUL-terminated; never free it.
/// Lifetime: the library's.
/// Thread safety: any thread.
/// NULL: takes no pointer; never returns NULL.
/// Returns: the text; "unknown" for a value that is not a `corsgate_kind`.
#[no_mangle]
pub extern "C" fn corsgate_kind_str(kind: u32) -> *const c_char {
    ffi_panic_boundary!(c"unknown".as_ptr(), { types::kind_cstr(kind) })
}

/// Compiles a policy from its JSON document (README "The policy").
///
/// Ownership: on OK, `*policy_out` is a new policy holding one reference,
/// the caller's; drop it with `corsgate_policy_release`.
/// Lifetime: `json` is only read during the call.
/// Thread safety: any thread.
/// NULL: `json` may be NULL only with `json_len` 0; `message_out` and
/// `message_len_out` may be NULL; `policy_out` NULL is NULL_PARAMETER.
/// Returns: OK; NULL_PARAMETER; INVALID_JSON (not a JSON object) or
/// INVALID_POLICY (unknown fields, invalid values), with every problem
/// (one per line, each naming the field, the value and the fix)
/// copied into `message_out` (at most `message_cap` bytes, not
/// NUL-terminated) and its full length in `*message_len_out`; PANIC.
/// `*policy_out` is written only on OK.
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
            // SAFETY: policy_out checked non-NULL; written whole.
            unsafe { policy_out.write(corsgate_policy::into_raw(policy)) };
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

/// Takes one more reference to a policy, for a holder that must keep it
/// alive independently (a request in flight while the host swaps in a new
/// policy: ABI.md "Swapping a policy").
///
/// Ownership: the caller owns one more reference; drop it with
/// `corsgate_policy_release`.
/// Lifetime: the policy lives until its last reference is released.
/// Thread safety: any thread, concurrently with evaluations, retains and
/// releases of the same policy (the count is atomic). The caller must
/// already hold a reference while calling: retaining a pointer another
/// thread may be releasing at the same time needs the host's own lock.
/// NULL: returns NULL.
/// Returns: `policy` itself (so `p = corsgate_policy_retain(shared)`).
#[no_mangle]
pub extern "C" fn corsgate_policy_retain(policy: *const corsgate_policy) -> *mut corsgate_policy {
    ffi_panic_boundary!(ptr::null_mut(), {
        if !policy.is_null() {
            // SAFETY: a live policy from Arc::into_raw in this library, on
            // which the caller holds a reference.
            unsafe { Arc::increment_strong_count(policy) };
        }
        policy.cast_mut()
    })
}

/// Drops one reference to a policy; the last one frees it.
///
/// Ownership: takes the caller's reference; the caller must not use the
/// pointer after, nor any decision evaluated with it that it does not
/// cover by another reference.
/// Lifetime: header values of decisions evaluated with this policy that
/// borrow from it are valid until its last reference is released.
/// Thread safety: any thread, concurrently with evaluations by holders of
/// other references.
/// NULL: a no-op.
/// Returns: nothing.
#[no_mangle]
pub extern "C" fn corsgate_policy_release(policy: *const corsgate_policy) {
    ffi_panic_boundary!((), {
        if !policy.is_null() {
            // SAFETY: a live policy from Arc::into_raw in this library; the
            // caller gives up its reference.
            unsafe { Arc::decrement_strong_count(policy) };
        }
    })
}

/// Drops one reference to a policy: the same as `corsgate_policy_release`
/// (kept for hosts that own a policy alone and never retain it).
///
/// Ownership: takes the caller's reference.
/// Lifetime: as `corsgate_policy_release`.
/// Thread safety: as `corsgate_policy_release`.
/// NULL: a no-op.
/// Returns: nothing.
#[no_mangle]
pub extern "C" fn corsgate_policy_free(policy: *mut corsgate_policy) {
    ffi_panic_boundary!((), { corsgate_policy_release(policy) })
}

/// True when the policy answers every origin the same way (it allows
/// `*`), so its responses need no `Vary: Origin`.
///
/// Ownership: borrows `policy` for the call.
/// Lifetime: nothing is kept.
/// Thread safety: any thread.
/// NULL: returns false.
/// Returns: the answer; false on PANIC.
#[no_mangle]
pub extern "C" fn corsgate_policy_is_origin_independent(policy: *const corsgate_policy) -> bool {
    ffi_panic_boundary!(false, {
        // SAFETY: NULL or a live policy from this library.
        unsafe { policy.as_ref() }.is_some_and(|p| p.0.is_origin_independent())
    })
}

/// True when the policy is in `mode: "report"` (decisions change nothing).
///
/// Ownership: borrows `policy` for the call.
/// Lifetime: nothing is kept.
/// Thread safety: any thread.
/// NULL: returns false.
/// Returns: the answer; false on PANIC.
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
/// Lifetime: until freed.
/// Thread safety: any thread; a builder is then used by one thread at a
/// time.
/// NULL: `builder_out` NULL is NULL_PARAMETER.
/// Returns: OK, NULL_PARAMETER, PANIC; `*builder_out` is written only on OK.
#[no_mangle]
pub extern "C" fn corsgate_builder_new(builder_out: *mut *mut corsgate_builder) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        if builder_out.is_null() {
            return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
        }
        let builder = Box::into_raw(Box::new(corsgate_builder(RawPolicy::new())));
        // SAFETY: checked non-NULL; written whole.
        unsafe { builder_out.write(builder) };
        corsgate_result::CORSGATE_RESULT_OK
    })
}

/// Frees a builder.
///
/// Ownership: takes `builder`; policies built from it stay valid.
/// Lifetime: `builder` must not be used after.
/// Thread safety: the thread using the builder.
/// NULL: a no-op.
/// Returns: nothing.
#[no_mangle]
pub extern "C" fn corsgate_builder_free(builder: *mut corsgate_builder) {
    ffi_panic_boundary!((), {
        if !builder.is_null() {
            // SAFETY: the pointer came from Box::into_raw in this library.
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}

#[cfg(test)]
thread_local! {
    /// Test hook: panic in `corsgate_builder_merge_json` after merging.
    static PANIC_AFTER_MERGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Sets every field present in a JSON policy document (fields set later
/// win). The document is merged into a copy of the builder, swapped in
/// only when complete: on any error, PANIC included, the builder is
/// unchanged.
///
/// Ownership: borrows `builder` for the call.
/// Lifetime: `json` is only read during the call.
/// Thread safety: the thread using the builder.
/// NULL: `builder` NULL is NULL_PARAMETER; `json` may be NULL only with
/// `json_len` 0; the message pointers may be NULL.
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
                let mut merged = builder.0.clone();
                merged.merge(raw);
                #[cfg(test)]
                if PANIC_AFTER_MERGE.with(|p| p.get()) {
                    panic!("test hook: panic after merging, before the swap");
                }
                builder.0 = merged;
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
/// which reports every problem at once. On error the builder is unchanged.
///
/// Ownership: borrows `builder`, `field` and `values` for the call.
/// Lifetime: the bytes are copied; they may be freed after the call.
/// Thread safety: the thread using the builder.
/// NULL: `builder` NULL is NULL_PARAMETER; `field` and `values` may be
/// NULL only with length 0 (each value too).
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
/// Ownership: borrows every argument for the call.
/// Lifetime: everything is only read during the call.
/// Thread safety: any thread.
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
/// Ownership: on OK, `*policy_out` is a new policy holding one reference,
/// the caller's (`corsgate_policy_release`).
/// Lifetime: the policy does not borrow from the builder.
/// Thread safety: the thread using the builder.
/// NULL: `builder` or `policy_out` NULL is NULL_PARAMETER; the message
/// pointers may be NULL.
/// Returns: OK; NULL_PARAMETER; INVALID_POLICY with every problem in the
/// message, as in `corsgate_policy_from_json`; PANIC. `*policy_out` is
/// written only on OK.
#[no_mangle]
pub extern "C" fn corsgate_builder_build(
    builder: *const corsgate_builder,
    policy_out: *mut *mut corsgate_policy,
    message_out: *mut u8,
    message_cap: usize,
    message_len_out: *mut usize,
) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        // Building without a base is building with sharing and no base.
        corsgate_builder_build_sharing(
            builder,
            ptr::null(),
            policy_out,
            message_out,
            message_cap,
            message_len_out,
        )
    })
}

/// As `corsgate_builder_build`, but the new policy shares `base`'s
/// compiled origins (origin sets, regex automaton: most of a policy's
/// memory) when the builder's `allow_origins` is the same value, as
/// written, as the one `base` was compiled from. For hosts that compile
/// many policies differing in a few fields (NGINX locations overriding
/// one directive). The result is the same as without sharing.
///
/// Ownership: on OK, `*policy_out` is a new policy holding one reference,
/// the caller's; `base` is only borrowed.
/// Lifetime: the new policy keeps what it shares alive by itself; `base`
/// may be released at any time after the call.
/// Thread safety: the thread using the builder; `base` may be in use by
/// any threads.
/// NULL: `base` NULL is `corsgate_builder_build`; otherwise as it.
/// Returns: as `corsgate_builder_build`.
#[no_mangle]
pub extern "C" fn corsgate_builder_build_sharing(
    builder: *const corsgate_builder,
    base: *const corsgate_policy,
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
        // SAFETY: NULL or a live policy from this library.
        let base = unsafe { base.as_ref() }.map(|p| &p.0);
        let result = Policy::compile_sharing(&builder.0, base)
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

/// Starts a request view: the method, and no headers yet. `*request` is
/// written whole; its previous contents may be anything.
///
/// Ownership: `request` is the caller's (stack, pool); nothing to free.
/// Lifetime: `request` borrows `method` (and later each header value) until
/// `corsgate_evaluate` returns; nothing is copied.
/// Thread safety: one thread per request view.
/// NULL: `request` NULL is a no-op; `method` may be NULL only with length 0.
/// Returns: nothing.
#[no_mangle]
pub extern "C" fn corsgate_request_init(
    request: *mut corsgate_request,
    method: *const u8,
    method_len: usize,
) {
    ffi_panic_boundary!((), {
        if request.is_null() {
            return;
        }
        // SAFETY: checked non-NULL; the caller gave a writable request.
        unsafe { corsgate_request::init(request, method, method_len) };
    })
}

/// Offers one request header line (any name, any case; pass every line,
/// in order).
///
/// Ownership: `request` is the caller's; `name` and `value` stay the
/// caller's.
/// Lifetime: `request` keeps pointing at `value` until
/// `corsgate_evaluate` returns; `name` is only read during the call.
/// Thread safety: one thread per request view.
/// NULL: `request` or `name` NULL (with a length) returns false; `value`
/// may be NULL only with length 0.
/// Returns: true when corsgate reads this header, false when it ignores it
/// (or on NULL / PANIC).
#[no_mangle]
pub extern "C" fn corsgate_request_add_header(
    request: *mut corsgate_request,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> bool {
    ffi_panic_boundary!(false, {
        // SAFETY: readable name bytes, as documented.
        let Some(name) = (unsafe { bytes(name, name_len) }) else {
            return false;
        };
        if request.is_null() || (value.is_null() && value_len > 0) {
            return false;
        }
        let value = corsgate_slice {
            ptr: value,
            len: value_len,
        };
        // SAFETY: a request view initialized by corsgate_request_init.
        unsafe { corsgate_request::add_header(request, name, value) }
    })
}

/// The request header names corsgate reads (lowercase), for hosts that
/// fetch headers by name (Envoy). Stores the count in `*len_out`.
///
/// Ownership: static array; never free it.
/// Lifetime: the library's.
/// Thread safety: any thread.
/// NULL: `len_out` may be NULL.
/// Returns: the array (never NULL).
#[no_mangle]
pub extern "C" fn corsgate_request_header_names(len_out: *mut usize) -> *const corsgate_slice {
    static NAMES: StaticSlices<3> = StaticSlices::new(REQUEST_HEADER_NAMES);
    ffi_panic_boundary!(NAMES.get(ptr::null_mut()), { NAMES.get(len_out) })
}

/// The response header names corsgate owns (lowercase): when a decision
/// says `strip_upstream`, remove these from the upstream's response before
/// writing the decision's headers.
///
/// Ownership: static array; never free it.
/// Lifetime: the library's.
/// Thread safety: any thread.
/// NULL: `len_out` may be NULL.
/// Returns: the array (never NULL).
#[no_mangle]
pub extern "C" fn corsgate_owned_header_names(len_out: *mut usize) -> *const corsgate_slice {
    static NAMES: StaticSlices<{ OWNED_HEADER_NAMES.len() }> =
        StaticSlices::new(OWNED_HEADER_NAMES);
    ffi_panic_boundary!(NAMES.get(ptr::null_mut()), { NAMES.get(len_out) })
}

/// True when `name` (any case) is a response header corsgate owns.
///
/// Ownership: borrows `name` for the call.
/// Lifetime: nothing is kept.
/// Thread safety: any thread.
/// NULL: returns false unless `name_len` is 0.
/// Returns: the answer; false on PANIC.
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
/// Lifetime: the library's.
/// Thread safety: any thread.
/// NULL: `len_out` may be NULL.
/// Returns: the array (never NULL).
#[no_mangle]
pub extern "C" fn corsgate_outcomes(len_out: *mut usize) -> *const corsgate_outcome {
    ffi_panic_boundary!(OUTCOMES.as_ptr(), {
        if !len_out.is_null() {
            // SAFETY: checked non-NULL; the caller gave a writable size_t.
            unsafe { len_out.write(OUTCOMES.len()) };
        }
        OUTCOMES.as_ptr()
    })
}

/// The position of a decision's `kind` and `reason` in `corsgate_outcomes`.
///
/// Ownership: nothing is passed by pointer.
/// Lifetime: not applicable.
/// Thread safety: any thread.
/// NULL: takes no pointer.
/// Returns: the index, or the length of `corsgate_outcomes` when no
/// decision has this pair (or on PANIC).
#[no_mangle]
pub extern "C" fn corsgate_outcome_index(kind: u32, reason: u32) -> usize {
    ffi_panic_boundary!(OUTCOMES.len(), {
        OUTCOMES
            .iter()
            .position(|o| o.kind as u32 == kind && o.reason as u32 == reason)
            .unwrap_or(OUTCOMES.len())
    })
}

/// Writes the safe denial into `out` (when non-NULL) and returns `code`.
fn fail(out: *mut corsgate_decision, code: corsgate_result) -> corsgate_result {
    if !out.is_null() {
        // SAFETY: the caller of corsgate_evaluate gave writable memory.
        unsafe { corsgate_decision::write_denial(out) };
    }
    code
}

/// Test-only faults (`--features fault-injection`, never in a release
/// build): the request method picks a failure, so that tests can drive each
/// one through real NGINX and Envoy (`tests/failures/`):
/// `CORSGATE_FAULT_PANIC` panics inside the boundary, `CORSGATE_FAULT_NULL`
/// fails as a NULL policy does, `CORSGATE_FAULT_TOO_LARGE` as a request
/// too large for a decision does.
#[cfg(feature = "fault-injection")]
fn injected_fault(method: &[u8]) -> Option<corsgate_result> {
    match method {
        b"CORSGATE_FAULT_PANIC" => panic!("fault injection: panic in corsgate_evaluate"),
        b"CORSGATE_FAULT_NULL" => Some(corsgate_result::CORSGATE_RESULT_NULL_PARAMETER),
        b"CORSGATE_FAULT_TOO_LARGE" => Some(corsgate_result::CORSGATE_RESULT_REQUEST_TOO_LARGE),
        _ => None,
    }
}

/// Decides one request. Call it once per request; it never allocates and
/// runs in time linear in the request's CORS header bytes.
///
/// On every result, `*decision_out` (when not NULL) is written whole; its
/// previous contents may be anything. On OK it is the policy's decision;
/// on any other result it is the safe denial: verdict DENIED, reason
/// INTERNAL_ERROR, action CONTINUE, `strip_upstream` set, no headers. A
/// host applies whatever decision it gets, the same way.
///
/// Ownership: `decision_out` is the caller's (stack, pool, per-stream
/// struct); nothing to free.
/// Lifetime: the decision copies what it needs from the request into
/// itself, so it stays valid after the request's bytes are gone, wherever
/// it is copied; header values that borrow from the policy stay valid
/// while the caller holds a reference to it (`corsgate_policy_retain`).
/// Thread safety: any number of threads may evaluate with one policy.
/// NULL: `policy` or `request` NULL is NULL_PARAMETER (with the safe
/// denial written); `decision_out` NULL is NULL_PARAMETER, nothing written.
/// Returns: OK; NULL_PARAMETER; REQUEST_TOO_LARGE (request bytes the
/// decision must keep do not fit); PANIC.
#[no_mangle]
pub extern "C" fn corsgate_evaluate(
    policy: *const corsgate_policy,
    request: *const corsgate_request,
    decision_out: *mut corsgate_decision,
) -> corsgate_result {
    ffi_panic_boundary!(
        fail(decision_out, corsgate_result::CORSGATE_RESULT_PANIC),
        {
            if decision_out.is_null() {
                return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
            }
            // SAFETY: NULL or live objects, as documented; a request holds
            // only raw pointers and integers, valid for any bits.
            let (Some(policy), Some(request)) =
                (unsafe { policy.as_ref() }, unsafe { request.as_ref() })
            else {
                return fail(
                    decision_out,
                    corsgate_result::CORSGATE_RESULT_NULL_PARAMETER,
                );
            };
            #[cfg(feature = "fault-injection")]
            // SAFETY: the caller promises every slice in the request is readable.
            if let Some(code) = injected_fault(unsafe { request.method.as_bytes() }) {
                return fail(decision_out, code);
            }
            // The common case first, straight from the view: an actual
            // request from an exact allowed origin (`Policy::evaluate`'s
            // own first test) or one a subdomain wildcard allows (as
            // `Policy::evaluate` finds it for a plain origin), written from
            // the plan built at load.
            if request.origin_lines == 1 && request.request_method_lines == 0 {
                // SAFETY: the caller promises every slice in the request is readable.
                let origin = unsafe { request.origin.as_bytes() };
                let origins = &policy.0.origins;
                let written = if origins.matches_exact(origin) {
                    // SAFETY: decision_out checked non-NULL and writable.
                    unsafe {
                        corsgate_decision::write_actual_allowed(decision_out, origin, &policy.1)
                    }
                } else {
                    // A well-formed origin no pattern allows, as
                    // `Policy::evaluate` finds it first.
                    match origins.plain_subdomain_match(origin) {
                        // SAFETY: as above.
                        Some(true) => unsafe {
                            corsgate_decision::write_actual_allowed(decision_out, origin, &policy.1)
                        },
                        // SAFETY: as above.
                        Some(false) => unsafe {
                            corsgate_decision::write_origin_not_allowed(
                                decision_out,
                                origin,
                                &policy.1,
                            )
                        },
                        None if origins.exact_only() && is_plain_origin(origin) => {
                            // SAFETY: as above.
                            unsafe {
                                corsgate_decision::write_origin_not_allowed(
                                    decision_out,
                                    origin,
                                    &policy.1,
                                )
                            }
                        }
                        None => false,
                    }
                };
                if written {
                    return corsgate_result::CORSGATE_RESULT_OK;
                }
            }
            // SAFETY: the caller promises every slice in the request is readable.
            let request = unsafe { request.as_core() };
            let decision = policy.0.evaluate(&request);
            // SAFETY: decision_out checked non-NULL and writable.
            match unsafe {
                corsgate_decision::write(decision_out, &request, &decision, Some(&policy.1))
            } {
                Ok(()) => corsgate_result::CORSGATE_RESULT_OK,
                Err(code) => fail(decision_out, code),
            }
        }
    )
}

/// Header `index` of a decision (0 to `headers_len - 1`, in the order to
/// write them), resolved at the address of `decision`: a value copied from
/// the request points into `*decision` itself, the others at static
/// strings or into the policy.
///
/// Ownership: borrows `decision`; `*header_out` borrows as just said.
/// Lifetime: `header_out->value` is valid while `*decision` is neither
/// changed nor freed (and, for policy values, while the policy is held);
/// `name` is static.
/// Thread safety: any thread, for a decision no thread is writing.
/// NULL: `decision` or `header_out` NULL is NULL_PARAMETER.
/// Returns: OK with `*header_out` written whole; OUT_OF_RANGE past the
/// last header (`*header_out` untouched); NULL_PARAMETER; PANIC.
#[no_mangle]
pub extern "C" fn corsgate_decision_header(
    decision: *const corsgate_decision,
    index: usize,
    header_out: *mut corsgate_header,
) -> corsgate_result {
    ffi_panic_boundary!(corsgate_result::CORSGATE_RESULT_PANIC, {
        if decision.is_null() || header_out.is_null() {
            return corsgate_result::CORSGATE_RESULT_NULL_PARAMETER;
        }
        // SAFETY: a decision written by corsgate_evaluate (or a copy).
        match unsafe { corsgate_decision::header(decision, index) } {
            None => corsgate_result::CORSGATE_RESULT_OUT_OF_RANGE,
            Some(h) => {
                // SAFETY: checked non-NULL; written whole.
                unsafe { header_out.write(h) };
                corsgate_result::CORSGATE_RESULT_OK
            }
        }
    })
}

/// What a denial refused (a header name, a method, an origin), for logs:
/// always a token or a well-formed origin, possibly truncated; empty when
/// nothing is named. Resolved at the address of `decision`.
///
/// Ownership: the bytes are inside `*decision`; never free them.
/// Lifetime: while `*decision` is neither changed nor freed.
/// Thread safety: any thread, for a decision no thread is writing.
/// NULL: `decision` NULL gives the empty slice `(NULL, 0)`.
/// Returns: the detail, or `(NULL, 0)`.
#[no_mangle]
pub extern "C" fn corsgate_decision_detail(decision: *const corsgate_decision) -> corsgate_slice {
    let empty = corsgate_slice {
        ptr: ptr::null(),
        len: 0,
    };
    ffi_panic_boundary!(empty, {
        if decision.is_null() {
            return empty;
        }
        // SAFETY: a decision written by corsgate_evaluate (or a copy).
        unsafe { corsgate_decision::detail(decision) }
    })
}

/// How many warnings the policy carries: things an accepted policy does
/// that its author should know (e.g. a `regex:` that also admits look-alike
/// registrable domains). Show them where the policy is configured (config
/// test, load log).
///
/// Ownership: nothing changes hands.
/// Lifetime: the count is fixed for the policy's life.
/// Thread safety: any thread.
/// NULL: returns 0.
/// Returns: the number of warnings (0 for none).
#[no_mangle]
pub extern "C" fn corsgate_policy_warning_count(policy: *const corsgate_policy) -> usize {
    ffi_panic_boundary!(0, {
        // SAFETY: NULL or a live policy.
        unsafe { policy.as_ref() }.map_or(0, |p| p.0.warnings().len())
    })
}

/// Copies warning `index` (from 0) of the policy as one line of text
/// (`field = "value": message`, no newline) into `message_out` (at most
/// `message_cap` bytes, not NUL-terminated) and stores its full length in
/// `*message_len_out`.
///
/// Ownership: the text is copied into the caller's buffer.
/// Lifetime: nothing is kept after the call.
/// Thread safety: any thread.
/// NULL: `message_out` may be NULL (only the length is stored), and
/// `message_len_out` may be NULL; a NULL policy returns false.
/// Returns: true when `index` < `corsgate_policy_warning_count(policy)`.
#[no_mangle]
pub extern "C" fn corsgate_policy_warning(
    policy: *const corsgate_policy,
    index: usize,
    message_out: *mut u8,
    message_cap: usize,
    message_len_out: *mut usize,
) -> bool {
    ffi_panic_boundary!(false, {
        // SAFETY: NULL or a live policy.
        let Some(warning) = (unsafe { policy.as_ref() }).and_then(|p| p.0.warnings().get(index))
        else {
            return false;
        };
        // SAFETY: as documented above.
        unsafe {
            write_message(
                &warning.to_string(),
                message_out,
                message_cap,
                message_len_out,
            )
        };
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(builder: *mut corsgate_builder, json: &str) -> corsgate_result {
        corsgate_builder_merge_json(
            builder,
            json.as_ptr(),
            json.len(),
            ptr::null_mut(),
            0,
            ptr::null_mut(),
        )
    }

    #[test]
    fn a_builder_is_unchanged_by_a_panic_mid_merge() {
        let mut builder = ptr::null_mut();
        assert_eq!(
            corsgate_builder_new(&mut builder),
            corsgate_result::CORSGATE_RESULT_OK
        );
        let first = r#"{"allow_origins": ["https://a.com"]}"#;
        assert_eq!(merge(builder, first), corsgate_result::CORSGATE_RESULT_OK);
        // SAFETY: a live builder from corsgate_builder_new.
        let before = unsafe { (*builder).0.clone() };
        PANIC_AFTER_MERGE.with(|p| p.set(true));
        let second = r#"{"allow_origins": ["https://b.com"], "max_age": 5}"#;
        let code = merge(builder, second);
        PANIC_AFTER_MERGE.with(|p| p.set(false));
        assert_eq!(code, corsgate_result::CORSGATE_RESULT_PANIC);
        // SAFETY: as above.
        assert_eq!(unsafe { &(*builder).0 }, &before, "half-merged builder");
        // And the same merge without the panic does change it.
        assert_eq!(merge(builder, second), corsgate_result::CORSGATE_RESULT_OK);
        // SAFETY: as above.
        assert_ne!(unsafe { &(*builder).0 }, &before);
        corsgate_builder_free(builder);
    }

    fn builder_with(fields: &[(&str, &[&str])]) -> *mut corsgate_builder {
        let mut builder = ptr::null_mut();
        assert_eq!(
            corsgate_builder_new(&mut builder),
            corsgate_result::CORSGATE_RESULT_OK
        );
        for (field, values) in fields {
            let values: Vec<corsgate_slice> = values
                .iter()
                .map(|v| corsgate_slice {
                    ptr: v.as_ptr(),
                    len: v.len(),
                })
                .collect();
            let code = corsgate_builder_set(
                builder,
                field.as_ptr(),
                field.len(),
                values.as_ptr(),
                values.len(),
            );
            assert_eq!(code, corsgate_result::CORSGATE_RESULT_OK);
        }
        builder
    }

    fn build(
        builder: *const corsgate_builder,
        base: *const corsgate_policy,
    ) -> *mut corsgate_policy {
        let mut policy = ptr::null_mut();
        let code = corsgate_builder_build_sharing(
            builder,
            base,
            &mut policy,
            ptr::null_mut(),
            0,
            ptr::null_mut(),
        );
        assert_eq!(code, corsgate_result::CORSGATE_RESULT_OK);
        policy
    }

    #[test]
    fn policies_with_the_same_origins_share_them() {
        let origins: &[&str] = &[
            "https://a.com",
            "https://*.b.com",
            "regex:https://c[0-9]\\.com",
        ];
        let parent = builder_with(&[("allow_origins", origins)]);
        let base = build(parent, ptr::null());
        let child = builder_with(&[("allow_origins", origins), ("max_age", &["60"])]);
        let other = builder_with(&[("allow_origins", &["https://a.com"]), ("max_age", &["60"])]);
        let shared = build(child, base);
        let unshared = build(other, base);
        // SAFETY: live policies from this library.
        unsafe {
            assert!(Arc::ptr_eq(&(*base).0.origins, &(*shared).0.origins));
            assert!(!Arc::ptr_eq(&(*base).0.origins, &(*unshared).0.origins));
            assert_eq!((*shared).0.max_age_value.as_deref(), Some(&b"60"[..]));
        }
        // The shared part outlives the policy it came from.
        corsgate_policy_release(base);
        let mut request = corsgate_request::empty();
        let origin = b"https://c7.com";
        // SAFETY: a request view on the stack; static bytes.
        unsafe {
            corsgate_request::add_header(
                &mut request,
                b"origin",
                corsgate_slice {
                    ptr: origin.as_ptr(),
                    len: origin.len(),
                },
            )
        };
        let mut decision = std::mem::MaybeUninit::<corsgate_decision>::uninit();
        let code = corsgate_evaluate(shared, &request, decision.as_mut_ptr());
        assert_eq!(code, corsgate_result::CORSGATE_RESULT_OK);
        // SAFETY: written whole by corsgate_evaluate.
        let decision = unsafe { decision.assume_init() };
        assert_eq!(decision.verdict, corsgate_verdict::CORSGATE_VERDICT_ALLOWED);
        for p in [shared, unshared] {
            corsgate_policy_release(p);
        }
        for b in [parent, child, other] {
            corsgate_builder_free(b);
        }
    }

    /// Every public field, header and the detail of a decision.
    fn summary(d: &corsgate_decision) -> String {
        let mut out = format!(
            "{:?} {:?} {:?} {:?} {} {} {} {}",
            d.verdict,
            d.kind,
            d.reason,
            d.action,
            d.status,
            d.strip_upstream,
            d.report_only,
            d.headers_len
        );
        let text = |s: corsgate_slice| {
            // SAFETY: slices from the decision's accessors.
            String::from_utf8_lossy(unsafe { s.as_bytes() }).into_owned()
        };
        let mut i = 0;
        let mut h = std::mem::MaybeUninit::<corsgate_header>::uninit();
        while corsgate_decision_header(d, i, h.as_mut_ptr()) == corsgate_result::CORSGATE_RESULT_OK
        {
            // SAFETY: written whole on OK.
            let h = unsafe { h.assume_init_ref() };
            out += &format!(" | {}: {} {:?}", text(h.name), text(h.value), h.op);
            i += 1;
        }
        out + &format!(" | detail {}", text(corsgate_decision_detail(d)))
    }

    /// Policies that take `corsgate_evaluate`'s direct path for actual
    /// requests (exact origins and subdomain wildcards), and some that do not.
    const DIRECT_PATH_POLICIES: [&str; 9] = [
        r#"{"allow_origins": ["https://a.com"]}"#,
        r#"{"allow_origins": ["https://a.com", "https://b.com", "https://*.c.com"]}"#,
        r#"{"allow_origins": ["https://a.com"], "allow_credentials": true,
            "expose_headers": ["x-a", "x-b"], "max_age": 60}"#,
        r#"{"allow_origins": ["https://a.com"], "mode": "report"}"#,
        r#"{"allow_origins": ["https://a.com"], "on_actual_deny": "reject", "debug": true}"#,
        r#"{"allow_origins": ["https://a.com", "https://*.c.com"], "debug": true,
            "expose_headers": ["x-a"], "allow_credentials": true}"#,
        r#"{"allow_origins": ["https://*.c.com"], "on_actual_deny": "reject",
            "mode": "report"}"#,
        r#"{"allow_origins": ["https://a.com", "*"], "allow_methods": ["*"]}"#,
        r#"{"allow_origins": ["https://x0.com", "https://x1.com", "https://x2.com",
            "https://x3.com", "https://a.com", "regex:https://r[0-9]\\.com",
            "http://*.c.com", "https://*.a.b.c.com", "http://*.x.org:8080"],
            "allow_headers": ["*"], "debug": true}"#,
    ];

    /// Asserts that `corsgate_evaluate` (which decides an actual request
    /// straight from the view when it can) writes the same decision as the
    /// core's evaluation written by the general `corsgate_decision::write`.
    fn assert_direct_is_general(
        json: &str,
        policy: &Policy,
        c_policy: *mut corsgate_policy,
        method: &str,
        lines: &[(&[u8], &str)],
    ) {
        let mut request = corsgate_request::empty();
        // SAFETY: a request view on the stack over bytes that outlive it.
        unsafe {
            corsgate_request::init(&mut request, method.as_ptr(), method.len());
            for (name, value) in lines {
                corsgate_request::add_header(
                    &mut request,
                    name,
                    corsgate_slice {
                        ptr: value.as_ptr(),
                        len: value.len(),
                    },
                );
            }
        }
        let mut fast = std::mem::MaybeUninit::<corsgate_decision>::uninit();
        let code = corsgate_evaluate(c_policy, &request, fast.as_mut_ptr());
        assert_eq!(code, corsgate_result::CORSGATE_RESULT_OK);
        // SAFETY: written whole by corsgate_evaluate.
        let fast = unsafe { fast.assume_init() };
        let mut general = std::mem::MaybeUninit::<corsgate_decision>::uninit();
        // SAFETY: the view's bytes outlive both decisions; a decision on the stack.
        let general = unsafe {
            let core = request.as_core();
            let d = policy.evaluate(&core);
            corsgate_decision::write(general.as_mut_ptr(), &core, &d, Some(&(*c_policy).1))
                .unwrap();
            general.assume_init()
        };
        assert_eq!(
            summary(&fast),
            summary(&general),
            "{json} {method} {lines:?}"
        );
    }

    #[test]
    fn the_allowed_actual_path_writes_what_the_general_path_writes() {
        for json in DIRECT_PATH_POLICIES {
            let policy = Policy::from_json(json.as_bytes()).unwrap();
            let c_policy = corsgate_policy::into_raw(Policy::from_json(json.as_bytes()).unwrap());
            for origin in [
                "https://a.com",
                "https://b.com",
                "https://x.c.com",
                "https://y.x.c.com",
                "http://x.c.com",
                "https://c.com",
                "https://e.com",
                "https://1.2.3.4",
                "https://E.com",
                "null",
                "https://a.com, https://b.com",
                "https://a.com:8443",
            ] {
                assert_direct_is_general(json, &policy, c_policy, "GET", &[(b"Origin", origin)]);
            }
            corsgate_policy_release(c_policy);
        }
    }

    /// Origins near the direct path's shapes: schemes, labels and ports that
    /// it must tell apart, in any case, with stray bytes.
    fn near_origin() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let scheme = prop::sample::select(vec![
            "https://", "http://", "HTTPS://", "Https://", "ftp://", "https:/", "", "null",
        ]);
        let label = prop::sample::select(vec![
            "a", "b", "c", "x", "r1", "x0", "xn--a", "-a", "a-", "A", "1", "0x1", "", "_", "ö",
            "%41", "a b",
        ]);
        let labels = prop::collection::vec(label, 0..5).prop_map(|l| l.join("."));
        let suffix = prop::sample::select(vec![
            "",
            ".com",
            ".c.com",
            "c.com",
            ".a.b.c.com",
            ".x.org",
            ".COM",
            ".com.",
            "..com",
        ]);
        let port = prop::sample::select(vec![
            "", ":443", ":80", ":8080", ":08080", ":", ":65536", ":x",
        ]);
        let tail = prop::sample::select(vec!["", "/", ".", " ", ",", "\t", "?", "#", "@a.com"]);
        (scheme, labels, suffix, port, tail).prop_map(|(s, l, x, p, t)| format!("{s}{l}{x}{p}{t}"))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]

        /// The direct path agrees with the general one on any origin, name
        /// spelling, method and repeated or missing `Origin` lines.
        #[test]
        fn the_direct_path_agrees_with_the_general_path(
            which in 0..DIRECT_PATH_POLICIES.len(),
            origin in near_origin(),
            second in proptest::option::of(near_origin()),
            name in proptest::sample::select(vec![&b"Origin"[..], b"origin", b"ORIGIN", b"0rigin"]),
            method in proptest::sample::select(vec!["GET", "POST", "get", "PUT", "OPTIONS"]),
        ) {
            let json = DIRECT_PATH_POLICIES[which];
            let policy = Policy::from_json(json.as_bytes()).unwrap();
            let c_policy = corsgate_policy::into_raw(Policy::from_json(json.as_bytes()).unwrap());
            let mut lines: Vec<(&[u8], &str)> = vec![(name, origin.as_str())];
            if let Some(second) = &second {
                lines.push((b"origin", second.as_str()));
            }
            assert_direct_is_general(json, &policy, c_policy, method, &lines);
            corsgate_policy_release(c_policy);
        }
    }

    #[test]
    fn a_policy_lives_until_its_last_release() {
        let json = br#"{"allow_origins": ["https://a.com"]}"#;
        let mut policy = ptr::null_mut();
        let code = corsgate_policy_from_json(
            json.as_ptr(),
            json.len(),
            &mut policy,
            ptr::null_mut(),
            0,
            ptr::null_mut(),
        );
        assert_eq!(code, corsgate_result::CORSGATE_RESULT_OK);
        let again = corsgate_policy_retain(policy);
        assert_eq!(again, policy);
        // SAFETY: a live policy from Arc::into_raw, two references held.
        let arc = unsafe { Arc::from_raw(policy.cast_const()) };
        assert_eq!(Arc::strong_count(&arc), 2);
        std::mem::forget(arc);
        corsgate_policy_release(policy);
        // SAFETY: one reference still held.
        let arc = unsafe { Arc::from_raw(again.cast_const()) };
        assert_eq!(Arc::strong_count(&arc), 1);
        drop(arc); // the last release
    }
}
