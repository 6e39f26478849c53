//! Replays every shared vector through the Rust API.

mod common;

use corsgate::{Policy, Request};
use serde_json::{json, Value};

#[test]
fn every_shared_vector() {
    let mut failures = Vec::new();
    let mut count = 0;
    for file in common::load() {
        let policy = Policy::from_json(file.policy.as_bytes())
            .unwrap_or_else(|e| panic!("{}: policy refused:\n{e}", file.file));
        for case in &file.cases {
            count += 1;
            let mut request = Request::new(case.method.as_bytes());
            for (name, value) in &case.headers {
                request.add_header(name.as_bytes(), value.as_bytes());
            }
            let d = policy.evaluate(&request);
            let headers: Vec<Value> = d
                .headers()
                .map(|h| json!([h.name, String::from_utf8_lossy(h.value)]))
                .collect();
            let got = json!({
                "verdict": d.verdict.as_str(),
                "kind": d.kind.as_str(),
                "reason": d.reason.as_str(),
                "action": d.action.as_str(),
                "status": d.status,
                "strip_upstream": d.strip_upstream,
                "headers": headers,
            });
            let want = &case.expect;
            let mismatched: Vec<&str> = [
                "verdict",
                "kind",
                "reason",
                "action",
                "status",
                "strip_upstream",
                "headers",
            ]
            .into_iter()
            .filter(|k| want.get(*k).is_some_and(|w| *w != got[*k]))
            .collect();
            if !mismatched.is_empty() {
                failures.push(format!(
                    "{} / {}: {mismatched:?}\n  want {}\n  got  {}",
                    file.file, case.name, want, got
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `OUTCOMES` lists exactly the (kind, reason) pairs decisions have: every
/// vector's pair is listed, and every listed pair but the internal error
/// occurs in some vector (so Envoy defines no counter that cannot move).
#[test]
fn outcomes_are_exactly_the_pairs_decisions_have() {
    use corsgate::evaluate::{outcome_index, Decision, OUTCOMES};
    use corsgate::Reason;

    let mut seen = vec![false; OUTCOMES.len()];
    for file in common::load() {
        let policy = Policy::from_json(file.policy.as_bytes()).unwrap();
        for case in &file.cases {
            let mut request = Request::new(case.method.as_bytes());
            for (name, value) in &case.headers {
                request.add_header(name.as_bytes(), value.as_bytes());
            }
            let d = policy.evaluate(&request);
            let i = outcome_index(d.kind, d.reason).unwrap_or_else(|| {
                panic!(
                    "{} / {}: {:?} not in OUTCOMES",
                    file.file,
                    case.name,
                    (d.kind, d.reason)
                )
            });
            seen[i] = true;
        }
    }
    let internal = Decision::internal_error();
    seen[outcome_index(internal.kind, internal.reason).unwrap()] = true;
    let unseen: Vec<_> = OUTCOMES
        .iter()
        .zip(&seen)
        .filter(|(_, s)| !**s)
        .map(|(o, _)| *o)
        .collect();
    assert!(unseen.is_empty(), "no vector decides {unseen:?}");
    assert!(outcome_index(corsgate::Kind::NotCors, Reason::Allowed).is_none());
}
