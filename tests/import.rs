//! `corsgate import`: real manifests per source (tests/import/*/*.yaml)
//! against their reviewed output (tests/import/expected/), exit codes,
//! stdin, unsafe sources refused, and hostile input.
//!
//! `CORSGATE_BLESS=1 cargo test --test import` rewrites the expected files
//! (review the diff before committing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/import")
}

fn corsgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corsgate"))
        .args(args)
        .output()
        .unwrap()
}

fn import_json(file: &Path) -> (i32, Vec<Value>) {
    let o = corsgate(&["import", file.to_str().unwrap(), "--format", "json"]);
    let text = String::from_utf8(o.stdout).unwrap();
    let doc: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", file.display()));
    (o.status.code().unwrap(), doc.as_array().unwrap().clone())
}

fn item<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no item {name} in {items:#?}"))
}

const MANIFESTS: &[(&str, i32)] = &[
    ("ingress-nginx/ingresses.yaml", 2),
    ("envoy/route-config.yaml", 2),
    ("envoy/bootstrap.yaml", 0),
    ("envoy/string-matchers.yaml", 2),
    ("gateway-api/routes.yaml", 2),
];

#[test]
fn manifests_convert_as_reviewed() {
    let bless = std::env::var_os("CORSGATE_BLESS").is_some();
    for (file, code) in MANIFESTS {
        let path = root().join(file);
        let (got_code, items) = import_json(&path);
        assert_eq!(got_code, *code, "{file}");
        let expected = root()
            .join("expected")
            .join(file.replace('/', "-").replace(".yaml", ".json"));
        let pretty = serde_json::to_string_pretty(&items).unwrap() + "\n";
        if bless {
            std::fs::create_dir_all(expected.parent().unwrap()).unwrap();
            std::fs::write(&expected, &pretty).unwrap();
        }
        let want = std::fs::read_to_string(&expected)
            .unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
        assert_eq!(pretty, want, "{file}: output changed");
        for i in &items {
            // Exactly one of policy and error; every policy compiles.
            let (policy, error) = (!i["policy"].is_null(), !i["error"].is_null());
            assert!(!(policy && error), "{i}");
            assert!(
                policy || error || !i["notes"].as_array().unwrap().is_empty(),
                "{i}"
            );
            if !i["policy"].is_null() {
                corsgate::Policy::from_json(i["policy"].to_string().as_bytes())
                    .unwrap_or_else(|e| panic!("{}: {e}", i["name"]));
            }
        }
    }
}

#[test]
fn unsafe_sources_are_refused_with_what_to_write() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "ingress-nginx/ingresses.yaml",
            "default/legacy",
            &[
                "http://legacy.example.com",
                "Write instead: \"https://legacy.example.com\"",
            ],
        ),
        (
            "ingress-nginx/ingresses.yaml",
            "default/previews",
            &["public suffix", "https://*.yourname.github.io"],
        ),
        (
            "envoy/route-config.yaml",
            "unsafe/any-regex",
            &[
                "safe_regex \".*\"",
                "https://attacker.example",
                "Write instead",
            ],
        ),
        (
            "envoy/route-config.yaml",
            "unsafe/plain-http",
            &["over plain http with credentials", "Write instead"],
        ),
        (
            "envoy/route-config.yaml",
            "unsafe/public-suffix",
            &["\"github.io\" is a public suffix"],
        ),
        (
            "envoy/string-matchers.yaml",
            "e/b",
            &[
                "prefix \"https://app.\"",
                "https://app.corsgate-probe.com",
                "Write instead",
            ],
        ),
        (
            "gateway-api/routes.yaml",
            "store/unsafe/rule-0",
            &["any origin, with credentials", "Write instead"],
        ),
        (
            "gateway-api/routes.yaml",
            "store/unsafe/rule-1",
            &["http://kiosk.store.example", "https://kiosk.store.example"],
        ),
        (
            "gateway-api/routes.yaml",
            "store/unsafe/rule-2",
            &["\"co.uk\" is a public suffix"],
        ),
        (
            "gateway-api/routes.yaml",
            "store/unsafe/rule-4",
            &["https://*", "any site can match"],
        ),
    ];
    for (file, name, needles) in cases {
        let (_, items) = import_json(&root().join(file));
        let i = item(&items, name);
        assert!(i["policy"].is_null(), "{name}: {i}");
        let error = i["error"].as_str().unwrap_or_else(|| panic!("{name}: {i}"));
        for needle in *needles {
            assert!(error.contains(needle), "{name}: {error:?} lacks {needle:?}");
        }
    }
}

#[test]
fn ingress_nginx_star_with_credentials_is_star_without() {
    let (_, items) = import_json(&root().join("ingress-nginx/ingresses.yaml"));
    let feed = item(&items, "default/public-feed");
    assert_eq!(feed["policy"]["allow_origins"], serde_json::json!(["*"]));
    assert!(feed["policy"].get("allow_credentials").is_none());
    let notes = feed["notes"].to_string();
    assert!(
        notes.contains("browsers refuse for credentialed requests"),
        "{notes}"
    );
    assert!(notes.contains("1728000 s capped to 86400 s"), "{notes}");
    // One-label wildcard stays one label (ingress-nginx's `[A-Za-z0-9\-]+`).
    let api = item(&items, "shop/api");
    assert_eq!(
        api["policy"]["allow_origins"][1],
        "regex:https://[a-z0-9-]+\\.shop\\.example\\.com"
    );
    let docs = item(&items, "default/docs");
    assert!(docs["notes"]
        .to_string()
        .contains("did you mean \\\"nginx.ingress.kubernetes.io/cors-allow-origin\\\""));
    // Objects without CORS (the Service, the plain Ingress) yield nothing.
    assert!(items
        .iter()
        .all(|i| i["name"] != "shop/api-svc" && i["name"] != "default/internal"));
}

#[test]
fn envoy_string_matchers_narrowed_with_notes() {
    let (_, items) = import_json(&root().join("envoy/route-config.yaml"));
    let partners = item(&items, "edge/partners");
    let notes = partners["notes"].to_string();
    assert!(notes.contains("https://evilpartner.example.org"), "{notes}");
    assert!(notes.contains("\\\"null\\\" origin"), "{notes}");
    let api = item(&items, "edge/api");
    assert_eq!(
        api["policy"]["allow_origins"],
        serde_json::json!(["https://app.example.com", "https://*.example.net"])
    );
    assert!(api["notes"].to_string().contains("http:// origins"));
    assert_eq!(item(&items, "edge/shadow")["policy"]["mode"], "report");
    assert_eq!(
        item(&items, "edge/api/uploads")["policy"]["on_preflight_deny"],
        "reject"
    );
}

#[test]
fn gateway_api_defaults_and_backend_filters() {
    let (_, items) = import_json(&root().join("gateway-api/routes.yaml"));
    assert!(items.iter().all(|i| i["name"] != "store/store-api/rule-0"));
    let r1 = item(&items, "store/store-api/rule-1");
    assert_eq!(r1["policy"]["allow_origins"][0], "https://store.example");
    let r3 = item(&items, "store/store-api/rule-3");
    assert_eq!(r3["policy"]["max_age"], 5);
    assert_eq!(r3["policy"]["allow_methods"], serde_json::json!(["*"]));
    assert_eq!(
        item(&items, "store/store-api/rule-2")["policy"],
        r1["policy"]
    );
}

#[test]
fn exit_codes_stdin_and_from() {
    // 0: exact; 1: notes only; 2: an object not converted.
    assert_eq!(import_json(&root().join("envoy/bootstrap.yaml")).0, 0);
    let notes_only = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec: {}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: b\n  annotations: {nginx.ingress.kubernetes.io/enable-cors: \"true\"}\n";
    let mut child = Command::new(env!("CARGO_BIN_EXE_corsgate"))
        .args(["import", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(notes_only.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let items: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["name"], "default/b");
    // --from names the kind; another kind is an error for that object.
    let path = root().join("gateway-api/routes.yaml");
    let o = corsgate(&["import", "--from", "envoy", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("is gateway-api configuration, but --from envoy was given"));
    let o = corsgate(&["import", "--from", "gateway-api", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    // Nothing to import at all; bad arguments.
    let o = corsgate(&[
        "import",
        root().join("hostile/empty.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        corsgate(&["import", "--from", "haproxy", "x.yaml"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(corsgate(&["import"]).status.code(), Some(2));
}

#[test]
fn hostile_input_is_an_error_per_object() {
    let (code, items) = import_json(&root().join("hostile/bomb.yaml"));
    assert_eq!(code, 2);
    assert!(items[0]["error"]
        .as_str()
        .unwrap()
        .contains("billion laughs"));
    assert!(!item(&items, "default/after-the-bomb")["policy"].is_null());

    let (code, items) = import_json(&root().join("hostile/not-yaml.yaml"));
    assert_eq!(code, 2);
    assert!(items[0]["error"].as_str().unwrap().contains("not YAML"));

    let (code, items) = import_json(&root().join("hostile/wrong-types.yaml"));
    assert_eq!(code, 2);
    assert_eq!(items.len(), 8, "{items:#?}");
    assert!(items
        .iter()
        .all(|i| i["policy"].is_null() && i["error"].is_string()));
    assert!(item(&items, "default/typo-kind (kind Ingres)")["error"]
        .as_str()
        .unwrap()
        .contains("did you mean kind Ingress?"));

    // 100 MB: refused before it is read, quickly.
    let dir = std::env::temp_dir().join(format!("corsgate-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let start = std::time::Instant::now();
    let o = corsgate(&["import", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger than 16 MiB"));
    assert!(start.elapsed().as_secs() < 20);
    // Not UTF-8; deeply nested.
    let bin = dir.join("bin.yaml");
    std::fs::write(&bin, b"kind: Ingress\nmetadata: {name: \xff\xfe}\n").unwrap();
    let o = corsgate(&["import", bin.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not UTF-8"));
    let deep = dir.join("deep.yaml");
    std::fs::write(&deep, "[".repeat(100) + &"]".repeat(100)).unwrap();
    let (code, items) = import_json(&deep);
    assert_eq!(code, 2);
    assert!(items[0]["error"]
        .as_str()
        .unwrap()
        .contains("nested deeper than 64"));
    // Unclosed and far deeper: the parser's own recursion limit, no crash.
    std::fs::write(&deep, "[".repeat(1_000_000)).unwrap();
    let (code, items) = import_json(&deep);
    assert_eq!(code, 2);
    assert!(items[0]["error"].as_str().unwrap().contains("not YAML"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn readme_migrating_examples_run_as_pasted() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("\n## Migrating\n")
        .expect("README has ## Migrating");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let dir = std::env::temp_dir().join(format!("corsgate-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rest = section;
    let mut examples = 0;
    while let Some(y) = rest.find("```yaml\n") {
        let body = &rest[y + 8..];
        let end = body.find("```\n").unwrap();
        let yaml = &body[..end];
        let after = &body[end..];
        let t = after
            .find("```text\n")
            .expect("a text block after each yaml block");
        let text = &after[t + 8..];
        let text_end = text.find("```\n").unwrap();
        let (command, expected) = text[..text_end].split_once('\n').unwrap();
        let file = command
            .strip_prefix("$ corsgate import ")
            .unwrap_or_else(|| panic!("unexpected command {command:?}"));
        std::fs::write(dir.join(file), yaml).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_corsgate"))
            .args(["import", file])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            expected,
            "README example {file}"
        );
        examples += 1;
        rest = &text[text_end..];
    }
    assert_eq!(examples, 3, "one example per source");
    std::fs::remove_dir_all(&dir).unwrap();
}
