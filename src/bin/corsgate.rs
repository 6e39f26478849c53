//! `corsgate`: debug CORS without a server.
//!
//! ```text
//! corsgate check --policy p.json --origin O [--method M] [--request-method M]
//!                [--request-headers H]... [--header "Name: value"]... [--format text|json]
//! corsgate lint p.json
//! ```
//! Exit codes: 0 allowed or not CORS, 1 denied, 2 bad policy or arguments.

use std::process::ExitCode;

use corsgate::origin::{parse_pattern, OriginPattern, PortSpec};
use corsgate::{Policy, RawPolicy, Request, Verdict};
use serde_json::{json, Value};

const USAGE: &str = "usage:
  corsgate check --policy <policy.json> [--origin <origin>]... [--method <method>]
                 [--request-method <method>] [--request-headers <names>]...
                 [--header \"Name: value\"]... [--format text|json]
  corsgate lint <policy.json>
  corsgate diff <old.json> <new.json> [--format text|json]
  corsgate audit <policy.json> [--format text|json]

check prints the verdict, the reason and the exact response headers for one
request; --origin and --request-headers may repeat (one per header line).
--method defaults to OPTIONS when --request-method is given, else GET.
Exit codes: 0 allowed or not CORS, 1 denied, 2 bad policy or arguments.
diff: 0 nothing widened, 1 access widened, 2 bad input. A file may be - (stdin).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => check(&args[1..]),
        Some("lint") => lint(&args[1..]),
        Some("diff") => diff(&args[1..]),
        Some("audit") => audit(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some("-V" | "--version") => {
            println!("corsgate {}", corsgate::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("expected a command\n{USAGE}")),
    };
    result.unwrap_or_else(|message| {
        eprintln!("corsgate: {message}");
        ExitCode::from(2)
    })
}

/// Reads and compiles a policy file, or explains why not.
fn load(path: &str) -> Result<(RawPolicy, Policy), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let invalid = |e: corsgate::PolicyError| format!("{path}: invalid policy:\n{e}");
    let (raw, unknown) = RawPolicy::read_json(&bytes).map_err(invalid)?;
    let policy = Policy::compile_read(&raw, unknown).map_err(invalid)?;
    Ok((raw, policy))
}

fn check(args: &[String]) -> Result<ExitCode, String> {
    let mut policy_path = None;
    let mut method = None;
    let mut json_format = false;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--policy" => policy_path = Some(value()?),
            "--method" => method = Some(value()?),
            "--origin" => headers.push(("Origin".into(), value()?)),
            "--request-method" => headers.push(("Access-Control-Request-Method".into(), value()?)),
            "--request-headers" => {
                headers.push(("Access-Control-Request-Headers".into(), value()?))
            }
            "--header" => {
                let line = value()?;
                let (name, v) = line
                    .split_once(':')
                    .ok_or_else(|| format!("--header wants \"Name: value\", got {line:?}"))?;
                headers.push((name.trim().to_owned(), v.trim_start().to_owned()));
            }
            "--format" => {
                json_format = match value()?.as_str() {
                    "json" => true,
                    "text" => false,
                    other => return Err(format!("--format is text or json, not {other:?}")),
                }
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let policy_path = policy_path.ok_or_else(|| format!("--policy is required\n{USAGE}"))?;
    let (_, policy) = load(&policy_path)?;
    let preflight = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("access-control-request-method"));
    let method = method.unwrap_or_else(|| if preflight { "OPTIONS" } else { "GET" }.into());
    let mut request = Request::new(method.as_bytes());
    for (name, value) in &headers {
        request.add_header(name.as_bytes(), value.as_bytes());
    }
    let d = policy.evaluate(&request);
    let out_headers: Vec<(String, String)> = d
        .headers()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    if json_format {
        let doc = json!({
            "verdict": d.verdict.as_str(),
            "kind": d.kind.as_str(),
            "reason": d.reason.as_str(),
            "detail": String::from_utf8_lossy(d.detail),
            "action": d.action.as_str(),
            "status": if d.status == 0 { Value::Null } else { d.status.into() },
            "strip_upstream": d.strip_upstream,
            "report_only": d.report_only,
            "headers": out_headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
        });
        println!("{doc}");
    } else {
        let detail = if d.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", String::from_utf8_lossy(d.detail))
        };
        println!("verdict: {}", d.verdict.as_str());
        println!("kind:    {}", d.kind.as_str());
        println!("reason:  {}{detail}", d.reason.as_str());
        match d.status {
            0 if d.report_only => println!("action:  continue (report mode: nothing is changed)"),
            0 => println!(
                "action:  continue to the upstream, then write the headers below on its response"
            ),
            status => println!("action:  respond {status} now (the upstream is not called)"),
        }
        if d.strip_upstream {
            println!("         (the upstream's own Access-Control-* headers are removed)");
        }
        if out_headers.is_empty() {
            println!("headers: (none)");
        } else {
            println!("headers:");
            for (name, value) in &out_headers {
                println!("  {name}: {value}");
            }
        }
    }
    Ok(match d.verdict {
        Verdict::Denied => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn lint(args: &[String]) -> Result<ExitCode, String> {
    let [path] = args else {
        return Err(format!("lint takes one policy file\n{USAGE}"));
    };
    let (raw, policy) = load(path)?;
    let list = |field: &str| -> Vec<String> {
        match raw.get(field) {
            Some(corsgate::config::RawValue::Json(Value::Array(items))) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(corsgate::config::RawValue::Text(values)) => values.clone(),
            _ => Vec::new(),
        }
    };
    let scalar = |field: &str| {
        raw.get(field).map(|v| match v {
            corsgate::config::RawValue::Json(Value::String(s)) => s.clone(),
            corsgate::config::RawValue::Json(other) => other.to_string(),
            corsgate::config::RawValue::Text(t) => t.join(" "),
        })
    };
    println!("{path}: valid policy");
    println!("origins:");
    let mut notes = Vec::new();
    for text in list("allow_origins") {
        let explained = match parse_pattern(&text) {
            Ok(OriginPattern::Any) => "any origin (Access-Control-Allow-Origin: *)".to_owned(),
            Ok(OriginPattern::Exact(_)) => "exactly this origin".to_owned(),
            Ok(OriginPattern::AnyPort { scheme, host }) => {
                format!("{scheme} on host {host}, any port")
            }
            Ok(OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            }) => {
                let port = match port {
                    PortSpec::Default => "default port".to_owned(),
                    PortSpec::Fixed(p) => format!("port {p}"),
                    PortSpec::Any => "any port".to_owned(),
                };
                format!("{scheme} on any subdomain of {suffix} (not {suffix} itself), {port}")
            }
            Ok(OriginPattern::Regex(_)) => "origins the regex matches in full".to_owned(),
            Err(e) => e,
        };
        println!("  {text:<40} {explained}");
    }
    let methods = list("allow_methods");
    let methods = if methods.is_empty() {
        "GET, HEAD, POST (default)".to_owned()
    } else {
        methods.join(", ")
    };
    println!("methods:          {methods} (GET, HEAD and POST never need a preflight)");
    let headers = list("allow_headers");
    let headers = if headers.is_empty() {
        "none besides the CORS-safelisted ones".to_owned()
    } else {
        headers.join(", ")
    };
    println!("request headers:  {headers}");
    let exposed = list("expose_headers");
    let exposed = if exposed.is_empty() {
        "none besides the CORS-safelisted ones".to_owned()
    } else {
        exposed.join(", ")
    };
    println!("exposed headers:  {exposed}");
    let credentials = scalar("allow_credentials").is_some_and(|v| v == "true" || v == "on");
    println!(
        "credentials:      {}",
        if credentials {
            "allowed (cookies, HTTP auth)"
        } else {
            "not allowed"
        }
    );
    match scalar("max_age") {
        Some(age) => {
            if age.parse::<u64>().is_ok_and(|a| a > 7200) {
                notes.push(format!(
                    "max_age {age}: Chromium caps preflight caching at 7200 s"
                ));
            }
            println!("preflight cache:  {age} s");
        }
        None => println!("preflight cache:  browser default (5 s)"),
    }
    println!(
        "allowed preflight: {}",
        scalar("preflight_status").unwrap_or_else(|| "204".into())
    );
    println!(
        "denied preflight:  {}",
        scalar("on_preflight_deny").unwrap_or_else(|| "reject".into())
    );
    println!(
        "denied request:    {}",
        scalar("on_actual_deny").unwrap_or_else(|| "omit".into())
    );
    println!(
        "mode:              {}",
        if policy.is_report_only() {
            "report (changes nothing)"
        } else {
            "enforce"
        }
    );
    println!(
        "vary:              {}",
        if policy.is_origin_independent() {
            "not needed on allowed responses (every origin answered alike)"
        } else {
            "Vary: Origin on every response"
        }
    );
    for note in notes {
        println!("note: {note}");
    }
    for warning in policy.warnings() {
        println!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a policy file (`-` for stdin) for review.
fn review_input(path: &str) -> Result<corsgate::review::Reviewed, String> {
    let bytes = if path == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| format!("stdin: {e}"))?;
        b
    } else {
        std::fs::read(path).map_err(|e| format!("{path}: {e}"))?
    };
    corsgate::review::read(&bytes).map_err(|e| format!("{path}: {e}"))
}

/// Positional arguments and `--format json`.
fn review_args(args: &[String]) -> Result<(Vec<&str>, bool), String> {
    let mut files = Vec::new();
    let mut json_format = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--format" => {
                json_format = match it.next().map(String::as_str) {
                    Some("json") => true,
                    Some("text") => false,
                    other => return Err(format!("--format is text or json, not {other:?}")),
                }
            }
            file => files.push(file),
        }
    }
    Ok((files, json_format))
}

fn diff(args: &[String]) -> Result<ExitCode, String> {
    let (files, json_format) = review_args(args)?;
    let [old, new] = files[..] else {
        return Err(format!("diff takes two policy files\n{USAGE}"));
    };
    let d = corsgate::review::diff(&review_input(old)?, &review_input(new)?)?;
    if json_format {
        println!("{}", d.to_json());
    } else {
        print!("{}", d.to_text());
    }
    Ok(if d.widened() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn audit(args: &[String]) -> Result<ExitCode, String> {
    let (files, json_format) = review_args(args)?;
    let [path] = files[..] else {
        return Err(format!("audit takes one policy file\n{USAGE}"));
    };
    let r = review_input(path)?;
    if json_format {
        println!("{}", corsgate::review::audit_json(&r));
    } else {
        print!("{}", corsgate::review::audit_text(&r));
    }
    Ok(ExitCode::SUCCESS)
}
