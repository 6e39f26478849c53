//! Hostile policy documents: loading cost grows linearly with the lists,
//! and what no request can ever match is refused.
//!
//! The load-time checks compare wall-clock times, so they are `#[ignore]`d
//! in the normal run (these machines are shared and noisy); run them on a
//! quiet machine with
//! `cargo test --release --test proptest_limits -- --ignored`.

use std::time::{Duration, Instant};

use corsgate::origin::MAX_ORIGIN_LEN;
use corsgate::Policy;

/// The fastest of three loads of `json`.
fn load_time(json: &str) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let _ = Policy::from_json(json.as_bytes());
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// A policy with `n` distinct entries in `field` (and one allowed origin).
fn policy_with(field: &str, n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| match field {
            "allow_origins" => format!("\"https://h{i}.example.com\""),
            "allow_methods" => format!("\"M{i}\""),
            _ => format!("\"x-h{i}\""),
        })
        .collect();
    let origins = if field == "allow_origins" {
        String::new()
    } else {
        "\"allow_origins\": [\"https://a.com\"], ".to_owned()
    };
    format!("{{{origins}\"{field}\": [{}]}}", items.join(","))
}

/// Loading 8 times as many entries costs about 8 times as much (64 times
/// would be quadratic); 24 leaves room for noise.
fn assert_linear(field: &str) {
    let small = load_time(&policy_with(field, 2_000));
    let large = load_time(&policy_with(field, 16_000));
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
    assert!(
        ratio < 24.0,
        "{field}: 2,000 entries load in {small:?}, 16,000 in {large:?} (x{ratio:.0}): quadratic"
    );
}

#[test]
#[ignore = "timing-based: run with --ignored on a quiet machine"]
fn origins_load_in_linear_time() {
    assert_linear("allow_origins");
}

#[test]
#[ignore = "timing-based: run with --ignored on a quiet machine"]
fn methods_load_in_linear_time() {
    assert_linear("allow_methods");
}

#[test]
#[ignore = "timing-based: run with --ignored on a quiet machine"]
fn header_names_load_in_linear_time() {
    assert_linear("allow_headers");
    assert_linear("expose_headers");
}

#[test]
fn oversized_origin_pattern_is_refused() {
    let host = "a".repeat(MAX_ORIGIN_LEN);
    let json = format!("{{\"allow_origins\": [\"https://{host}.com\"]}}");
    assert!(Policy::from_json(json.as_bytes()).is_err());
}

#[test]
fn error_report_is_bounded() {
    let items: Vec<String> = (0..100_000)
        .map(|i| format!("\"https://h{i}.example.com:443\""))
        .collect();
    let json = format!("{{\"allow_origins\": [{}]}}", items.join(","));
    let report = Policy::from_json(json.as_bytes()).unwrap_err().to_string();
    assert!(
        report.len() < 1 << 20,
        "a {}-byte error report for a {}-byte document",
        report.len(),
        json.len()
    );
}
