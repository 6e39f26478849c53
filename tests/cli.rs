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

/// A policy file starting with a UTF-8 byte order mark is read (issue 12
/// item 6); on old main it failed "expected value at line 1 column 1".
#[test]
fn policy_file_with_bom() {
    let dir = std::env::temp_dir().join(format!("corsgate-cli-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bom.json");
    std::fs::write(
        &path,
        b"\xEF\xBB\xBF{\"allow_origins\":[\"https://a.com\"]}\n",
    )
    .unwrap();
    let o = corsgate(&["lint", path.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
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

/// Runs a README example as pasted: the JSON block after "For this
/// `FILE`:" saved as FILE, then the command of the next text block (after
/// `$ corsgate `), whose output must be the rest of that block.
fn readme_example(file: &str, args: &[&str], exit: i32) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (_, rest) = readme
        .split_once(&format!("For this `{file}`:\n\n```json\n"))
        .unwrap_or_else(|| panic!("README shows {file}"));
    let (policy, rest) = rest.split_once("```\n").unwrap();
    let command = format!("```text\n$ corsgate {}\n", args.join(" "));
    let (_, rest) = rest
        .split_once(&command)
        .unwrap_or_else(|| panic!("README runs {command}"));
    let (shown, _) = rest.split_once("```\n").unwrap();
    let dir = std::env::temp_dir().join(format!("corsgate-readme-{file}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), policy).unwrap();
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.trim_matches('"').to_owned())
        .collect();
    let o = Command::new(env!("CARGO_BIN_EXE_corsgate"))
        .args(&argv)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(exit));
    let printed = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert_eq!(printed, shown);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// README "The policy": the `origins.json` example, linted as pasted,
/// prints exactly what the README shows (issue 12 items 4 and 5).
#[test]
fn readme_policy_rules_example() {
    readme_example("origins.json", &["lint", "origins.json"], 2);
}

/// README "The policy": a credentialed `*` echoes the requested method and
/// names (issue 13).
#[test]
fn readme_credentialed_star_example() {
    readme_example(
        "api.json",
        &[
            "check",
            "--policy",
            "api.json",
            "--origin",
            "https://app.example.com",
            "--request-method",
            "PATCH",
            "--request-headers",
            "\"x-request-id, x-trace\"",
        ],
        0,
    );
}
