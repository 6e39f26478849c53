//! What loading a policy costs, in instructions (callgrind), for the
//! policies that bound it: the worst accepted `regex:` found, the fuzz unit
//! that used to take 1.9 s (now refused at the bound), 100,000 exact
//! origins, the largest policy the loader accepts, and a typical policy.
//!
//! `cargo bench --bench policy_load` (`make bench-policy-load`) runs this
//! binary under valgrind's callgrind once per case, counting only inside
//! `measured_load` (read, validate, analyse, compile; not dropping the
//! policy afterwards). Beside each count it prints the CPU time of the same
//! load run natively (this thread's CPU time, the first load in a fresh
//! process as callgrind counts it, best of 5 processes): what an
//! instruction count means on the machine at hand. The budget (any
//! accepted policy loads in at most 100 ms) is kept by sizes and steps,
//! not times:
//! - `src/config.rs`: at most `MAX_ORIGINS` origins, `MAX_WILDCARDS`
//!   subdomain wildcards among them, `MAX_NAMES` entries in each name
//!   list, `MAX_POLICY_BYTES` of document (and of list values together);
//! - `src/analysis/mod.rs`: `MAX_REGEX_DFA_BYTES` of regex DFA per policy,
//!   `MAX_ANALYSIS_STEPS` automaton steps; `NFA_BYTES` per regex.
//!
//! "maximum accepted policy" fills every one of those bounds with the
//! costliest entries known (`tests/proptest_limits.rs` checks it loads).

use std::hint::black_box;

use corsgate::config::{MAX_NAMES, MAX_ORIGINS, MAX_WILDCARDS};
use corsgate::Policy;

/// The slowest accepted regex known (tests/proptest_limits.rs).
const WORST_ACCEPTED_REGEX: &str = "h[a-z0-9._-]*.{7}x.{7}|[a-z]*";

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
        "maximum accepted policy" => {
            // Exact origins up to the cap, the most subdomain wildcards,
            // the worst regex, and 1,000 names of 128 bytes in each name
            // list. (With credentials the wildcards cost a Public Suffix
            // List walk more, but the worst regex is refused: less in all.)
            let mut origins: Vec<String> = (0..MAX_ORIGINS - MAX_WILDCARDS - 1)
                .map(|i| format!("https://o{i}.example.com"))
                .collect();
            origins.extend((0..MAX_WILDCARDS).map(|i| format!("https://*.w{i}.example.com")));
            origins.push(format!("regex:{WORST_ACCEPTED_REGEX}"));
            let names = |p: &str| -> Vec<String> {
                (0..MAX_NAMES).map(|i| format!("{p}{i:0>124}")).collect()
            };
            serde_json::json!({
                "allow_origins": origins,
                "allow_methods": names("MTHD"),
                "allow_headers": names("x-h-"),
                "expose_headers": names("x-e-"),
            })
            .to_string()
        }
        "typical (3 exact, 1 wildcard)" => serde_json::json!({
            "allow_origins": ["https://app.example.com", "https://admin.example.com",
                              "https://example.com", "https://*.example.com"],
            "allow_credentials": true,
            "allow_methods": ["GET", "POST", "PUT"],
            "allow_headers": ["content-type", "x-request-id"],
        })
        .to_string(),
        "typical + 1 regex" => serde_json::json!({
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
    "maximum accepted policy",
    "typical (3 exact, 1 wildcard)",
    "typical + 1 regex",
];

/// What callgrind counts: reading, validating, analysing and compiling.
/// The policy is returned, so that dropping it (which a host does when it
/// retires the policy, not when it loads one) is not counted.
#[inline(never)]
fn measured_load(json: &str) -> Result<Policy, corsgate::PolicyError> {
    Policy::from_json(json.as_bytes())
}

/// `struct timespec` on 64-bit Linux.
#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

/// Linux's `CLOCK_THREAD_CPUTIME_ID`.
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

/// This thread's CPU time in ns, so that other processes on a shared
/// machine do not count.
fn cpu_ns() -> u64 {
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable `struct timespec` for the call.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--run-one") {
        let json = case(&args[i + 1]);
        match black_box(measured_load(black_box(&json))) {
            Ok(_) => println!("accepted: true"),
            // Why, for whoever runs it by hand.
            Err(e) => println!("accepted: false\n{}", e.errors[0]),
        }
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--time-one") {
        // The first load in a process, as callgrind counts it (with the
        // process-wide tables built once: the Public Suffix List, fixed
        // automata).
        let json = case(&args[i + 1]);
        let start = cpu_ns();
        let policy = black_box(measured_load(black_box(&json)));
        let ns = cpu_ns() - start;
        drop(policy);
        println!("{ns}");
        return;
    }
    // `cargo test --benches` runs this binary in test mode: no valgrind.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    println!("== policy load, instructions (callgrind, inside Policy::from_json) ==");
    println!("== and CPU time of the same load run natively: best of 5 processes, this machine ==");
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
        let best_ns = (0..5)
            .map(|_| {
                let native = std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--time-one", name])
                    .output()
                    .expect("the bench binary");
                let ns = String::from_utf8_lossy(&native.stdout);
                ns.trim().parse::<u64>().expect("CPU ns")
            })
            .min()
            .unwrap_or_default();
        // Issue 15's budget: any accepted policy loads in at most 100 ms.
        let over = accepted && best_ns > 100_000_000;
        println!(
            "{name:<32} {:>6.1} M instructions {:>6.1} ms CPU ({}{})",
            total as f64 / 1e6,
            best_ns as f64 / 1e6,
            if accepted { "accepted" } else { "refused" },
            if over { "; OVER the 100 ms budget" } else { "" }
        );
    }
}
