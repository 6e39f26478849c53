//! `corsgate diff` checked by evaluation (issue 16): random policy pairs;
//! every origin the diff reports as admitted or revoked is allowed by one
//! policy and refused by the other, and when the diff reports no origin
//! change, origins sampled from both policies' own patterns (and a fixed
//! list) are answered alike by both.

use corsgate::review::{diff, read, Reviewed};
use proptest::prelude::*;

const PATTERNS: &[&str] = &[
    "https://app.example.com",
    "https://api.example.com",
    "https://example.com",
    "http://localhost:3000",
    "https://*.example.com",
    "https://*.example.com:*",
    "http://localhost:*",
    "https://*.api.example.com",
    "regex:https://(app|api)\\.example\\.com",
    "regex:https://[a-z]+\\.example\\.com",
    "regex:https://app.example.com",
    "regex:https?://[a-z]\\.example\\.org(:[0-9]+)?",
    "https://a.example.org",
    "http://b.example.org:8080",
    "*",
];

/// Origins sampled to confirm "no change".
const ORIGINS: &[&str] = &[
    "https://app.example.com",
    "https://api.example.com",
    "https://example.com",
    "https://x.example.com",
    "https://a.b.example.com",
    "https://x.api.example.com",
    "https://app.example.com:8443",
    "http://app.example.com",
    "http://localhost:3000",
    "http://localhost",
    "http://localhost:1",
    "https://appxexample.com",
    "https://a.example.org",
    "http://a.example.org",
    "http://b.example.org:8080",
    "https://b.example.org:1",
    "https://evil.test",
];

fn policy(indices: &[usize]) -> Reviewed {
    let list: Vec<&str> = indices.iter().map(|&i| PATTERNS[i]).collect();
    read(
        serde_json::json!({ "allow_origins": list })
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn diff_examples_confirmed_by_evaluation(
        a in proptest::collection::vec(0..PATTERNS.len(), 1..4),
        b in proptest::collection::vec(0..PATTERNS.len(), 1..4),
        seeds in proptest::collection::vec(any::<u32>(), 32..128),
    ) {
        let (old, new) = (policy(&a), policy(&b));
        let d = diff(&old, &new).unwrap();
        for e in &d.origins_admitted {
            prop_assert!(new.allows(e) && !old.allows(e), "{a:?} -> {b:?}: admitted {e}");
        }
        for e in &d.origins_revoked {
            prop_assert!(old.allows(e) && !new.allows(e), "{a:?} -> {b:?}: revoked {e}");
        }
        if d.origins_admitted.is_empty() && d.origins_revoked.is_empty() {
            let mut k = 0usize;
            let mut pick = |n: usize| { k += 1; seeds[k % seeds.len()] as usize % n };
            let mut sampled: Vec<String> = ORIGINS.iter().map(|o| o.to_string()).collect();
            sampled.extend(old.sample_origins(&mut pick, 8));
            sampled.extend(new.sample_origins(&mut pick, 8));
            for o in &sampled {
                // Trailing-dot hosts are origins the request parser accepts
                // from branch `core` on; `allows` decides them by automaton.
                prop_assert_eq!(old.allows(o), new.allows(o), "{:?} -> {:?}: {}", a, b, o);
            }
        }
        // A policy against itself, and against its own patterns reversed.
        let mut r = a.clone();
        r.reverse();
        prop_assert!(diff(&old, &policy(&r)).unwrap().is_empty());
    }
}
