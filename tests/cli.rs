//! The `corsgate` CLI: output, JSON format and exit codes.

use std::process::{Command, Output};

use serde_json::Value;

const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/policy.json");

fn corsgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corsgate"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn allowed_preflight_text() {
    let o = corsgate(&[
        "check",
        "--policy",
        POLICY,
        "--origin",
        "https://app.example.com",
        "--request-method",
        "PUT",
        "--request-headers",
        "content-type",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("verdict: allowed"), "{text}");
    assert!(text.contains("kind:    preflight"), "{text}");
    assert!(text.contains("respond 204"), "{text}");
    assert!(
        text.contains("  access-control-allow-methods: GET, POST, PUT, DELETE"),
        "{text}"
    );
    assert!(text.contains("  access-control-max-age: 600"), "{text}");
}

#[test]
fn denied_header_json_exit_1() {
    let o = corsgate(&[
        "check",
        "--policy",
        POLICY,
        "--origin",
        "https://app.example.com",
        "--request-method",
        "PUT",
        "--request-headers",
        "content-type",
        "--request-headers",
        "x-secret",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["verdict"], "denied");
    assert_eq!(doc["reason"], "header-not-allowed");
    assert_eq!(doc["detail"], "x-secret");
    assert_eq!(doc["status"], 403);
    assert_eq!(
        doc["headers"],
        serde_json::json!([[
            "vary",
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        ]])
    );
}

#[test]
fn not_cors_exit_0() {
    let o = corsgate(&["check", "--policy", POLICY, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["verdict"], "not-cors");
    assert_eq!(doc["headers"], serde_json::json!([["vary", "Origin"]]));
}

#[test]
fn suffix_attack_denied() {
    let o = corsgate(&[
        "check",
        "--policy",
        POLICY,
        "--origin",
        "https://evilexample.com",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("reason:  origin-not-allowed (https://evilexample.com)"));
}

#[test]
fn bad_policy_exit_2_with_every_error() {
    let dir = std::env::temp_dir().join(format!("corsgate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(
        &path,
        r#"{"allow_origins":["https://a.com:443","*"],"allow_credentials":true,"alow_methods":[]}"#,
    )
    .unwrap();
    let path = path.to_str().unwrap();
    for args in [
        vec!["lint", path],
        vec!["check", "--policy", path, "--origin", "https://a.com"],
    ] {
        let o = corsgate(&args);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("alow_methods: unknown field; did you mean \"allow_methods\"?"),
            "{err}"
        );
        assert!(
            err.contains("allow_origins[0] = \"https://a.com:443\""),
            "{err}"
        );
        assert!(err.contains("write \"https://a.com\""), "{err}");
        assert!(err.contains("allow_origins[1] = \"*\""), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lint_explains() {
    let o = corsgate(&["lint", POLICY]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("valid policy"), "{text}");
    assert!(
        text.contains("any subdomain of example.com (not example.com itself)"),
        "{text}"
    );
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["check"][..],
        &["check", "--policy"],
        &["frobnicate"],
        &["check", "--policy", POLICY, "--format", "xml"],
    ] {
        assert_eq!(corsgate(args).status.code(), Some(2), "{args:?}");
    }
}

/// Issue 12 item 2: lint judges what a pattern can match. Each of these is
/// refused with credentials (exit 2, the reason named); the look-alike
/// regex is accepted with a warning.
#[test]
fn lint_judges_patterns_by_what_they_match() {
    let dir = std::env::temp_dir().join(format!("corsgate-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, origin: &str| {
        let path = dir.join(name);
        let doc = serde_json::json!({"allow_origins": [origin], "allow_credentials": true});
        std::fs::write(&path, doc.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    };
    for (i, (origin, needle)) in [
        ("regex:.*", "like \"*\""),
        ("regex:https?://.*", "like \"*\""),
        (r"regex:https://[a-z0-9.-]+\.com", "e.g. \"https://x.com\""),
        (
            r"regex:http://app\.example\.com",
            "\"http://app.example.com\"",
        ),
        ("https://*.amazonaws.com", "at or below \"amazonaws.com\""),
        (
            "https://*.kawasaki.jp",
            "\"example.kawasaki.jp\" is a public suffix",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let o = corsgate(&["lint", &write(&format!("bad{i}.json"), origin)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{origin}: {err}");
        assert!(
            err.contains("allow_origins[0]") && err.contains(needle),
            "{origin}: {err}"
        );
    }
    let o = corsgate(&["lint", &write("warn.json", "regex:https://app.example.com")]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    let warning = text
        .lines()
        .find(|l| l.starts_with("warning: "))
        .unwrap_or_default();
    assert!(
        warning.contains("look-alike") && warning.contains("\"https://appxexample.com\""),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
