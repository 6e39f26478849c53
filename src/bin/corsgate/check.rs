//! `corsgate check`: one request through a policy, without a server.

use std::process::ExitCode;

use corsgate::{Request, Verdict};
use serde_json::{json, Value};

use crate::{load, Format};

/// `corsgate check` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The policy JSON file.
    #[arg(long, value_name = "policy.json")]
    policy: String,
    /// An Origin header line (repeat for several lines).
    #[arg(long)]
    origin: Vec<String>,
    /// The request method (default: OPTIONS with --request-method, else GET).
    #[arg(long)]
    method: Option<String>,
    /// Access-Control-Request-Method: makes the request a preflight.
    #[arg(long)]
    request_method: Option<String>,
    /// An Access-Control-Request-Headers line (repeat for several lines).
    #[arg(long, value_name = "names")]
    request_headers: Vec<String>,
    /// Any other request header line, "Name: value" (repeatable).
    #[arg(long, value_name = "Name: value")]
    header: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// Runs `corsgate check`: exit 0 allowed or not CORS, 1 denied.
pub fn run(args: Args) -> Result<ExitCode, String> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for origin in args.origin {
        headers.push(("Origin".into(), origin));
    }
    if let Some(m) = args.request_method {
        headers.push(("Access-Control-Request-Method".into(), m));
    }
    for line in args.request_headers {
        headers.push(("Access-Control-Request-Headers".into(), line));
    }
    for line in &args.header {
        let (name, v) = line
            .split_once(':')
            .ok_or_else(|| format!("--header wants \"Name: value\", got {line:?}"))?;
        headers.push((name.trim().to_owned(), v.trim_start().to_owned()));
    }
    let json_format = args.format == Format::Json;
    let (_, policy) = load(&args.policy)?;
    let preflight = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("access-control-request-method"));
    let method = args
        .method
        .unwrap_or_else(|| if preflight { "OPTIONS" } else { "GET" }.into());
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
