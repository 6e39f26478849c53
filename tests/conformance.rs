//! Replays the outside suites of tests/conformance (jub0bs/cors, rs/cors,
//! WPT) through the Rust API and judges corsgate against their expectations
//! with the rules of tests/conformance/README.md (the Python twin,
//! tests/conformance/conformance.py, judges the C, nginx and Envoy replays
//! the same way). Fails on any difference that tests/conformance/
//! differences.json does not list, and on any listed row that no longer
//! occurs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use corsgate::{Action, Policy, Request};
use serde_json::Value;

const SUITES: [&str; 3] = ["jub0bs-cors", "rs-cors", "wpt"];
const CORS_HEADERS: [&str; 6] = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
];
const SAFELISTED_METHODS: [&str; 3] = ["GET", "HEAD", "POST"];
const SAFELISTED_RESPONSE: [&str; 7] = [
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
];

const NO_EQUIVALENT: &str = "no-equivalent: corsgate has no such feature";

/// What differs: each problem's leading word (`status`, a header name,
/// `vary`, `ok`, `exposes`, `respond`, `accepted`, `refused`,
/// `no-equivalent`); a row of differences.json names them in "facets".
fn facets(problems: &[String]) -> BTreeSet<&str> {
    problems
        .iter()
        .map(|p| p.split_once(':').map_or(p.as_str(), |(f, _)| f))
        .collect()
}

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn read(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn id(parts: &[Option<&str>]) -> String {
    parts
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// A comma list's non-empty elements, trimmed of spaces and tabs.
fn elements(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(|e| e.trim_matches([' ', '\t']).to_owned())
        .filter(|e| !e.is_empty())
        .collect()
}

fn lower_set(value: Option<&str>) -> BTreeSet<String> {
    elements(value)
        .iter()
        .map(|e| e.to_ascii_lowercase())
        .collect()
}

fn method_admitted(acam: Option<&str>, method: &str, credentials: bool) -> bool {
    let allowed = elements(acam);
    SAFELISTED_METHODS.contains(&method)
        || allowed.iter().any(|m| m == method)
        || (!credentials && allowed.iter().any(|m| m == "*"))
}

fn headers_admitted(acah: Option<&str>, names: &[String], credentials: bool) -> bool {
    let allowed = lower_set(acah);
    names.iter().all(|n| {
        allowed.contains(n) || (!credentials && allowed.contains("*") && n != "authorization")
    })
}

/// What corsgate did for one request.
struct Observed {
    respond: bool,
    status: u16,
    headers: BTreeMap<String, String>,
    vary: BTreeSet<String>,
}

struct Case<'a> {
    method: &'a str,
    lines: Vec<(&'a str, &'a str)>,
    expect: &'a Value,
}

impl Case<'_> {
    fn line(&self, name: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .collect()
    }
    fn requested_method(&self) -> Option<&str> {
        match self.line("access-control-request-method")[..] {
            [m] => Some(m),
            _ => None,
        }
    }
    fn requested_headers(&self) -> Vec<String> {
        self.line("access-control-request-headers")
            .into_iter()
            .flat_map(|v| elements(Some(v)))
            .map(|e| e.to_ascii_lowercase())
            .collect()
    }
    fn is_preflight(&self) -> bool {
        self.method == "OPTIONS" && self.requested_method().is_some()
    }
}

fn observe(policy: &Policy, case: &Case) -> Observed {
    let mut request = Request::new(case.method.as_bytes());
    for (n, v) in &case.lines {
        request.add_header(n.as_bytes(), v.as_bytes());
    }
    let d = policy.evaluate(&request);
    let mut headers = BTreeMap::new();
    let mut vary = BTreeSet::new();
    for h in d.headers() {
        let value = String::from_utf8_lossy(h.value).into_owned();
        if h.name == "vary" {
            vary.extend(lower_set(Some(&value)));
        } else {
            headers.insert(h.name.to_owned(), value);
        }
    }
    Observed {
        respond: d.action == Action::Respond,
        status: d.status,
        headers,
        vary,
    }
}

fn browser(case: &Case, got: &Observed, want: &Value) -> Vec<String> {
    let cred = want["credentials"].as_bool().unwrap_or(false);
    let h = |n: &str| got.headers.get(n).map(String::as_str);
    let mut problems = Vec::new();
    if let Some(want_ok) = want["ok"].as_bool() {
        let origin = case.line("origin").first().copied();
        let mut ok = match (h("access-control-allow-origin"), origin) {
            (Some("*"), Some(_)) if !cred => true,
            (Some(acao), Some(o)) if acao == o => {
                !cred || h("access-control-allow-credentials") == Some("true")
            }
            _ => false,
        };
        if case.is_preflight() {
            let status = if got.respond { got.status } else { 200 };
            ok = ok
                && (200..=299).contains(&status)
                && method_admitted(
                    h("access-control-allow-methods"),
                    case.requested_method().unwrap(),
                    cred,
                )
                && headers_admitted(
                    h("access-control-allow-headers"),
                    &case.requested_headers(),
                    cred,
                );
        }
        if ok != want_ok {
            problems.push(format!(
                "ok: corsgate gives {ok}, the suite expects {want_ok}"
            ));
        }
    }
    if let Some(exposes) = want["exposes"].as_object() {
        let listed = lower_set(h("access-control-expose-headers"));
        for (name, want_exposed) in exposes {
            let n = name.to_ascii_lowercase();
            let got_exposed = n != "set-cookie"
                && n != "set-cookie2"
                && (SAFELISTED_RESPONSE.contains(&n.as_str())
                    || listed.contains(&n)
                    || (!cred && listed.contains("*")));
            if Some(got_exposed) != want_exposed.as_bool() {
                problems.push(format!(
                    "exposes: {name}: corsgate gives {got_exposed}, the suite expects {want_exposed}"
                ));
            }
        }
    }
    problems
}

fn compare(case: &Case, got: &Observed) -> Vec<String> {
    let e = case.expect;
    if let Some(want) = e.get("browser") {
        return browser(case, got, want);
    }
    let mut problems = Vec::new();
    if let Some(respond) = e["respond"].as_bool() {
        if got.respond != respond {
            problems.push(if got.respond {
                "respond: corsgate answers itself".to_owned()
            } else {
                "respond: corsgate lets the upstream answer".to_owned()
            });
        } else if let Some(status) = e["status"].as_u64() {
            if got.respond && u64::from(got.status) != status {
                problems.push(format!(
                    "status: {}, the suite expects {status}",
                    got.status
                ));
            }
        }
    }
    let want: BTreeMap<String, &str> = e["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    let names = case.requested_headers();
    let want_cred = want.get("access-control-allow-credentials") == Some(&"true");
    let got_cred = got
        .headers
        .get("access-control-allow-credentials")
        .is_some_and(|v| v == "true");
    for n in CORS_HEADERS {
        let w = want.get(n).copied();
        let g = got.headers.get(n).map(String::as_str);
        let differs = match n {
            "access-control-allow-methods" if case.is_preflight() => {
                let m = case.requested_method().unwrap();
                method_admitted(w, m, want_cred) != method_admitted(g, m, got_cred)
            }
            "access-control-allow-headers" if case.is_preflight() => {
                headers_admitted(w, &names, want_cred) != headers_admitted(g, &names, got_cred)
            }
            "access-control-expose-headers" => {
                w.map(|v| lower_set(Some(v))) != g.map(|v| lower_set(Some(v)))
            }
            _ => w != g,
        };
        if differs {
            problems.push(format!("{n}: {g:?}, the suite expects {w:?}"));
        }
    }
    let missing: Vec<String> = e["vary"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t.as_str().unwrap().to_ascii_lowercase())
        .filter(|t| !got.vary.contains(t))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("vary: lacks {missing:?}"));
    }
    problems
}

/// Every case of every suite: (suite, case id) -> problems.
fn results() -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for suite in SUITES {
        let doc = read(&format!("{suite}.json"));
        for c in doc["configs"].as_array().into_iter().flatten() {
            let key = (
                suite.to_owned(),
                id(&[c["test"].as_str(), c["name"].as_str()]),
            );
            let problems = if c["policy"].is_null() {
                vec![NO_EQUIVALENT.to_owned()]
            } else {
                let accepted = Policy::from_json(c["policy"].to_string().as_bytes());
                match (accepted, c["accepted"].as_bool().unwrap()) {
                    (Ok(_), true) | (Err(_), false) => vec![],
                    (Ok(_), false) => {
                        vec![
                            "accepted: corsgate accepts the policy, the suite refuses it"
                                .to_owned(),
                        ]
                    }
                    (Err(e), true) => vec![format!(
                        "refused: corsgate refuses the policy ({}), the suite accepts it",
                        e.to_string().trim()
                    )],
                }
            };
            assert!(out.insert(key.clone(), problems).is_none(), "{key:?} twice");
        }
        for g in doc["groups"].as_array().unwrap() {
            let policy = if g["policy"].is_null() {
                Err(NO_EQUIVALENT.to_owned())
            } else {
                Policy::from_json(g["policy"].to_string().as_bytes()).map_err(|e| {
                    format!(
                        "refused: corsgate refuses the policy: {}",
                        e.to_string().trim()
                    )
                })
            };
            for c in g["cases"].as_array().unwrap() {
                let key = (
                    suite.to_owned(),
                    id(&[g["test"].as_str(), g["group"].as_str(), c["name"].as_str()]),
                );
                let case = Case {
                    method: c["request"]["method"].as_str().unwrap(),
                    lines: c["request"]["headers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
                        .collect(),
                    expect: &c["expect"],
                };
                let problems = match &policy {
                    Ok(p) => compare(&case, &observe(p, &case)),
                    Err(e) => vec![e.clone()],
                };
                assert!(out.insert(key.clone(), problems).is_none(), "{key:?} twice");
            }
        }
    }
    out
}

/// `*` in a row's case matches any run of characters, `\*` is a literal
/// `*` (WPT names contain some); nothing else is special.
fn glob(pattern: &str, text: &str) -> bool {
    if let Some(rest) = pattern.strip_prefix("\\*") {
        return text.strip_prefix('*').is_some_and(|t| glob(rest, t));
    }
    match pattern.chars().next() {
        None => text.is_empty(),
        Some('*') => {
            let rest = &pattern[1..];
            text.char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .any(|i| glob(rest, &text[i..]))
        }
        Some(c) => text
            .strip_prefix(c)
            .is_some_and(|t| glob(&pattern[c.len_utf8()..], t)),
    }
}

#[test]
fn outside_suites_agree_but_for_listed_differences() {
    let results = results();
    assert!(results.len() >= 300, "only {} cases", results.len());
    let rows = read("differences.json");
    let rows = rows.as_array().unwrap();
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for row in rows {
        let (suite, case) = (
            row["suite"].as_str().unwrap(),
            row["case"].as_str().unwrap(),
        );
        for field in ["difference", "reason"] {
            assert!(
                row[field].as_str().is_some_and(|s| !s.trim().is_empty()),
                "differences.json: {suite} {case}: no {field}"
            );
        }
        if suite == "gateway-api" {
            continue; // replayed by the import helper's tests
        }
        if let Some(surfaces) = row["surfaces"].as_array() {
            if !surfaces.iter().any(|s| s == "rust") {
                continue; // a difference of another surface (its transport)
            }
        }
        let matched: Vec<_> = results
            .iter()
            .filter(|((s, id), _)| s == suite && glob(case, id))
            .collect();
        if matched.is_empty() {
            failures.push(format!("{suite}: {case}: listed but no such case"));
        }
        let row_facets: BTreeSet<&str> = row["facets"]
            .as_array()
            .unwrap_or_else(|| panic!("differences.json: {suite} {case}: no facets"))
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        for ((s, id), problems) in matched {
            covered.insert((s.clone(), id.clone()));
            if problems.is_empty() {
                failures.push(format!(
                    "{s}: {id}: listed in differences.json ({case}) but corsgate now agrees: remove or narrow the row"
                ));
            } else if facets(problems) != row_facets {
                failures.push(format!(
                    "{s}: {id}: differs in {:?}, the row of differences.json ({case}) says {row_facets:?}: {}",
                    facets(problems),
                    problems.join("; ")
                ));
            }
        }
    }
    for (key, problems) in &results {
        if !problems.is_empty() && !covered.contains(key) {
            failures.push(format!(
                "{}: {}: unlisted difference: {}",
                key.0,
                key.1,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

#[test]
fn glob_stars_and_literal_stars() {
    assert!(glob(
        "TestMiddleware/passthrough/*",
        "TestMiddleware/passthrough/x"
    ));
    assert!(!glob(
        "TestMiddleware/passthrough/*",
        "TestMiddleware/credentialed/x"
    ));
    assert!(glob("a (allowed: \\*)", "a (allowed: *)"));
    assert!(!glob("a (allowed: \\*)", "a (allowed: get)"));
    assert!(glob("status 4*", "status 404/preflight"));
    assert!(glob("é*", "éà"));
}

/// The config cases through `corsgate lint`: it accepts exactly what the
/// library accepts (the library's verdicts are judged above), so the CLI
/// users vet policies with tells them the same.
#[test]
fn config_cases_through_lint() {
    let dir = std::env::temp_dir().join(format!("corsgate-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for suite in SUITES {
        let doc = read(&format!("{suite}.json"));
        for c in doc["configs"].as_array().into_iter().flatten() {
            if c["policy"].is_null() {
                continue;
            }
            count += 1;
            let path = dir.join(format!("{suite}-{count}.json"));
            std::fs::write(&path, c["policy"].to_string()).unwrap();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_corsgate"))
                .arg("lint")
                .arg(&path)
                .output()
                .unwrap();
            let library = Policy::from_json(c["policy"].to_string().as_bytes()).is_ok();
            // 2 is "bad policy"; 0 valid (1 is left to a valid policy
            // with warnings, should lint ever say so by its exit code).
            let lint = match out.status.code() {
                Some(0 | 1) => true,
                Some(2) => false,
                other => panic!("corsgate lint {}: exit {other:?}", path.display()),
            };
            if lint != library {
                failures.push(format!(
                    "{suite}: {}/{}: lint {} but the library {}",
                    c["test"].as_str().unwrap(),
                    c["name"].as_str().unwrap(),
                    if lint { "accepts" } else { "refuses" },
                    if library { "accepts" } else { "refuses" },
                ));
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(count >= 150, "only {count} config cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
