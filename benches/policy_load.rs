//! What loading a policy costs, in instructions (callgrind), for the
//! policies that bound it: the worst accepted `regex:`, the fuzz unit that
//! used to take 1.9 s (now refused at the bound), 100,000 exact origins,
//! and a typical policy.
//!
//! `cargo bench --bench policy_load` (`make bench-policy-load`) runs this
//! binary under valgrind's callgrind once per case, counting only inside
//! `measured_load` (read, validate, analyse, compile). The bounds behind
//! these figures are sizes and steps, not times: see `src/analysis/mod.rs`
//! (`MAX_REGEX_DFA_BYTES`, `MAX_ANALYSIS_STEPS`).

use std::hint::black_box;

use corsgate::Policy;

/// The slowest accepted regex known (tests/proptest_limits.rs).
const WORST_ACCEPTED_REGEX: &str = "[a-z.]*.{7}x.{7}";

fn case(name: &str) -> String {
    let regex = |p: &str| serde_json::json!({ "allow_origins": [format!("regex:{p}")] });
    match name {
        "worst accepted regex" => regex(WORST_ACCEPTED_REGEX).to_string(),
        "fuzz slow unit (refused)" => std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/regressions/policy_json/slow-unit-281-byte-regex.json"
        ))
        .unwrap(),
        "100,000 exact origins" => {
            let list: Vec<String> = (0..100_000)
                .map(|i| format!("https://o{i}.example.com"))
                .collect();
            serde_json::json!({ "allow_origins": list }).to_string()
        }
        "typical (3 exact, 1 wildcard, 1 regex)" => serde_json::json!({
            "allow_origins": ["https://app.example.com", "https://admin.example.com",
                              "https://example.com", "https://*.example.com",
                              "regex:https://pr-[0-9]+\\.preview\\.example\\.com"],
            "allow_credentials": true,
            "allow_methods": ["GET", "POST", "PUT"],
            "allow_headers": ["content-type", "x-request-id"],
        })
        .to_string(),
        _ => panic!("unknown case {name}"),
    }
}

const CASES: &[&str] = &[
    "worst accepted regex",
    "fuzz slow unit (refused)",
    "100,000 exact origins",
    "typical (3 exact, 1 wildcard, 1 regex)",
];

/// What callgrind counts.
#[inline(never)]
fn measured_load(json: &str) -> bool {
    Policy::from_json(json.as_bytes()).is_ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--run-one") {
        let json = case(&args[i + 1]);
        println!("accepted: {}", black_box(measured_load(black_box(&json))));
        return;
    }
    // `cargo test --benches` runs this binary in test mode: no valgrind.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    println!("== policy load, instructions (callgrind, inside Policy::from_json) ==");
    for name in CASES {
        let out = std::process::Command::new("valgrind")
            .args([
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                "--collect-atstart=no",
                "--toggle-collect=*measured_load*",
            ])
            .arg(std::env::current_exe().unwrap())
            .args(["--run-one", name])
            .output()
            .expect("valgrind (apt-get install valgrind)");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {err}");
        let total: u64 = err
            .lines()
            .find_map(|l| l.split("Collected : ").nth(1))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no instruction count in: {err}"));
        let accepted = String::from_utf8_lossy(&out.stdout).contains("accepted: true");
        println!(
            "{name:<40} {:>6.1} M instructions ({})",
            total as f64 / 1e6,
            if accepted { "accepted" } else { "refused" }
        );
    }
}
