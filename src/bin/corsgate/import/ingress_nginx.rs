//! ingress-nginx CORS annotations → a corsgate policy.
//!
//! What ingress-nginx does, read from its source (kubernetes/ingress-nginx,
//! `internal/ingress/annotations/cors/main.go` and the nginx template's
//! CORS block): nothing unless `enable-cors` parses as true; origins default
//! to `*`; a `*` anywhere in the list means `*`, sent literally as
//! `Access-Control-Allow-Origin: *` even with credentials; otherwise the
//! request Origin is echoed when it matches `(o1|o2…)$` case-insensitively,
//! where `*` in an origin stands for exactly one DNS label; an origin that
//! does not match its syntax is skipped; credentials default to true;
//! methods default to `GET, PUT, POST, DELETE, PATCH, OPTIONS`, headers to
//! `DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,
//! Cache-Control,Content-Type,Range,Authorization`, max-age to 1728000; an
//! invalid methods/headers/expose value falls back to the default (expose:
//! none); preflights are answered 204.

use serde_json::{Map, Value};

use super::{
    cap_max_age, did_you_mean, finish, k8s_name, keep_valid, normalize_origin, Item, Policy,
};

const PREFIX: &str = "nginx.ingress.kubernetes.io/";
const KNOWN: &[&str] = &[
    "enable-cors",
    "cors-allow-origin",
    "cors-allow-methods",
    "cors-allow-headers",
    "cors-expose-headers",
    "cors-allow-credentials",
    "cors-max-age",
];
const DEFAULT_METHODS: &str = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
const DEFAULT_HEADERS: &str =
    "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization";
const DEFAULT_MAX_AGE: u64 = 1_728_000;

/// Go's strconv.ParseBool, which ingress-nginx uses.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn token_list(s: &str, allow_star: bool) -> Option<Vec<String>> {
    // ingress-nginx's `^([A-Za-z0-9\-\_]+,?\s?)+$` (methods: letters only).
    let ok = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_' | b',' | b' ' | b'\t')
                || (allow_star && b == b'*')
        });
    ok.then(|| {
        s.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// One Ingress.
pub fn convert(map: &Map<String, Value>, at: &str, items: &mut Vec<Item>) {
    let name = k8s_name(map).unwrap_or_else(|| at.to_owned());
    let annotations = match map.get("metadata").and_then(|m| m.get("annotations")) {
        None | Some(Value::Null) => return,
        Some(Value::Object(a)) => a,
        Some(other) => {
            items.push(Item::failed(
                name,
                format!(
                    "metadata.annotations is {}, expected a mapping",
                    super::kind_of(other)
                ),
            ));
            return;
        }
    };
    let mut notes = Vec::new();
    let mut get = |key: &str| -> Option<String> {
        match annotations.get(&format!("{PREFIX}{key}"))? {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                notes.push(format!(
                    "{PREFIX}{key} is {}; Kubernetes annotations are strings: ignored",
                    super::kind_of(other)
                ));
                None
            }
        }
    };
    let enable = get("enable-cors");
    let origin = get("cors-allow-origin");
    let methods = get("cors-allow-methods");
    let headers = get("cors-allow-headers");
    let expose = get("cors-expose-headers");
    let credentials = get("cors-allow-credentials");
    let max_age = get("cors-max-age");
    let mut item = Item::new(name);
    item.notes = notes;
    let mut any_cors = enable.is_some();
    for key in annotations.keys() {
        let Some(short) = key.strip_prefix(PREFIX) else {
            continue;
        };
        if (short.starts_with("cors") || short.contains("cors")) && !KNOWN.contains(&short) {
            any_cors = true;
            let hint = did_you_mean(short, KNOWN)
                .map(|k| format!("; did you mean \"{PREFIX}{k}\"?"))
                .unwrap_or_default();
            item.notes.push(format!(
                "{key}: not an ingress-nginx CORS annotation, ignored as ingress-nginx ignores it{hint}"
            ));
        }
    }
    if !any_cors && origin.is_none() {
        return;
    }
    if enable.as_deref().and_then(parse_bool) != Some(true) {
        item.notes.push(format!(
            "{PREFIX}enable-cors is {}: ingress-nginx sends no CORS headers, so there is no policy to import",
            enable.as_deref().map_or("absent".into(), |v| format!("{v:?}"))
        ));
        items.push(item);
        return;
    }

    let mut policy = Policy {
        preflight_status: Some(204),
        ..Policy::default()
    };
    let source_credentials = match credentials.as_deref() {
        None => true,
        Some(v) => parse_bool(v).unwrap_or_else(|| {
            item.notes.push(format!(
                "cors-allow-credentials {v:?} is not a boolean: ingress-nginx falls back to true"
            ));
            true
        }),
    };
    policy.allow_credentials = source_credentials;

    // Origins.
    let mut star = origin.is_none();
    let mut origins = Vec::new();
    if let Some(list) = &origin {
        for raw in list.split(',').map(str::trim) {
            if raw == "*" {
                star = true;
                break;
            }
            if !ingress_origin_syntax(raw) {
                item.notes.push(format!(
                    "cors-allow-origin {raw:?} is skipped by ingress-nginx (not http(s)://host[:port]): not imported"
                ));
                continue;
            }
            match translate_origin(raw) {
                Ok(pattern) => origins.push(pattern),
                Err(why) => item.notes.push(format!(
                    "cors-allow-origin {raw:?}: {why}: no browser origin ever matched it, not imported"
                )),
            }
        }
    }
    let said_origin = origin.as_deref().unwrap_or("(absent: defaults to *)");
    if star {
        policy.allow_origins = vec!["*".into()];
        if source_credentials {
            // `*` is sent literally: browsers refuse it for credentialed
            // requests, so what they were ever allowed is `*` without
            // credentials. Not an unsafe source, just a misleading one.
            policy.allow_credentials = false;
            item.notes.push(
                "cors-allow-origin is * and cors-allow-credentials is true (ingress-nginx's defaults when absent): ingress-nginx sends \"Access-Control-Allow-Origin: *\" with \"Access-Control-Allow-Credentials: true\", which browsers refuse for credentialed requests; the policy is \"*\" without credentials, exactly what browsers allowed".into(),
            );
        }
    } else if origins.is_empty() {
        item.notes.push(
            "no valid origin in cors-allow-origin: ingress-nginx sends no CORS headers, so there is no policy to import".into(),
        );
        items.push(item);
        return;
    } else {
        if source_credentials {
            // A wildcard over a public suffix (`https://*.github.io`) with
            // credentials: judged as corsgate's own `*.` pattern would be.
            let wild: Vec<String> = origins
                .iter()
                .filter_map(|o| o.strip_prefix("regex:"))
                .map(|r| r.replace("[a-z0-9-]+\\.", "*.").replace("\\.", "."))
                .collect();
            let doc = serde_json::json!({"allow_origins": wild, "allow_credentials": true});
            if let (false, Err(e)) = (
                wild.is_empty(),
                corsgate::Policy::from_json(doc.to_string().as_bytes()),
            ) {
                item.error = Some(format!(
                    "ingress-nginx allowed cors-allow-origin {said_origin:?} with credentials, which corsgate refuses:\n{e}"
                ));
                items.push(item);
                return;
            }
        }
        policy.allow_origins = origins;
    }

    // Methods, headers, expose headers.
    let methods = match methods.as_deref().map(|m| (m, token_list(m, false))) {
        None => token_list(DEFAULT_METHODS, false).unwrap_or_default(),
        Some((_, Some(list)))
            if list
                .iter()
                .all(|m| m.bytes().all(|b| b.is_ascii_alphabetic())) =>
        {
            list
        }
        Some((raw, _)) => {
            item.notes.push(format!(
                "cors-allow-methods {raw:?} does not pass ingress-nginx's check: it falls back to {DEFAULT_METHODS:?}"
            ));
            token_list(DEFAULT_METHODS, false).unwrap_or_default()
        }
    };
    policy.allow_methods = Some(keep_valid(
        "allow_methods",
        methods,
        &mut item.notes,
        "method",
    ));
    let headers = match headers.as_deref().map(|h| (h, token_list(h, false))) {
        None => token_list(DEFAULT_HEADERS, false).unwrap_or_default(),
        Some((_, Some(list))) => list,
        Some((raw, None)) => {
            item.notes.push(format!(
                "cors-allow-headers {raw:?} does not pass ingress-nginx's check: it falls back to its default list"
            ));
            token_list(DEFAULT_HEADERS, false).unwrap_or_default()
        }
    };
    let headers = headers
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    policy.allow_headers = keep_valid("allow_headers", headers, &mut item.notes, "header");
    let expose = match expose.as_deref().map(|h| (h, token_list(h, true))) {
        None => Vec::new(),
        Some((_, Some(list))) => list,
        Some((raw, None)) => {
            item.notes.push(format!(
                "cors-expose-headers {raw:?} does not pass ingress-nginx's check: it sends none"
            ));
            Vec::new()
        }
    };
    let expose = expose.into_iter().map(|h| h.to_ascii_lowercase()).collect();
    policy.expose_headers = keep_valid("expose_headers", expose, &mut item.notes, "header");

    // Max-age.
    let age = match max_age.as_deref() {
        None => DEFAULT_MAX_AGE,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => n as u64,
            _ => {
                item.notes.push(format!(
                    "cors-max-age {v:?} is not a whole number of seconds: ingress-nginx falls back to {DEFAULT_MAX_AGE}"
                ));
                DEFAULT_MAX_AGE
            }
        },
    };
    let what = if max_age.is_none() {
        "cors-max-age (absent: ingress-nginx's default)"
    } else {
        "cors-max-age"
    };
    policy.max_age = Some(cap_max_age(age, &mut item.notes, what));

    let said = format!(
        "ingress-nginx allowed cors-allow-origin {said_origin:?} with cors-allow-credentials {}",
        source_credentials
    );
    items.push(finish(item, policy, &said));
}

/// ingress-nginx's origin check: `^(https?://(\*\.)?[A-Za-z0-9\-\.]*(:[0-9]+)?|\*)?$`.
fn ingress_origin_syntax(o: &str) -> bool {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    let rest = rest.strip_prefix("*.").unwrap_or(rest);
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && (port.is_empty() && !rest.ends_with(':') || port.bytes().all(|b| b.is_ascii_digit()))
}

/// One listed origin → a corsgate pattern admitting exactly what
/// ingress-nginx's regex admitted of the origins browsers send.
fn translate_origin(raw: &str) -> Result<String, String> {
    let lower = raw.to_ascii_lowercase();
    match lower.split_once("://*.") {
        None => normalize_exact(&lower),
        Some((scheme, base)) => {
            // `*` is exactly one DNS label in ingress-nginx: corsgate's
            // `*.` is one or more, so the pattern is a regex.
            let check = normalize_exact(&format!("{scheme}://x.{base}"))?;
            let escaped = check["://x.".len() + scheme.len()..].replace('.', "\\.");
            Ok(format!("regex:{scheme}://[a-z0-9-]+\\.{escaped}"))
        }
    }
}

fn normalize_exact(o: &str) -> Result<String, String> {
    // ingress-nginx compares the text as written: `https://a.com:443` never
    // matches what a browser sends (`https://a.com`).
    let normalized = normalize_origin(o)?;
    if normalized != o {
        return Err(format!("browsers send {normalized:?}, never {o:?}"));
    }
    Ok(normalized)
}
