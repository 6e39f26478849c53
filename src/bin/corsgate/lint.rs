//! `corsgate lint`: validate a policy and explain it in words.

use std::process::ExitCode;

use corsgate::origin::{parse_pattern, OriginPattern, PortSpec};
use serde_json::Value;

use crate::load;

/// `corsgate lint` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The policy JSON file.
    #[arg(value_name = "policy.json")]
    policy: String,
}

/// Runs `corsgate lint`: exit 0 when the policy is valid.
pub fn run(args: Args) -> Result<ExitCode, String> {
    let path = args.policy.as_str();
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
