//! C ABI calls the C tests do not cover: `corsgate_field_check`.

use corsgate::ffi::{corsgate_field_check, corsgate_result, corsgate_slice};

fn check(field: &str, values: &[&[u8]]) -> (corsgate_result, String) {
    let slices: Vec<corsgate_slice> = values
        .iter()
        .map(|v| corsgate_slice {
            ptr: v.as_ptr(),
            len: v.len(),
        })
        .collect();
    let mut message = [0u8; 512];
    let mut len = 0usize;
    let rc = corsgate_field_check(
        field.as_ptr(),
        field.len(),
        slices.as_ptr(),
        slices.len(),
        message.as_mut_ptr(),
        message.len(),
        &mut len,
    );
    (
        rc,
        String::from_utf8_lossy(&message[..len.min(message.len())]).into_owned(),
    )
}

#[test]
fn field_check_reports_one_field() {
    use corsgate_result::*;
    assert_eq!(
        check("allow_origins", &[b"https://a.com", b"http://localhost:*"]),
        (CORSGATE_RESULT_OK, String::new())
    );
    let (rc, message) = check("allow_origins", &[b"https://a.com", b"https://b.com:443"]);
    assert_eq!(rc, CORSGATE_RESULT_INVALID_POLICY);
    assert!(
        message.starts_with("allow_origins[1] = \"https://b.com:443\""),
        "{message}"
    );
    assert_eq!(check("allow_credentials", &[b"on"]).0, CORSGATE_RESULT_OK);
    assert_eq!(check("max_age", &[b"600"]).0, CORSGATE_RESULT_OK);
    assert_eq!(
        check("max_age", &[b"86401"]).0,
        CORSGATE_RESULT_INVALID_POLICY
    );
    assert_eq!(
        check("alow_methods", &[b"GET"]),
        (
            CORSGATE_RESULT_UNKNOWN_FIELD,
            "alow_methods: unknown policy field".into()
        )
    );
    assert_eq!(
        check("allow_methods", &[b"\xff"]),
        (
            CORSGATE_RESULT_INVALID_TEXT,
            "allow_methods: value is not UTF-8".into()
        )
    );
    let rc = corsgate_field_check(
        std::ptr::null(),
        3,
        std::ptr::null(),
        0,
        std::ptr::null_mut(),
        0,
        std::ptr::null_mut(),
    );
    assert_eq!(rc, CORSGATE_RESULT_NULL_PARAMETER);
}

/// A policy document starting with a UTF-8 byte order mark loads through
/// the C ABI (issue 12 item 6); on old main: INVALID_JSON "expected value
/// at line 1 column 1".
#[test]
fn policy_with_bom_loads() {
    use corsgate::ffi::{corsgate_policy_free, corsgate_policy_from_json};
    let json = b"\xEF\xBB\xBF{\"allow_origins\":[\"https://a.com\"]}";
    let mut policy = std::ptr::null_mut();
    let mut message = [0u8; 256];
    let mut len = 0usize;
    let rc = corsgate_policy_from_json(
        json.as_ptr(),
        json.len(),
        &mut policy,
        message.as_mut_ptr(),
        message.len(),
        &mut len,
    );
    assert_eq!(
        rc,
        corsgate_result::CORSGATE_RESULT_OK,
        "{}",
        String::from_utf8_lossy(&message[..len.min(message.len())])
    );
    assert!(!policy.is_null());
    corsgate_policy_free(policy);
}
