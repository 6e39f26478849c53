//! Envoy's built-in CORS filter (`envoy.filters.http.cors`) → corsgate.
//!
//! Reads a `RouteConfiguration`, or a bootstrap whose listeners' HTTP
//! connection managers hold a `route_config`. A `CorsPolicy` sits on a
//! virtual host or a route, in `typed_per_filter_config` under
//! `envoy.filters.http.cors` or in the older inline `cors` field (virtual
//! host, or the route's `route` action); the most specific one applies,
//! whole. One policy per virtual host with a CorsPolicy
//! (`route_config/virtual_host`) and per route with its own
//! (`route_config/virtual_host/route`).
//!
//! Envoy matches origins as plain strings over the whole Origin value
//! (`suffix: example.net` also matches `https://evilexample.net` and
//! `http://x.example.net`), never checks the requested method or headers
//! (the browser does, against the lists Envoy sends), echoes the Origin,
//! answers preflights 200, and forwards preflights whose origin does not
//! match unless `forward_not_matching_preflights` is false.

use serde_json::{Map, Value};

use super::{
    admits_arbitrary_site, cap_max_age, finish, keep_valid, kind_of, normalize_origin, Item, Policy,
};

const CORS_FILTER: &str = "envoy.filters.http.cors";
const KNOWN: &[&str] = &[
    "@type",
    "allow_origin_string_match",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "max_age",
    "allow_credentials",
    "filter_enabled",
    "shadow_enabled",
    "allow_private_network_access",
    "forward_not_matching_preflights",
];

/// Whether a document is Envoy configuration.
pub fn looks_like(map: &Map<String, Value>) -> bool {
    map.contains_key("virtual_hosts")
        || map.contains_key("static_resources")
        || map
            .get("@type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("RouteConfiguration"))
}

/// One RouteConfiguration or bootstrap.
pub fn convert(map: &Map<String, Value>, at: &str, items: &mut Vec<Item>) {
    if map.contains_key("virtual_hosts") {
        route_config(map, at, items);
        return;
    }
    let listeners = map
        .get("static_resources")
        .and_then(|s| s.get("listeners"))
        .and_then(Value::as_array);
    let mut found = false;
    for listener in listeners.into_iter().flatten() {
        let chains = listener
            .get("filter_chains")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(listener.get("default_filter_chain"));
        for chain in chains {
            for filter in chain
                .get("filters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(Value::Object(rc)) = filter
                    .get("typed_config")
                    .and_then(|t| t.get("route_config"))
                {
                    found = true;
                    route_config(rc, at, items);
                }
            }
        }
    }
    if !found {
        items.push(Item::failed(
            at.to_owned(),
            "an Envoy bootstrap without any static listener route_config (RDS routes live in RouteConfiguration documents: import those)".into(),
        ));
    }
}

fn route_config(rc: &Map<String, Value>, at: &str, items: &mut Vec<Item>) {
    let rc_name = rc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("route_config")
        .to_owned();
    let vhosts = match rc.get("virtual_hosts") {
        Some(Value::Array(v)) => v,
        Some(other) => {
            items.push(Item::failed(
                rc_name,
                format!("virtual_hosts is {}, expected a list", kind_of(other)),
            ));
            return;
        }
        None => return,
    };
    let _ = at;
    // A CorsPolicy on the RouteConfiguration applies to every virtual host
    // without its own.
    let rc_policy = rc
        .get("typed_per_filter_config")
        .and_then(|t| t.get(CORS_FILTER))
        .map(|p| unwrap_filter_config(p).clone());
    for (i, vh) in vhosts.iter().enumerate() {
        let vh_name = vh
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("virtual_hosts[{i}]"), str::to_owned);
        let base = format!("{rc_name}/{vh_name}");
        match cors_policy(vh, false) {
            Ok(Some(p)) => items.push(convert_policy(&p, base.clone())),
            Ok(None) => {
                if let Some(p) = &rc_policy {
                    items.push(convert_policy(p, base.clone()));
                }
            }
            Err(e) => items.push(Item::failed(base.clone(), e)),
        }
        for (j, route) in vh
            .get("routes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let r_name = route
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("routes[{j}]"), str::to_owned);
            let name = format!("{base}/{r_name}");
            match cors_policy(route, true) {
                Ok(Some(p)) => items.push(convert_policy(&p, name)),
                Ok(None) => {}
                Err(e) => items.push(Item::failed(name, e)),
            }
        }
    }
}

/// The CorsPolicy on a virtual host or route, if any.
fn cors_policy(at: &Value, is_route: bool) -> Result<Option<Value>, String> {
    if let Some(p) = at
        .get("typed_per_filter_config")
        .and_then(|t| t.get(CORS_FILTER))
    {
        return Ok(Some(unwrap_filter_config(p).clone()));
    }
    let inline = if is_route {
        at.get("route").and_then(|r| r.get("cors"))
    } else {
        at.get("cors")
    };
    Ok(inline.cloned())
}

/// An envoy.config.route.v3.FilterConfig wraps the policy in `config`.
fn unwrap_filter_config(p: &Value) -> &Value {
    match p.get("config") {
        Some(inner)
            if p.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("FilterConfig")) =>
        {
            inner
        }
        _ => p,
    }
}

fn csv(v: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(other) => Err(format!(
            "{field} is {}, expected a comma-separated string",
            kind_of(other)
        )),
    }
}

/// A BoolValue may be written `true` or `{value: true}`.
fn boolean(v: Option<&Value>, field: &str) -> Result<Option<bool>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Object(m)) if m.len() == 1 && m.get("value").is_some_and(Value::is_boolean) => {
            Ok(m.get("value").and_then(Value::as_bool))
        }
        Some(other) => Err(format!(
            "{field} is {}, expected true or false",
            kind_of(other)
        )),
    }
}

/// A RuntimeFractionalPercent's default as a percentage.
fn percent(v: Option<&Value>, field: &str) -> Result<Option<f64>, String> {
    let Some(v) = v else { return Ok(None) };
    let Some(dv) = v.get("default_value") else {
        return Ok(Some(100.0));
    };
    let numerator = dv.get("numerator").and_then(Value::as_f64).unwrap_or(0.0);
    let denominator = match dv
        .get("denominator")
        .and_then(Value::as_str)
        .unwrap_or("HUNDRED")
    {
        "HUNDRED" => 100.0,
        "TEN_THOUSAND" => 10_000.0,
        "MILLION" => 1_000_000.0,
        other => {
            return Err(format!(
            "{field}.default_value.denominator {other:?} is not HUNDRED, TEN_THOUSAND or MILLION"
        ))
        }
    };
    Ok(Some((numerator / denominator * 100.0).min(100.0)))
}

fn convert_policy(p: &Value, name: String) -> Item {
    let mut item = Item::new(name);
    let Value::Object(p) = p else {
        item.error = Some(format!(
            "the CorsPolicy is {}, expected a mapping",
            kind_of(p)
        ));
        return item;
    };
    for key in p.keys() {
        if !KNOWN.contains(&key.as_str()) {
            let hint = super::did_you_mean(key, KNOWN)
                .map(|k| format!("; did you mean {k:?}?"))
                .unwrap_or_default();
            item.error = Some(format!(
                "{key}: not a CorsPolicy field (Envoy would refuse the configuration){hint}"
            ));
            return item;
        }
    }
    let result = (|| -> Result<(Policy, String), String> {
        let credentials =
            boolean(p.get("allow_credentials"), "allow_credentials")?.unwrap_or(false);
        let enabled = percent(p.get("filter_enabled"), "filter_enabled")?.unwrap_or(100.0);
        let shadow = percent(p.get("shadow_enabled"), "shadow_enabled")?.unwrap_or(0.0);
        let mut policy = Policy {
            allow_credentials: credentials,
            preflight_status: Some(200),
            ..Policy::default()
        };
        if enabled <= 0.0 {
            if shadow <= 0.0 {
                return Err("filter_enabled is 0%: Envoy applies no CORS here; there is nothing to enforce (remove the policy, or import it with filter_enabled at 100%)".into());
            }
            policy.mode = Some("report");
            if shadow < 100.0 {
                item.notes.push(format!(
                    "shadow_enabled {shadow}%: corsgate's report mode evaluates every request"
                ));
            }
        } else if enabled < 100.0 {
            return Err(format!(
                "filter_enabled {enabled}%: Envoy enforces CORS on a fraction of requests only; corsgate enforces on every request or reports on every request: set filter_enabled to 100% (or 0% with shadow_enabled for report mode) and import again"
            ));
        }
        if boolean(
            p.get("forward_not_matching_preflights"),
            "forward_not_matching_preflights",
        )? == Some(false)
        {
            policy.on_preflight_deny = Some("reject");
        } else {
            policy.on_preflight_deny = Some("forward");
        }
        if boolean(
            p.get("allow_private_network_access"),
            "allow_private_network_access",
        )? == Some(true)
        {
            item.notes.push("allow_private_network_access: corsgate does not answer Private Network Access preflights; such requests from public sites to this private address are refused by Chrome".into());
        }
        let matchers = match p.get("allow_origin_string_match") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(m)) => m.clone(),
            Some(other) => {
                return Err(format!(
                    "allow_origin_string_match is {}, expected a list of StringMatchers",
                    kind_of(other)
                ))
            }
        };
        if matchers.is_empty() {
            return Err("allow_origin_string_match is empty: Envoy admits no origin, so there is nothing to enforce".into());
        }
        let mut described = Vec::new();
        for (i, m) in matchers.iter().enumerate() {
            let (patterns, what) = translate(m, i, credentials, &mut item.notes)?;
            described.push(what);
            for pattern in patterns {
                if !policy.allow_origins.contains(&pattern) {
                    policy.allow_origins.push(pattern);
                }
            }
        }
        if policy.allow_origins.is_empty() {
            return Err(format!(
                "no origin a browser sends matched {}: nothing to enforce; write the origins you serve, e.g. \"https://app.example.com\"",
                described.join(", ")
            ));
        }
        let mut methods = csv(p.get("allow_methods"), "allow_methods")?;
        let mut headers = csv(p.get("allow_headers"), "allow_headers")?;
        if credentials {
            // Envoy sends `*` as written. With credentials a browser reads
            // it as a name, not a wildcard (Fetch), while uncredentialed
            // requests get the wildcard; corsgate's `*` with credentials
            // echoes the request, which would admit more: drop it.
            for (list, field, what) in [
                (&mut methods, "allow_methods", "method"),
                (&mut headers, "allow_headers", "request header"),
            ] {
                if list.iter().any(|m| m == "*") {
                    list.retain(|m| m != "*");
                    item.notes.push(format!(
                        "{field} \"*\" with allow_credentials: Envoy sends \"*\" literally, which browsers read as a {what} named \"*\" on credentialed requests and as a wildcard on uncredentialed ones; corsgate cannot answer both, so \"*\" is dropped and only the listed (or safelisted) ones stay: uncredentialed requests with any other {what} become refused"
                    ));
                }
            }
        }
        if !methods.is_empty() {
            policy.allow_methods = Some(keep_valid(
                "allow_methods",
                methods,
                &mut item.notes,
                "method",
            ));
        }
        policy.allow_headers = keep_valid(
            "allow_headers",
            headers
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            &mut item.notes,
            "header",
        );
        let expose = csv(p.get("expose_headers"), "expose_headers")?;
        policy.expose_headers = keep_valid(
            "expose_headers",
            expose.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
            &mut item.notes,
            "header",
        );
        if let Some(age) = p.get("max_age") {
            let text = match age {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(format!(
                        "max_age is {}, expected seconds as a string",
                        kind_of(other)
                    ))
                }
            };
            let n: u64 = text
                .trim()
                .parse()
                .map_err(|_| format!("max_age {text:?} is not a whole number of seconds"))?;
            policy.max_age = Some(cap_max_age(n, &mut item.notes, "max_age"));
        }
        let said = format!(
            "Envoy allowed {}{}",
            described.join(", "),
            if credentials {
                " with allow_credentials"
            } else {
                ""
            }
        );
        Ok((policy, said))
    })();
    match result {
        Ok((policy, said)) => finish(item, policy, &said),
        Err(e) => {
            item.error = Some(e);
            item
        }
    }
}

/// One StringMatcher → corsgate patterns admitting no origin Envoy did not,
/// plus a note for each class of origin Envoy admitted that they refuse.
fn translate(
    m: &Value,
    i: usize,
    credentials: bool,
    notes: &mut Vec<String>,
) -> Result<(Vec<String>, String), String> {
    let field = format!("allow_origin_string_match[{i}]");
    let Value::Object(m) = m else {
        return Err(format!(
            "{field} is {}, expected a StringMatcher",
            kind_of(m)
        ));
    };
    let ignore_case =
        boolean(m.get("ignore_case"), &format!("{field}.ignore_case"))?.unwrap_or(false);
    let kinds = ["exact", "prefix", "suffix", "contains", "safe_regex"];
    let Some(kind) = kinds.iter().copied().find(|k| m.contains_key(*k)) else {
        return Err(format!(
            "{field}: no exact, prefix, suffix, contains or safe_regex"
        ));
    };
    let raw = match (kind, m.get(kind)) {
        ("safe_regex", Some(r)) => r
            .get("regex")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{field}.safe_regex.regex is missing or not a string"))?
            .to_owned(),
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(other)) => {
            return Err(format!(
                "{field}.{kind} is {}, expected a string",
                kind_of(other)
            ))
        }
        _ => unreachable!(),
    };
    let what = format!(
        "{kind} {raw:?}{}",
        if ignore_case { " (ignore_case)" } else { "" }
    );
    let value = if ignore_case {
        raw.to_ascii_lowercase()
    } else {
        raw.clone()
    };
    if kind != "safe_regex" && value.bytes().any(|b| b.is_ascii_uppercase()) {
        notes.push(format!(
            "{what}: browsers send origins in lowercase, so it never matched one (without ignore_case): not imported"
        ));
        return Ok((Vec::new(), what));
    }
    let mut patterns = Vec::new();
    match kind {
        "exact" => match normalize_origin(&value) {
            Ok(o) if o == value => patterns.push(o),
            _ if value == "null" => notes.push(format!(
                "{what}: the \"null\" origin (sandboxed frames, file: and data: pages) is refused: any site can produce it"
            )),
            _ => notes.push(format!("{what}: not an origin a browser sends, so it never matched: not imported")),
        },
        "suffix" | "prefix" | "contains" => {
            if let Some(host) = domain_part(kind, &value) {
                host_patterns(kind, &value, &host, credentials, &what, &mut patterns, notes);
            } else {
                // No origin shape to keep: the exact set, as a regex.
                let escaped = regex_escape(&value);
                let re = match kind {
                    "prefix" => format!("regex:{escaped}.*"),
                    // With credentials, plain-http origins stay out.
                    "suffix" if credentials && !value.contains("://") => {
                        notes.push(format!(
                            "{what}: http:// origins become refused: credentials over plain HTTP can be read by anyone on the path"
                        ));
                        format!("regex:https://.*{escaped}")
                    }
                    "suffix" => format!("regex:.*{escaped}"),
                    _ => format!("regex:.*{escaped}.*"),
                };
                if credentials {
                    if let Some(probe) = admits_arbitrary_site(std::slice::from_ref(&re)) {
                        return Err(format!(
                            "Envoy allowed {what} with allow_credentials: any site can have such an origin (e.g. {probe}), so any site could read credentialed responses; corsgate refuses that. Write instead: {}",
                            super::WRITE_INSTEAD_ORIGINS
                        ));
                    }
                }
                patterns.push(re);
            }
        }
        _ => {
            // safe_regex: RE2, matched against the whole Origin, as
            // corsgate's `regex:` is: the same set.
            let re = format!("regex:{raw}");
            if credentials {
                if let Some(probe) = admits_arbitrary_site(std::slice::from_ref(&re)) {
                    return Err(format!(
                        "Envoy allowed {what} with allow_credentials: it matches origins any site can have (e.g. {probe}); corsgate refuses that. Write instead: {}",
                        super::WRITE_INSTEAD_ORIGINS
                    ));
                }
            }
            if raw.contains('.') && !raw.contains("\\.") {
                notes.push(format!("{what}: an unescaped \".\" matches any character, kept as Envoy matched it; write \"\\\\.\""));
            }
            patterns.push(re);
        }
    }
    Ok((patterns, what))
}

/// The DNS name a prefix/suffix/contains matcher is about, when it reads as
/// one (`.example.net`, `example.net`, `https://app.example.com`).
fn domain_part(kind: &str, value: &str) -> Option<String> {
    let host = match kind {
        "prefix" => value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))?,
        _ => value.split_once("://").map_or(value, |(_, h)| h),
    };
    let host = host.trim_start_matches('.');
    // Whole DNS labels only: `app.` or `-prod.example.com` name no host.
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let valid = labels_ok
        && host.contains('.')
        && normalize_origin(&format!("https://{host}"))
            .is_ok_and(|o| o == format!("https://{host}"));
    valid.then(|| host.to_owned())
}

#[allow(clippy::too_many_arguments)]
fn host_patterns(
    kind: &str,
    value: &str,
    host: &str,
    credentials: bool,
    what: &str,
    patterns: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let scheme_given = value.split_once("://").map(|(s, _)| s.to_owned());
    let schemes: Vec<&str> = match scheme_given.as_deref() {
        Some("https") => vec!["https"],
        Some("http") => vec!["http"],
        _ => vec!["https", "http"],
    };
    let loopback = corsgate::origin::is_loopback_host(host);
    let mut refused = Vec::new();
    for scheme in schemes {
        // An http:// origin written out by the user stays in, and the
        // finish step refuses the whole policy; one only implied is dropped.
        if scheme == "http" && credentials && !loopback && scheme_given.is_none() {
            refused.push(format!(
                "http:// origins (http://…{host}) become refused: credentials over plain HTTP can be read by anyone on the path"
            ));
            continue;
        }
        match kind {
            "suffix" if scheme_given.is_some() => patterns.push(format!("{scheme}://{host}")),
            "suffix" => {
                patterns.push(format!("{scheme}://*.{host}"));
                if !value.starts_with('.') {
                    patterns.push(format!("{scheme}://{host}"));
                }
            }
            "prefix" => patterns.push(format!("{scheme}://{host}:*")),
            _ => {
                patterns.push(format!("{scheme}://{host}:*"));
                patterns.push(format!("{scheme}://*.{host}:*"));
            }
        }
    }
    match kind {
        "suffix" if scheme_given.is_none() && !value.starts_with('.') => refused.push(format!(
            "origins whose host merely ends in \"{host}\" (e.g. https://evil{host}) become refused: another registrable domain, anyone can register it"
        )),
        "suffix" if scheme_given.is_none() => refused.push(format!(
            "origins of {host} with a port (e.g. https://a.{host}:8443) were never matched by the suffix and still are not"
        )),
        "prefix" => refused.push(format!(
            "origins whose host merely begins with \"{host}\" (e.g. {}://{host}.evil.example) become refused: another registrable domain",
            scheme_given.as_deref().unwrap_or("https")
        )),
        "contains" => refused.push(format!(
            "origins that merely contain \"{host}\" elsewhere (e.g. https://{host}.evil.example) become refused: another registrable domain"
        )),
        _ => {}
    }
    for r in refused {
        if !r.contains("never matched") {
            notes.push(format!("{what}: {r}"));
        }
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
