//! corsgate's evaluation cost, and tower-http's CorsLayer on the same
//! cases in the same run.
//!
//! `cargo bench --bench evaluate` (or `make bench-core`) runs criterion,
//! then prints a summary from criterion's own estimates: the cost of each
//! case, the 100,000-origin / 1-origin ratio, tower-http's added cost
//! (CorsLayer minus the same service without it) over corsgate's, and the
//! heap allocations per evaluation, counted by a global allocator.
//!
//! `cargo bench --bench evaluate -- --instructions` (`make
//! bench-core-instructions`) counts instead of timing: it runs this binary
//! under valgrind's callgrind for each case, counting only inside the
//! measured call (corsgate's evaluation, or one call of tower-http's
//! service; for the C ABI column, filling a `corsgate_request`,
//! `corsgate_evaluate` and reading the headers) over 2,000 calls. Counted instructions do not move with the
//! machine's load, so they settle the ratios that noisy nanoseconds cannot.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use corsgate::{ffi, Policy, Request};
use criterion::{BatchSize, Criterion};
use http::{HeaderValue, Method};
use tower::{Service, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ORIGIN: &str = "https://app.example.com";
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const HEADERS: [&str; 3] = ["content-type", "authorization", "x-request-id"];

/// One request: method and header lines.
struct Case {
    name: &'static str,
    method: &'static str,
    headers: Vec<(&'static str, String)>,
}

fn cases() -> Vec<Case> {
    let h = |n: &'static str, v: &str| (n, v.to_owned());
    vec![
        Case {
            name: "actual_allowed",
            method: "GET",
            headers: vec![h("origin", ORIGIN)],
        },
        Case {
            name: "actual_denied",
            method: "GET",
            headers: vec![h("origin", "https://evil.example.net")],
        },
        Case {
            name: "preflight_allowed_3_headers",
            method: "OPTIONS",
            headers: vec![
                h("origin", ORIGIN),
                h("access-control-request-method", "PUT"),
                h(
                    "access-control-request-headers",
                    "authorization,content-type,x-request-id",
                ),
            ],
        },
        Case {
            name: "preflight_denied",
            method: "OPTIONS",
            headers: vec![
                h("origin", ORIGIN),
                h("access-control-request-method", "PUT"),
                h(
                    "access-control-request-headers",
                    "content-type,x-not-allowed",
                ),
            ],
        },
        Case {
            name: "preflight_1mib_request_headers",
            method: "OPTIONS",
            headers: vec![
                h("origin", ORIGIN),
                h("access-control-request-method", "PUT"),
                h("access-control-request-headers", &"x-a,".repeat(256 * 1024)),
            ],
        },
    ]
}

fn policy_json(origins: &[String]) -> String {
    serde_json::json!({
        "allow_origins": origins,
        "allow_methods": METHODS,
        "allow_headers": HEADERS,
        "expose_headers": ["x-request-id"],
        "allow_credentials": true,
        "max_age": 600,
    })
    .to_string()
}

/// The benchmarked origin and 4 others: the fewest exact origins that are
/// hashed rather than compared one by one.
fn five_origins() -> Vec<String> {
    let mut origins: Vec<String> = (0..4)
        .map(|i| format!("https://app{i}.example.org"))
        .collect();
    origins.push(ORIGIN.to_owned());
    origins
}

/// A typical policy: 3 exact origins and one subdomain wildcard.
fn typical_origins() -> Vec<String> {
    [
        ORIGIN,
        "https://admin.example.com",
        "https://example.com",
        "https://*.example.com",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// An origin only the typical policy's wildcard allows.
const WILDCARD_ORIGIN: &str = "https://shop.example.com";

/// 99,000 exact origins and 1,000 subdomain wildcards (100,000 entries,
/// the most `allow_origins` may list); the benchmarked origin is among the
/// exact ones.
fn many_origins() -> Vec<String> {
    let mut origins: Vec<String> = (0..98_999)
        .map(|i| format!("https://app{i}.example.org"))
        .collect();
    origins.extend((0..1_000).map(|i| format!("https://*.tenant{i}.example.net")));
    origins.insert(50_000, ORIGIN.to_owned());
    origins
}

fn http_request(case: &Case) -> http::Request<()> {
    let mut b = http::Request::builder()
        .method(case.method)
        .uri("/api/items");
    for (name, value) in &case.headers {
        b = b.header(*name, value.as_str());
    }
    b.body(()).unwrap()
}

/// What a Rust host would do per request: view the headers, evaluate, read
/// the headers to write.
fn corsgate_eval(policy: &Policy, req: &http::Request<()>) -> usize {
    let mut view = Request::new(req.method().as_str().as_bytes());
    for (name, value) in req.headers() {
        view.add_header(name.as_str().as_bytes(), value.as_bytes());
    }
    let d = policy.evaluate(&view);
    // A host reads every header it must write.
    d.headers()
        .map(|h| h.name.len() + h.value.len())
        .sum::<usize>()
        + d.status as usize
}

/// What a C host does per request through the ABI: fill a request view,
/// `corsgate_evaluate` into a decision on its stack, read every header.
fn ffi_eval(policy: *const ffi::corsgate_policy, req: &http::Request<()>) -> usize {
    let mut view = std::mem::MaybeUninit::<ffi::corsgate_request>::uninit();
    let method = req.method().as_str();
    ffi::corsgate_request_init(view.as_mut_ptr(), method.as_ptr(), method.len());
    for (name, value) in req.headers() {
        let (name, value) = (name.as_str(), value.as_bytes());
        ffi::corsgate_request_add_header(
            view.as_mut_ptr(),
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        );
    }
    let mut decision = std::mem::MaybeUninit::<ffi::corsgate_decision>::uninit();
    let rc = ffi::corsgate_evaluate(policy, view.as_ptr(), decision.as_mut_ptr());
    assert_eq!(rc, ffi::corsgate_result::CORSGATE_RESULT_OK);
    // SAFETY: written whole by corsgate_evaluate.
    let decision = unsafe { decision.assume_init_ref() };
    let mut header = std::mem::MaybeUninit::<ffi::corsgate_header>::uninit();
    let mut sum = decision.status as usize;
    for i in 0..decision.headers_len {
        ffi::corsgate_decision_header(decision, i, header.as_mut_ptr());
        // SAFETY: written whole by corsgate_decision_header.
        let h = unsafe { header.assume_init_ref() };
        sum += h.name.len + h.value.len;
    }
    sum
}

fn ffi_policy(json: &str) -> *mut ffi::corsgate_policy {
    let mut policy = std::ptr::null_mut();
    let rc = ffi::corsgate_policy_from_json(
        json.as_ptr(),
        json.len(),
        &mut policy,
        std::ptr::null_mut(),
        0,
        std::ptr::null_mut(),
    );
    assert_eq!(rc, ffi::corsgate_result::CORSGATE_RESULT_OK);
    policy
}

async fn ok(_req: http::Request<()>) -> Result<http::Response<()>, std::convert::Infallible> {
    Ok(http::Response::new(()))
}

fn tower_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list([HeaderValue::from_static(ORIGIN)]))
        .allow_methods(METHODS.map(|m| Method::from_bytes(m.as_bytes()).unwrap()))
        .allow_headers(HEADERS.map(http::HeaderName::from_static))
        .expose_headers([http::HeaderName::from_static("x-request-id")])
        .allow_credentials(true)
        .max_age(std::time::Duration::from_secs(600))
}

fn bench(c: &mut Criterion) {
    let one = Policy::from_json(policy_json(&[ORIGIN.to_owned()]).as_bytes()).unwrap();
    let many = Policy::from_json(policy_json(&many_origins()).as_bytes()).unwrap();
    let cases = cases();

    let mut g = c.benchmark_group("corsgate");
    for case in &cases {
        let req = http_request(case);
        g.bench_function(case.name, |b| {
            b.iter(|| corsgate_eval(black_box(&one), black_box(&req)))
        });
    }
    for case in cases.iter().take(1) {
        let req = http_request(case);
        g.bench_function("actual_allowed_100k_origins", |b| {
            b.iter(|| corsgate_eval(black_box(&many), black_box(&req)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("tower_http");
    for case in cases.iter().take(4) {
        let mut bare = tower::service_fn(ok);
        let mut cors = tower::ServiceBuilder::new()
            .layer(tower_cors())
            .service_fn(ok);
        g.bench_function(format!("{}_bare", case.name), |b| {
            b.iter_batched(
                || http_request(case),
                |req| pollster::block_on(async { bare.ready().await.unwrap().call(req).await }),
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("{}_cors", case.name), |b| {
            b.iter_batched(
                || http_request(case),
                |req| pollster::block_on(async { cors.ready().await.unwrap().call(req).await }),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// Criterion's point estimate of the mean, in ns, from this run.
fn estimate(group: &str, name: &str) -> f64 {
    let path = format!(
        "{}/criterion/{group}/{name}/new/estimates.json",
        target_dir()
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["mean"]["point_estimate"].as_f64().unwrap()
}

fn target_dir() -> String {
    std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").to_owned())
}

fn allocations_per_eval(policy: &Policy, case: &Case) -> usize {
    let req = http_request(case);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..100 {
        black_box(corsgate_eval(policy, black_box(&req)));
    }
    (ALLOCATIONS.load(Ordering::SeqCst) - before) / 100
}

fn summary() {
    let one = Policy::from_json(policy_json(&[ORIGIN.to_owned()]).as_bytes()).unwrap();
    println!("\n== corsgate summary (criterion mean estimates of this run) ==");
    println!("{:<34} {:>10} {:>13}", "case", "ns/eval", "allocations");
    for case in cases() {
        let ns = estimate("corsgate", case.name);
        println!(
            "{:<34} {:>10.1} {:>13}",
            case.name,
            ns,
            allocations_per_eval(&one, &case)
        );
    }
    let flat = estimate("corsgate", "actual_allowed_100k_origins")
        / estimate("corsgate", "actual_allowed");
    println!(
        "100,000 origins (99,000 exact, 1,000 wildcards) vs 1 origin: {flat:.2}x (target <= 1.3x)"
    );
    println!(
        "\n{:<30} {:>14} {:>14} {:>8}",
        "case", "tower-http +ns", "corsgate ns", "ratio"
    );
    for case in cases().iter().take(4) {
        let added = estimate("tower_http", &format!("{}_cors", case.name))
            - estimate("tower_http", &format!("{}_bare", case.name));
        let ours = estimate("corsgate", case.name);
        println!(
            "{:<30} {:>14.1} {:>14.1} {:>7.1}x",
            case.name,
            added,
            ours,
            added / ours
        );
    }
    println!("(ratio = tower-http's added cost / corsgate's cost; target >= 15x)");
}

/// What `--run-one` runs: corsgate on the 1-origin or the 100,000-origin
/// policy, or tower-http's service without or with the CorsLayer.
fn run_one(what: &str, case_name: &str, n: usize) {
    let case = if case_name == "actual_wildcard" {
        Case {
            name: "actual_wildcard",
            method: "GET",
            headers: vec![("origin", WILDCARD_ORIGIN.to_owned())],
        }
    } else {
        cases()
            .into_iter()
            .find(|c| c.name == case_name)
            .expect("case")
    };
    let req = http_request(&case);
    let origins = match what {
        "corsgate_100k" => many_origins(),
        "corsgate_5" => five_origins(),
        "corsgate_typical" | "corsgate_ffi_typical" => typical_origins(),
        _ => vec![ORIGIN.to_owned()],
    };
    let policy = Policy::from_json(policy_json(&origins).as_bytes()).unwrap();
    let c_policy = if what.starts_with("corsgate_ffi") {
        ffi_policy(&policy_json(&origins))
    } else {
        std::ptr::null_mut()
    };
    let mut bare = tower::service_fn(ok);
    let mut cors = tower::ServiceBuilder::new()
        .layer(tower_cors())
        .service_fn(ok);
    for _ in 0..n {
        match what {
            "corsgate" | "corsgate_5" | "corsgate_100k" | "corsgate_typical" => {
                black_box(measured_corsgate(black_box(&policy), black_box(&req)));
            }
            "corsgate_ffi" | "corsgate_ffi_typical" => {
                black_box(measured_ffi(black_box(c_policy), black_box(&req)));
            }
            // The request is built outside the measured call, which then
            // drops the response (as a server would).
            "tower_bare" => measured_tower(&mut bare, http_request(&case)),
            "tower_cors" => measured_tower(&mut cors, http_request(&case)),
            _ => panic!("--run-one: unknown {what}"),
        }
    }
}

/// What callgrind counts for corsgate (`--toggle-collect=*measured_*`).
#[inline(never)]
fn measured_corsgate(policy: &Policy, req: &http::Request<()>) -> usize {
    corsgate_eval(policy, req)
}

/// What callgrind counts for the C ABI path.
#[inline(never)]
fn measured_ffi(policy: *const ffi::corsgate_policy, req: &http::Request<()>) -> usize {
    ffi_eval(policy, req)
}

/// What callgrind counts for tower-http: one call of the service.
#[inline(never)]
fn measured_tower<S>(svc: &mut S, req: http::Request<()>)
where
    S: Service<http::Request<()>, Response = http::Response<()>>,
    S::Error: std::fmt::Debug,
{
    let resp = pollster::block_on(async { svc.ready().await.unwrap().call(req).await });
    drop(black_box(resp.unwrap()));
}

/// Instructions per call of the measured function of `run_one(what,
/// case)`: callgrind counts only inside it, so building the policy and the
/// requests is left out.
fn count_instructions(what: &str, case: &str) -> f64 {
    const N: usize = 2000;
    let out = std::process::Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            "--collect-atstart=no",
            "--toggle-collect=*measured_*",
        ])
        .arg(std::env::current_exe().unwrap())
        .args(["--run-one", what, case, &N.to_string()])
        .output()
        .expect("valgrind (apt-get install valgrind)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} {case}: {err}");
    let total: u64 = err
        .lines()
        .find_map(|l| l.split("Collected : ").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no instruction count in: {err}"));
    total as f64 / N as f64
}

/// Issue 15's instruction budgets for corsgate's column.
const BUDGETS: [(&str, u32); 4] = [
    ("actual_allowed", 250),
    ("actual_denied", 300),
    ("preflight_allowed_3_headers", 600),
    ("preflight_denied", 500),
];

fn instructions() {
    println!("== instructions per call (callgrind, inside the measured call, 2,000 calls) ==");
    println!(
        "{:<34} {:>10} {:>10} {:>22}",
        "case", "corsgate", "C ABI", "budget (issue 15)"
    );
    let mut ours = Vec::new();
    for case in cases() {
        let n = count_instructions("corsgate", case.name);
        let c = count_instructions("corsgate_ffi", case.name);
        let budget = match BUDGETS.iter().find(|(name, _)| *name == case.name) {
            Some((_, b)) if n <= *b as f64 => format!("<= {b}: met"),
            Some((_, b)) => format!("<= {b}: NOT met"),
            None => String::new(),
        };
        println!("{:<34} {:>10.0} {:>10.0} {budget:>22}", case.name, n, c);
        ours.push(n);
    }
    println!(
        "{:<34} {:>10.0} {:>10.0}",
        "actual_allowed_by_wildcard",
        count_instructions("corsgate_typical", "actual_wildcard"),
        count_instructions("corsgate_ffi_typical", "actual_wildcard")
    );
    println!(
        "(the last row: a typical policy, {}, and the origin {WILDCARD_ORIGIN})",
        typical_origins().join(" ")
    );
    println!(
        "(C ABI: corsgate_request_init/add_header, corsgate_evaluate into a \
         decision on the stack, corsgate_decision_header for each header)"
    );
    let many = count_instructions("corsgate_100k", "actual_allowed");
    let five = count_instructions("corsgate_5", "actual_allowed");
    println!(
        "100,000 origins (99,000 exact, 1,000 wildcards) vs 1 origin: {:.2}x (target <= 1.3x)",
        many / ours[0]
    );
    println!(
        "100,000 origins (99,000 exact, 1,000 wildcards) vs 5 origins: {:.2}x (up to 4 exact origins \
         are compared one by one, from 5 on they are hashed)",
        many / five
    );
    println!(
        "\n{:<30} {:>14} {:>14} {:>8}",
        "case", "tower-http +", "corsgate", "ratio"
    );
    for (case, ours) in cases().iter().take(4).zip(ours) {
        let added = count_instructions("tower_cors", case.name)
            - count_instructions("tower_bare", case.name);
        println!(
            "{:<30} {:>14.0} {:>14.0} {:>7.1}x",
            case.name,
            added,
            ours,
            added / ours
        );
    }
    println!("(ratio = tower-http's added instructions / corsgate's; target >= 15x)");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--run-one") {
        let arg = |k: usize| args.get(i + k).map(String::as_str).unwrap_or_default();
        run_one(
            arg(1),
            arg(2),
            arg(3).parse().expect("--run-one WHAT CASE N"),
        );
        return;
    }
    if args.iter().any(|a| a == "--instructions") {
        instructions();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    // `cargo test --benches` runs this binary in test mode: no estimates.
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
