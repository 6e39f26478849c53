//! Property tests: the optimised origin parser, origin matcher, list
//! scanner and evaluation against the plain reference model in
//! tests/reference/, on random policies and requests (well-formed origins
//! from small alphabets so that matches happen, mutated into attacks, and
//! random bytes). Also: evaluation never panics on arbitrary bytes, and
//! `Policy::from_json` never panics on arbitrary JSON-ish input.

#[path = "reference/mod.rs"]
mod reference;

use corsgate::origin::{parse_request_origin, MAX_ORIGIN_LEN};
use corsgate::tokens::{is_token, scan_list, trim_ows, ListCaps, ListError};
use corsgate::{Policy, Request};
use proptest::prelude::*;
use proptest::sample::select;
use reference::{RefPolicy, REGEXES};

/// `cases` per property, unless PROPTEST_CASES says otherwise (a long run:
/// `PROPTEST_CASES=100000 cargo test --release --test proptest_reference`).
/// Header lines: (name, value).
type Headers = Vec<(Vec<u8>, Vec<u8>)>;

fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        // no persistence files in the source tree
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Strategies

fn scheme() -> impl Strategy<Value = String> {
    select(vec![
        "http",
        "https",
        "https",
        "ws",
        "wss",
        "chrome-extension",
        "h+t.p-2",
    ])
    .prop_map(String::from)
}

fn label() -> impl Strategy<Value = String> {
    select(vec![
        "a",
        "b",
        "app",
        "x-y",
        "r",
        "test",
        "1",
        "127",
        "_s",
        "localhost",
    ])
    .prop_map(String::from)
}

fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|l| l.join("."))
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => domain(),
        1 => domain().prop_map(|d| format!("{d}.")),
        1 => select(vec!["127.0.0.1", "[::1]", "[fe80::1]", "localhost", "1.2.3.4"]).prop_map(String::from),
    ]
}

fn port() -> impl Strategy<Value = Option<u16>> {
    prop_oneof![
        3 => Just(None),
        1 => select(vec![80u16, 443, 8080, 3000, 4000, 1, 65535]).prop_map(Some),
    ]
}

fn origin() -> impl Strategy<Value = String> {
    (scheme(), host(), port()).prop_map(|(s, h, p)| match p {
        Some(p) => format!("{s}://{h}:{p}"),
        None => format!("{s}://{h}"),
    })
}

/// Bytes likely to matter to an origin parser.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        select(b":/.[]@,*-_+ \t\r\n\0?#%AZaz09\x7f".to_vec()),
        any::<u8>(),
    ]
}

/// A request origin: well-formed, or mutated into something hostile.
fn request_origin() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => origin().prop_map(String::into_bytes),
        // case flip of one byte
        2 => (origin(), any::<prop::sample::Index>()).prop_map(|(o, i)| {
            let mut b = o.into_bytes();
            let i = i.index(b.len());
            b[i] = if b[i].is_ascii_lowercase() { b[i].to_ascii_uppercase() } else { b[i].to_ascii_lowercase() };
            b
        }),
        // suffixes: ports, paths, dots, labels
        3 => (origin(), select(vec![":", ":0", ":08080", ":65536", ":99999", ":8080", ":443", ":80",
                 ":*", "/", "/x", ".", ".evil", "..", " ", "\t", "\r\nx-injected: 1", ", https://a", "?", "#"]))
            .prop_map(|(o, s)| format!("{o}{s}").into_bytes()),
        // prefix attacks on the host, userinfo
        2 => (scheme(), select(vec!["evil", "evil.", "a@", "x-", "*.", ".", "A"]), host())
            .prop_map(|(s, pre, h)| format!("{s}://{pre}{h}").into_bytes()),
        // one byte inserted, replaced or removed
        3 => (origin(), any::<prop::sample::Index>(), interesting_byte(), 0..3u8).prop_map(|(o, i, b, op)| {
            let mut v = o.into_bytes();
            let i = i.index(v.len() + 1);
            match op {
                0 => v.insert(i, b),
                1 if i < v.len() => v[i] = b,
                _ if i < v.len() => { v.remove(i); }
                _ => v.push(b),
            }
            v
        }),
        1 => Just(b"null".to_vec()),
        1 => Just(Vec::new()),
        // around the length cap (512 bytes)
        1 => (MAX_ORIGIN_LEN - 10..MAX_ORIGIN_LEN + 3).prop_map(|n| {
            let mut v = b"https://".to_vec();
            v.resize(n, b'a');
            v
        }),
        2 => prop::collection::vec(interesting_byte(), 0..40),
    ]
}

/// Mostly hosts a policy accepts: a name whose last label is all digits
/// is an IPv4 address to WHATWG URL parsing (`http://a.1` is refused).
fn browser_host(host: &str) -> bool {
    let last = host
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .unwrap_or_default();
    !last.bytes().all(|b| b.is_ascii_digit()) || matches!(host, "127.0.0.1" | "1.2.3.4")
}

/// An `allow_origins` entry.
fn pattern() -> impl Strategy<Value = String> {
    let pattern_port = prop_oneof![
        3 => Just(String::new()),
        1 => Just(":*".to_owned()),
        1 => select(vec![":8080", ":3000", ":1"]).prop_map(String::from),
    ];
    prop_oneof![
        5 => (scheme(), host().prop_filter("a browser's host", |h| browser_host(h)), pattern_port.clone())
            .prop_map(|(s, h, p)| format!("{s}://{h}{p}")),
        1 => (scheme(), host(), pattern_port.clone()).prop_map(|(s, h, p)| format!("{s}://{h}{p}")),
        4 => (scheme(), domain().prop_filter("a browser's host", |h| browser_host(h)), pattern_port)
            .prop_map(|(s, d, p)| format!("{s}://*.{d}{p}")),
        1 => Just("*".to_owned()),
        1 => select(REGEXES.to_vec()).prop_map(String::from),
    ]
}

fn names_list(choices: Vec<&'static str>) -> impl Strategy<Value = Option<Vec<String>>> {
    prop::option::of(prop::collection::vec(
        select(choices).prop_map(String::from),
        0..5,
    ))
}

fn policy() -> impl Strategy<Value = RefPolicy> {
    (
        prop::collection::vec(pattern(), 1..6),
        names_list(vec![
            "GET", "get", "PUT", "put", "PATCH", "patch", "DELETE", "X-Custom", "*",
        ]),
        names_list(vec![
            "x-a",
            "X-A",
            "x-b",
            "content-type",
            "authorization",
            "Authorization",
            "X-Long-Name",
            "*",
        ]),
        names_list(vec!["X-Id", "x-id", "etag", "*"]),
        prop::bool::weighted(0.2),
        prop::option::of(select(vec![0u64, 600, 86_400])),
        prop::option::of(select(vec![204u16, 200])),
        (
            prop::option::of(select(vec!["reject", "forward"]).prop_map(String::from)),
            prop::option::of(select(vec!["omit", "reject"]).prop_map(String::from)),
            prop::option::of(select(vec!["enforce", "report"]).prop_map(String::from)),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(o, m, h, e, c, age, status, (pd, ad, mode, debug))| RefPolicy {
                allow_origins: o,
                allow_methods: m,
                allow_headers: h,
                expose_headers: e,
                allow_credentials: c,
                max_age: age,
                preflight_status: status,
                on_preflight_deny: pd,
                on_actual_deny: ad,
                mode,
                debug,
            },
        )
}

fn any_case(name: &'static str) -> impl Strategy<Value = Vec<u8>> {
    select(vec![0u8, 1, 2]).prop_map(move |c| match c {
        0 => name.as_bytes().to_vec(),
        1 => name.to_ascii_lowercase().into_bytes(),
        _ => name.to_ascii_uppercase().into_bytes(),
    })
}

/// One `Access-Control-Request-Headers` line.
fn acrh_line() -> impl Strategy<Value = Vec<u8>> {
    let element = select(vec![
        "x-a",
        "X-A",
        "x-b",
        "content-type",
        "authorization",
        "Authorization",
        "x-c",
        "X-Long-Name",
        "",
        " ",
        "\t",
        "a b",
        "x@y",
        "é",
        "x\r\ny",
    ]);
    let sep = select(vec![",", ", ", " ,", ",\t", ",,"]);
    prop_oneof![
        8 => prop::collection::vec((element, sep), 0..6).prop_map(|v| {
            v.iter().flat_map(|(e, s)| [*e, *s]).collect::<String>().into_bytes()
        }),
        3 => (50..80usize).prop_map(|n| vec!["x-a"; n].join(",").into_bytes()),
        1 => (4000..4200usize).prop_map(|n| {
            let mut v = b"x-a,".to_vec();
            v.resize(n, b'a');
            v
        }),
        1 => prop::collection::vec(interesting_byte(), 0..20),
    ]
}

/// A request: method and header lines, corsgate's in any case.
fn request() -> impl Strategy<Value = (Vec<u8>, Headers)> {
    let method = prop_oneof![
        6 => select(vec!["OPTIONS", "OPTIONS", "GET", "POST", "options", "PUT"]).prop_map(|m| m.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ];
    let acrm = prop_oneof![
        6 => select(vec!["GET", "PUT", "put", "PATCH", "patch", "DELETE", "X-Custom", "POST", "HEAD", "*",
                         "TRACE", "connect", "Track"])
            .prop_map(|m| m.as_bytes().to_vec()),
        1 => prop::collection::vec(interesting_byte(), 0..8),
    ];
    let origins = prop_oneof![
        1 => Just(0usize),
        8 => Just(1),
        1 => Just(2),
    ];
    (
        method,
        origins,
        prop::collection::vec(request_origin(), 2),
        prop::collection::vec(acrm, 0..3),
        prop_oneof![
            8 => prop::collection::vec(acrh_line(), 0..3),
            2 => prop::collection::vec(acrh_line(), 9..11),
        ],
        any_case("Origin"),
        any_case("Access-Control-Request-Method"),
        any_case("Access-Control-Request-Headers"),
    )
        .prop_map(|(method, n, o, m, h, on, mn, hn)| {
            let mut headers = vec![(b"host".to_vec(), b"example".to_vec())];
            headers.extend(o.into_iter().take(n).map(|v| (on.clone(), v)));
            headers.extend(m.into_iter().map(|v| (mn.clone(), v)));
            headers.extend(h.into_iter().map(|v| (hn.clone(), v)));
            (method, headers)
        })
}

/// A header line of random bytes, often under a name corsgate reads.
fn random_header() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let name = prop_oneof![
        3 => select(vec!["Origin", "access-control-request-method", "ACCESS-CONTROL-REQUEST-HEADERS"])
            .prop_map(|n| n.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..32),
    ];
    (name, prop::collection::vec(any::<u8>(), 0..300))
}

// ---------------------------------------------------------------------------
// Properties

fn compile(p: &RefPolicy) -> Option<Policy> {
    Policy::from_json(p.to_json().as_bytes()).ok()
}

/// Points a request at the policy: its `Origin` lines become an origin
/// one of the policy's patterns names (a subdomain for a wildcard, port
/// 8080 for a port wildcard), so the method and header checks are reached
/// often, not only when two random origins happen to agree.
fn aimed(p: &RefPolicy, which: usize, headers: &Headers) -> Headers {
    let Some(pattern) = p.allow_origins.get(which % p.allow_origins.len()) else {
        return headers.clone();
    };
    if pattern == "*" || pattern.starts_with("regex:") {
        return headers.clone();
    }
    let origin = pattern.replace("*.", "x.").replace(":*", ":8080");
    headers
        .iter()
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case(b"origin") {
                (n.clone(), origin.clone().into_bytes())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn origin_parser_matches_reference(raw in request_origin()) {
        let got = parse_request_origin(&raw).map(|o| {
            prop_assert_eq!(o.raw, &raw[..]);
            Ok((o.scheme.to_vec(), o.host.to_vec(), o.port))
        });
        let got = match got {
            Ok(r) => Ok(r?),
            Err(e) => Err(e),
        };
        let want = reference::parse_origin(&raw)
            .map(|o| (o.scheme.into_bytes(), o.host.into_bytes(), o.port));
        prop_assert_eq!(got, want, "origin {:?}", String::from_utf8_lossy(&raw));
    }

    #[test]
    fn origin_parser_random_bytes(raw in prop::collection::vec(any::<u8>(), 0..600)) {
        let got = parse_request_origin(&raw).map(|o| (o.scheme.to_vec(), o.host.to_vec(), o.port));
        let want = reference::parse_origin(&raw)
            .map(|o| (o.scheme.into_bytes(), o.host.into_bytes(), o.port));
        prop_assert_eq!(got, want);
    }

    #[test]
    fn list_scanner_matches_reference(
        lines in prop::collection::vec(
            prop::collection::vec(prop_oneof![
                4 => select(b"abAB-_!~".to_vec()),
                3 => select(b" \t,".to_vec()),
                1 => any::<u8>(),
            ], 0..24),
            0..5),
        max_bytes in 0..80usize,
        max_elements in 0..8usize,
        refuse in select(vec![&b"a"[..], b"b", b"ab", b"A", b"-", b"zz"]),
    ) {
        let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let mut visited = Vec::new();
        let got = scan_list(&lines, ListCaps { max_bytes, max_elements }, |e| {
            visited.push(e.to_vec());
            e != refuse
        })
        .map(|r| r.map(<[u8]>::to_vec));
        let (want_visited, want) = reference::scan_list(&lines, max_bytes, max_elements, |e| e != refuse);
        let want = want.map_err(|e| match e {
            reference::ListErr::TooLong => ListError::TooLong,
            reference::ListErr::Malformed => ListError::Malformed,
            reference::ListErr::TooMany => ListError::TooMany,
        });
        prop_assert_eq!(got, want);
        prop_assert_eq!(visited, want_visited);
    }

    #[test]
    fn token_helpers_match_reference(s in prop::collection::vec(prop_oneof![
        select(b" \ta-,".to_vec()), any::<u8>()], 0..12)) {
        prop_assert_eq!(is_token(&s), reference::is_token(&s));
        prop_assert_eq!(trim_ows(&s), reference::trim(&s));
    }
}

/// Header names a policy might list: usable ones, Fetch's forbidden ones
/// and prefixes, CORS protocol names, in any case.
fn policy_header_name() -> impl Strategy<Value = String> {
    let base = select(vec![
        "x-a",
        "content-type",
        "authorization",
        "x-set-cookie",
        "cookies",
        "sec",
        "proxy",
        "x-sec-a",
        "cookie",
        "Cookie2",
        "host",
        "Origin",
        "te",
        "via",
        "dnt",
        "keep-alive",
        "proxy-authorization",
        "Proxy-Foo",
        "sec-fetch-mode",
        "Sec-CH-UA",
        "set-cookie",
        "Set-Cookie2",
        "access-control-allow-origin",
        "Access-Control-Request-Method",
        "access-control-request-x",
        "access-control-max-age",
        "access-control",
        "x-access-control-a",
    ]);
    (base, any::<bool>()).prop_map(|(n, upper)| {
        if upper {
            n.to_ascii_uppercase()
        } else {
            n.to_owned()
        }
    })
}

proptest! {
    #![proptest_config(config(1024))]

    /// Names that can never work are refused in policies, exactly those.
    #[test]
    fn unusable_header_names_refused(
        allow in prop::collection::vec(policy_header_name(), 0..3),
        expose in prop::collection::vec(policy_header_name(), 0..3),
    ) {
        let p = RefPolicy {
            allow_origins: vec!["https://a.test".into()],
            allow_headers: Some(allow.clone()),
            expose_headers: Some(expose.clone()),
            ..RefPolicy::default()
        };
        let refused = allow.iter().any(|n| reference::allow_header_refused(n))
            || expose.iter().any(|n| reference::expose_header_refused(n));
        prop_assert_eq!(compile(&p).is_none(), refused, "policy {}", p.to_json());
    }
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn evaluation_matches_reference(p in policy(), requests in prop::collection::vec(request(), 24)) {
        let Some(policy) = compile(&p) else { return Ok(()) };
        let requests: Vec<_> = requests
            .iter()
            .enumerate()
            .map(|(i, (m, h))| (m.clone(), if i % 2 == 0 { aimed(&p, i / 2, h) } else { h.clone() }))
            .collect();
        for (method, headers) in &requests {
            let got = reference::corsgate_decision(&policy, method, headers);
            let want = reference::evaluate(&p, method, headers);
            prop_assert_eq!(&got, &want, "policy {}\nrequest {:?} {:?}", p.to_json(),
                String::from_utf8_lossy(method), headers.iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v)))
                    .collect::<Vec<_>>());
            if let Err(e) = reference::check_safe(&got, &p) {
                return Err(TestCaseError::fail(e));
            }
        }
    }

    /// Many origins against policies with many patterns: the suffix walk and
    /// the hash tables against the pattern loop.
    #[test]
    fn origin_matcher_matches_reference(
        patterns in prop::collection::vec(pattern(), 1..12),
        origins in prop::collection::vec(request_origin(), 48),
    ) {
        let p = RefPolicy { allow_origins: patterns, ..RefPolicy::default() };
        let Some(policy) = compile(&p) else { return Ok(()) };
        for raw in &origins {
            let mut r = Request::new(b"GET");
            r.add_header(b"origin", raw);
            let got = policy.evaluate(&r).reason.as_str();
            let headers = vec![(b"Origin".to_vec(), raw.clone())];
            let want = reference::evaluate(&p, b"GET", &headers).reason;
            prop_assert_eq!(got, want, "policy {} origin {:?}", p.to_json(), String::from_utf8_lossy(raw));
        }
    }

    /// Arbitrary bytes in every field: no panic, same as the reference,
    /// nothing unsafe reflected.
    #[test]
    fn evaluation_of_random_bytes(
        p in policy(),
        requests in prop::collection::vec((
            prop::collection::vec(any::<u8>(), 0..10),
            prop::collection::vec(random_header(), 0..12),
        ), 4),
    ) {
        let Some(policy) = compile(&p) else { return Ok(()) };
        for (method, headers) in &requests {
            let got = reference::corsgate_decision(&policy, method, headers);
            let want = reference::evaluate(&p, method, headers);
            prop_assert_eq!(&got, &want);
            if let Err(e) = reference::check_safe(&got, &p) {
                return Err(TestCaseError::fail(e));
            }
        }
    }
}

/// JSON-ish text: fragments of policy documents glued at random.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let fragment = select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\\",
        "\"allow_origins\"",
        "\"allow_methods\"",
        "\"allow_headers\"",
        "\"expose_headers\"",
        "\"max_age\"",
        "\"allow_credentials\"",
        "\"mode\"",
        "\"debug\"",
        "\"preflight_status\"",
        "\"on_preflight_deny\"",
        "\"on_actual_deny\"",
        "\"*\"",
        "\"https://a.com\"",
        "\"https://*.com\"",
        "\"regex:(\"",
        "\"regex:a{99999}\"",
        "\"regex:.*\"",
        "\"null\"",
        "true",
        "false",
        "null",
        "0",
        "-1",
        "1e999",
        "86401",
        "18446744073709551616",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"é\"",
        " ",
        "\n",
        "\"x\"",
        "\"report\"",
        "\"reject\"",
        "204",
        "[[[[[[[[",
        "]]]]]]]]",
    ]);
    prop_oneof![
        3 => prop::collection::vec(fragment, 0..40).prop_map(|f| f.concat().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

/// Well-formed JSON objects with the policy's field names and random values.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(Into::into),
        any::<i64>().prop_map(Into::into),
        any::<f64>().prop_map(
            |f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
        ),
        pattern().prop_map(Into::into),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Into::into),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_policy() -> impl Strategy<Value = Vec<u8>> {
    // Every field of the format, and one that is not.
    let mut keys = corsgate::config::FIELDS.to_vec();
    keys.push("unknown");
    let key = select(keys);
    prop::collection::vec((key, json_value()), 0..8).prop_map(|fields| {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}:{}", serde_json::Value::from(*k), v))
            .collect();
        format!("{{{}}}", body.join(",")).into_bytes()
    })
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn from_json_never_panics(json in prop_oneof![jsonish(), json_policy()]) {
        if let Ok(policy) = Policy::from_json(&json) {
            // whatever was accepted evaluates without panicking
            for origin in [&b"https://a.com"[..], b"null", b"http://x.y:1", b"\xff"] {
                let mut r = Request::new(b"OPTIONS");
                r.add_header(b"origin", origin);
                r.add_header(b"access-control-request-method", b"PUT");
                r.add_header(b"access-control-request-headers", b"x-a, authorization");
                let d = policy.evaluate(&r);
                prop_assert!(d.headers().count() <= corsgate::evaluate::DECISION_MAX_HEADERS);
            }
        }
    }
}

/// The generators reach the interesting outcomes (else the comparisons
/// above prove little).
#[test]
fn generators_reach_every_reason() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    let mut compiled = 0;
    let missing = |seen: &std::collections::BTreeSet<&str>| -> Vec<&'static str> {
        corsgate::Reason::ALL
            .iter()
            .map(|r| r.as_str())
            .filter(|r| *r != "internal-error" && !seen.contains(r))
            .collect()
    };
    let mut tried = 0;
    while tried < 250 || (tried < 1000 && !missing(&seen).is_empty()) {
        tried += 1;
        let p = policy().new_tree(&mut runner).unwrap().current();
        let Some(policy) = compile(&p) else { continue };
        compiled += 1;
        for i in 0..24 {
            let (method, headers) = request().new_tree(&mut runner).unwrap().current();
            let headers = if i % 2 == 0 {
                aimed(&p, i / 2, &headers)
            } else {
                headers
            };
            seen.insert(reference::corsgate_decision(&policy, &method, &headers).reason);
        }
    }
    assert!(
        compiled * 5 > tried * 3,
        "only {compiled} of {tried} random policies compiled"
    );
    let missing = missing(&seen);
    assert!(missing.is_empty(), "never reached: {missing:?}");
}
