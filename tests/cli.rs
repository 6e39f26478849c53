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

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corsgate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Issue 16: `diff` exit codes and JSON; `audit` in words.
#[test]
fn diff_and_audit() {
    let dir = temp_dir("diff");
    let write = |name: &str, doc: serde_json::Value| {
        let path = dir.join(name);
        std::fs::write(&path, doc.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    };
    let old = write(
        "old.json",
        serde_json::json!({"allow_origins": ["https://app.example.com"]}),
    );
    let wide = write(
        "wide.json",
        serde_json::json!({"allow_origins": ["https://*.example.com"], "allow_credentials": true}),
    );
    let same = write(
        "same.json",
        serde_json::json!({"allow_origins": ["regex:https://app\\.example\\.com", "https://app.example.com"]}),
    );
    let o = corsgate(&["diff", &old, &wide, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["widened"], true);
    assert_eq!(
        doc["origins"]["admitted"][0]["example"],
        "https://x.example.com"
    );
    assert_eq!(doc["changes"][0]["field"], "allow_credentials");
    let o = corsgate(&["diff", &wide, &old]);
    assert_eq!(o.status.code(), Some(0), "narrowing is not widening");
    assert!(stdout(&o).contains("- origin no longer allowed, e.g. https://x.example.com"));
    let o = corsgate(&["diff", &old, &same]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("no change"), "{}", stdout(&o));
    let bad = write(
        "bad.json",
        serde_json::json!({"allow_origins": ["https://a.com:443"]}),
    );
    assert_eq!(corsgate(&["diff", &old, &bad]).status.code(), Some(2));
    assert_eq!(corsgate(&["diff", &old]).status.code(), Some(2));
    let o = corsgate(&["audit", &wide]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(
        text.contains("any subdomain of example.com, any depth"),
        "{text}"
    );
    assert!(text.contains("credentials: yes"), "{text}");
    let risky = write(
        "risky.json",
        serde_json::json!({"allow_origins": ["https://*.amazonaws.com", "regex:https://app.example.com"], "max_age": 86400}),
    );
    let o = corsgate(&["audit", &risky, "--format", "json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        doc["origins"][0]["risks"][0]
            .as_str()
            .unwrap()
            .contains("public suffix"),
        "{doc}"
    );
    assert!(
        doc["origins"][1]["risks"][0]
            .as_str()
            .unwrap()
            .contains("look-alike"),
        "{doc}"
    );
    assert!(doc["notes"][0].as_str().unwrap().contains("7200"), "{doc}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's CI step, run as pasted: it fails a change that widens
/// access and passes one that does not.
#[test]
fn readme_ci_step_as_pasted() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("## Reviewing policy changes").nth(1).unwrap();
    let snippet = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let dir = temp_dir("ci");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_corsgate"))
        .parent()
        .unwrap();
    let run = |before: &str, after: &str| {
        std::fs::write(dir.join("policy-before.json"), before).unwrap();
        std::fs::write(dir.join("policy.json"), after).unwrap();
        Command::new("bash")
            .args(["-c", snippet])
            .current_dir(&dir)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap()
    };
    let narrow = r#"{"allow_origins": ["https://app.example.com"]}"#;
    let wide = r#"{"allow_origins": ["https://app.example.com", "https://*.example.org"]}"#;
    let o = run(narrow, wide);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("\"widened\":true"), "{}", stdout(&o));
    assert_eq!(run(wide, narrow).status.code(), Some(0));
    assert_eq!(run(narrow, narrow).status.code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The hostile-policy figures quoted in the README (run with
/// `cargo test --release --test cli review_figures -- --ignored --nocapture`
/// to write the policies and print the timing commands' output).
#[test]
#[ignore = "writes large files and measures with /usr/bin/time: figures for the README"]
fn review_figures() {
    let dir = temp_dir("figures");
    let write = |name: &str, list: Vec<String>| {
        let path = dir.join(name);
        std::fs::write(
            &path,
            serde_json::json!({ "allow_origins": list }).to_string(),
        )
        .unwrap();
        path.to_string_lossy().into_owned()
    };
    let exact = |r: std::ops::Range<u32>| {
        r.map(|i| format!("https://o{i}.example.com"))
            .collect::<Vec<_>>()
    };
    let wild = |r: std::ops::Range<u32>| {
        r.map(|i| format!("https://*.d{i}.example.com"))
            .collect::<Vec<_>>()
    };
    // 100,000 entries, the most allow_origins may list: one removed, a
    // wildcard added.
    let mut new_exact = exact(1..100_000);
    new_exact.push("https://*.example.org".into());
    let pairs = [
        (
            write("e-old.json", exact(0..100_000)),
            write("e-new.json", new_exact),
        ),
        (
            // 10,000 subdomain wildcards, the most a policy lists.
            write("w-old.json", wild(0..10_000)),
            write("w-new.json", wild(1..10_001)),
        ),
        (
            // the worst accepted regex (tests/proptest_limits.rs).
            write("r.json", vec!["regex:h[a-z0-9._-]*.{7}x.{7}|[a-z]*".into()]),
            dir.join("e-old.json").to_string_lossy().into_owned(),
        ),
    ];
    for (a, b) in &pairs {
        let o = Command::new("/usr/bin/time")
            .args([
                "-f",
                "%e s, %M KB max RSS",
                env!("CARGO_BIN_EXE_corsgate"),
                "diff",
                a,
                b,
            ])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        let figure = err.lines().last().unwrap_or_default();
        println!("diff {a} {b}: {figure}");
    }
}

/// The README's look-alike warning example, run as pasted: each `$ `
/// line is a command, what follows it up to the next is its output.
#[test]
fn readme_lookalike_warning_as_pasted() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("```text\n")
        .find(|b| {
            b.starts_with("$ echo '{\"allow_origins\": [\"regex:https://app.example.com\"]}'")
        })
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let dir = temp_dir("readme-lint");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_corsgate"))
        .parent()
        .unwrap();
    let mut script = String::new();
    let mut expected = String::new();
    for line in block.lines() {
        match line.strip_prefix("$ ") {
            Some(cmd) => script.push_str(&format!("{cmd}\n")),
            None => expected.push_str(&format!("{line}\n")),
        }
    }
    let o = Command::new("bash")
        .args(["-c", &script])
        .current_dir(&dir)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    assert_eq!(stdout(&o), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}
