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

/// Policy warnings through the C ABI (issue 12 item 2): a regex whose
/// unescaped dots admit look-alike registrable domains loads, with one
/// warning naming an example.
#[test]
fn policy_warnings() {
    use corsgate::ffi::{
        corsgate_policy_free, corsgate_policy_from_json, corsgate_policy_warning,
        corsgate_policy_warning_count,
    };
    let load = |json: &str| {
        let mut policy = std::ptr::null_mut();
        let rc = corsgate_policy_from_json(
            json.as_ptr(),
            json.len(),
            &mut policy,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
        );
        (rc, policy)
    };
    let (rc, policy) =
        load(r#"{"allow_origins": ["regex:https://app.example.com"], "allow_credentials": true}"#);
    assert_eq!(rc, corsgate_result::CORSGATE_RESULT_OK);
    assert_eq!(corsgate_policy_warning_count(policy), 1);
    let mut buf = [0u8; 1024];
    let mut len = 0usize;
    assert!(corsgate_policy_warning(
        policy,
        0,
        buf.as_mut_ptr(),
        buf.len(),
        &mut len
    ));
    let text = std::str::from_utf8(&buf[..len]).unwrap();
    assert!(
        text.starts_with("allow_origins[0] = \"regex:https://app.example.com\": "),
        "{text}"
    );
    assert!(text.contains("\"https://appxexample.com\""), "{text}");
    // Truncated copy, full length reported; out of range; NULLs.
    let mut small = [0u8; 8];
    let mut full = 0usize;
    assert!(corsgate_policy_warning(
        policy,
        0,
        small.as_mut_ptr(),
        8,
        &mut full
    ));
    assert_eq!((full, &small[..]), (len, &buf[..8]));
    assert!(!corsgate_policy_warning(
        policy,
        1,
        buf.as_mut_ptr(),
        buf.len(),
        &mut len
    ));
    assert!(corsgate_policy_warning(
        policy,
        0,
        std::ptr::null_mut(),
        0,
        std::ptr::null_mut()
    ));
    assert_eq!(corsgate_policy_warning_count(std::ptr::null()), 0);
    assert!(!corsgate_policy_warning(
        std::ptr::null(),
        0,
        buf.as_mut_ptr(),
        1,
        &mut len
    ));
    corsgate_policy_free(policy);

    for origin in [
        "regex:.*",
        "regex:https?://.*",
        r"regex:https://[a-z0-9.-]+\\.com",
        r"regex:http://app\\.example\\.com",
        "https://*.amazonaws.com",
        "https://*.kawasaki.jp",
    ] {
        let json = format!(r#"{{"allow_origins": ["{origin}"], "allow_credentials": true}}"#);
        assert_eq!(
            load(&json).0,
            corsgate_result::CORSGATE_RESULT_INVALID_POLICY,
            "{origin}"
        );
        let json = format!(r#"{{"allow_origins": ["{origin}"]}}"#);
        let (rc, policy) = load(&json);
        assert_eq!(rc, corsgate_result::CORSGATE_RESULT_OK, "{origin}");
        corsgate_policy_free(policy);
    }
}
