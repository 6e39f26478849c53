//! Policy::evaluate against the reference evaluation, on a fixed set of
//! policies. Input: one byte choosing the policy, then fields separated by
//! `\n`: the method, then header lines whose first byte chooses the name
//! (Origin, Access-Control-Request-Method, Access-Control-Request-Headers
//! in some case, or the rest of the field up to `:` as the name).
#![no_main]

#[path = "../../tests/reference/mod.rs"]
mod reference;

use std::sync::OnceLock;

use corsgate::Policy;
use libfuzzer_sys::fuzz_target;
use reference::RefPolicy;

fn list(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

fn policies() -> &'static [(RefPolicy, Policy)] {
    static POLICIES: OnceLock<Vec<(RefPolicy, Policy)>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let all = vec![
            RefPolicy {
                allow_origins: list(&["https://app.example.com", "https://*.example.com", "http://localhost:*"]).unwrap(),
                allow_methods: list(&["GET", "put", "PATCH"]),
                allow_headers: list(&["X-A", "content-type"]),
                expose_headers: list(&["X-Id"]),
                allow_credentials: true,
                max_age: Some(600),
                debug: true,
                ..RefPolicy::default()
            },
            RefPolicy {
                allow_origins: list(&["*"]).unwrap(),
                allow_methods: list(&["*"]),
                allow_headers: list(&["*", "authorization"]),
                expose_headers: list(&["*"]),
                on_actual_deny: Some("reject".into()),
                ..RefPolicy::default()
            },
            RefPolicy {
                allow_origins: list(&[
                    "https://*.a.b.c.example.com:*",
                    "wss://*.example.com:8080",
                    "http://[::1]:3000",
                    "http://127.0.0.1:*",
                    reference::REGEXES[0],
                    reference::REGEXES[1],
                ])
                .unwrap(),
                allow_headers: list(&["x-a", "x-b"]),
                on_preflight_deny: Some("forward".into()),
                preflight_status: Some(200),
                debug: true,
                ..RefPolicy::default()
            },
            RefPolicy {
                allow_origins: list(&["https://a.com", "chrome-extension://abc"]).unwrap(),
                mode: Some("report".into()),
                ..RefPolicy::default()
            },
            // credentialed `*`: the requested method and names echoed
            RefPolicy {
                allow_origins: list(&["https://app.example.com", "https://example.com.", "https://*.example.net."]).unwrap(),
                allow_methods: list(&["*"]),
                allow_headers: list(&["*"]),
                expose_headers: list(&["x-id", "etag"]),
                allow_credentials: true,
                max_age: Some(60),
                ..RefPolicy::default()
            },
            // `*` with no methods: ACAO * on not-CORS responses, no ACAM
            RefPolicy {
                allow_origins: list(&["*"]).unwrap(),
                allow_methods: list(&[]),
                expose_headers: list(&["x-id"]),
                ..RefPolicy::default()
            },
        ];
        all.into_iter()
            .map(|p| {
                let compiled = Policy::from_json(p.to_json().as_bytes()).expect("fuzz policy");
                (p, compiled)
            })
            .collect()
    })
}

const NAMES: &[&str] = &[
    "Origin",
    "origin",
    "Access-Control-Request-Method",
    "access-control-request-method",
    "Access-Control-Request-Headers",
    "ACCESS-CONTROL-REQUEST-HEADERS",
];

fuzz_target!(|data: &[u8]| {
    let [which, rest @ ..] = data else { return };
    let (p, policy) = &policies()[usize::from(*which) % policies().len()];
    let mut fields = rest.split(|&b| b == b'\n');
    let method = fields.next().unwrap_or_default().to_vec();
    let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for field in fields {
        let [pick, value @ ..] = field else { continue };
        let pick = usize::from(*pick);
        if pick < 0xf0 {
            headers.push((NAMES[pick % NAMES.len()].as_bytes().to_vec(), value.to_vec()));
        } else {
            let (name, value) = match value.iter().position(|&b| b == b':') {
                Some(i) => (&value[..i], &value[i + 1..]),
                None => (value, &b""[..]),
            };
            headers.push((name.to_vec(), value.to_vec()));
        }
    }
    let got = reference::corsgate_decision(policy, &method, &headers);
    let want = reference::evaluate(p, &method, &headers);
    assert_eq!(got, want);
    if let Err(e) = reference::check_safe(&got, p) {
        panic!("{e}");
    }
});
