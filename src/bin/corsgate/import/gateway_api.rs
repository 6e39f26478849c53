//! Gateway API `HTTPRoute` (v1) `CORS` filters → corsgate policies, one per
//! rule that has a CORS filter (on the rule, or on its backendRefs).
//!
//! Semantics from GEP-1767 and the v1 API reference: `allowOrigins` holds
//! `*` or `scheme://host[:port]` where the host may start with `*.` (one or
//! more labels, as the conformance test "wildcard matching any number of
//! periods left to '*'" shows); a default port is the same origin as none;
//! `allowMethods`/`allowHeaders` may be `["*"]`; `maxAge` defaults to 5 s;
//! `allowOrigins: ["*"]` with `allowCredentials: true` makes the gateway
//! echo any Origin with credentials. Implementations answer preflights 200,
//! which the policy keeps.

use serde_json::{Map, Value};

use super::{
    cap_max_age, did_you_mean, finish, k8s_name, kind_of, normalize_origin, string_list, Item,
    Policy,
};

const FIELDS: &[&str] = &[
    "allowOrigins",
    "allowMethods",
    "allowHeaders",
    "exposeHeaders",
    "allowCredentials",
    "maxAge",
];

/// One HTTPRoute.
pub fn convert(map: &Map<String, Value>, at: &str, items: &mut Vec<Item>) {
    let name = k8s_name(map).unwrap_or_else(|| at.to_owned());
    if let Some(Value::String(v)) = map.get("apiVersion") {
        if !v.starts_with("gateway.networking.k8s.io/") {
            items.push(Item::failed(
                name,
                format!(
                    "HTTPRoute of apiVersion {v:?}: corsgate reads gateway.networking.k8s.io/v1"
                ),
            ));
            return;
        }
    }
    let rules = match map.get("spec").and_then(|s| s.get("rules")) {
        None | Some(Value::Null) => return,
        Some(Value::Array(rules)) => rules,
        Some(other) => {
            items.push(Item::failed(
                name,
                format!("spec.rules is {}, expected a list", kind_of(other)),
            ));
            return;
        }
    };
    for (n, rule) in rules.iter().enumerate() {
        let rule_name = format!("{name}/rule-{n}");
        match cors_filter(rule, n) {
            Ok(None) => {}
            Ok(Some(cors)) => items.push(convert_cors(&cors, rule_name)),
            Err(e) => items.push(Item::failed(rule_name, e)),
        }
    }
}

/// The rule's CORS filter: on the rule, else the one its backendRefs share.
fn cors_filter(rule: &Value, n: usize) -> Result<Option<Value>, String> {
    let mut found: Vec<(String, Value)> = Vec::new();
    let mut scan = |filters: Option<&Value>, place: String| -> Result<(), String> {
        let filters = match filters {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Array(f)) => f,
            Some(other) => {
                return Err(format!(
                    "{place}.filters is {}, expected a list",
                    kind_of(other)
                ))
            }
        };
        for (i, f) in filters.iter().enumerate() {
            if f.get("type").and_then(Value::as_str) == Some("CORS") {
                let cors = f.get("cors").cloned().unwrap_or(Value::Null);
                found.push((format!("{place}.filters[{i}]"), cors));
            }
        }
        Ok(())
    };
    scan(rule.get("filters"), format!("spec.rules[{n}]"))?;
    if let Some(Value::Array(refs)) = rule.get("backendRefs") {
        for (j, r) in refs.iter().enumerate() {
            scan(
                r.get("filters"),
                format!("spec.rules[{n}].backendRefs[{j}]"),
            )?;
        }
    }
    let Some((first_place, first)) = found.first().cloned() else {
        return Ok(None);
    };
    if let Some((place, _)) = found.iter().find(|(_, c)| *c != first) {
        return Err(format!(
            "{first_place} and {place} are different CORS filters: a browser would see either, depending on the backend picked; corsgate applies one policy per rule, so write one CORS filter on the rule"
        ));
    }
    Ok(Some(first))
}

fn convert_cors(cors: &Value, name: String) -> Item {
    let mut item = Item::new(name);
    let Value::Object(cors) = cors else {
        item.error = Some(format!(
            "the CORS filter's cors is {}, expected a mapping",
            kind_of(cors)
        ));
        return item;
    };
    for key in cors.keys() {
        if !FIELDS.contains(&key.as_str()) {
            let hint = did_you_mean(key, FIELDS)
                .map(|k| format!("; did you mean {k:?}?"))
                .unwrap_or_default();
            item.error = Some(format!(
                "cors.{key}: not a field of HTTPCORSFilter (the API server would refuse it){hint}"
            ));
            return item;
        }
    }
    let mut read = || -> Result<(Policy, String), String> {
        let origins = string_list(cors.get("allowOrigins"), "cors.allowOrigins")?;
        let methods = string_list(cors.get("allowMethods"), "cors.allowMethods")?;
        let headers = string_list(cors.get("allowHeaders"), "cors.allowHeaders")?;
        let expose = string_list(cors.get("exposeHeaders"), "cors.exposeHeaders")?;
        let credentials = match cors.get("allowCredentials") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(format!(
                    "cors.allowCredentials is {}, expected true or false",
                    kind_of(other)
                ))
            }
        };
        let max_age = match cors.get("maxAge") {
            None | Some(Value::Null) => 5,
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| format!("cors.maxAge {n} is not a whole number of seconds"))?,
            Some(other) => {
                return Err(format!(
                    "cors.maxAge is {}, expected seconds",
                    kind_of(other)
                ))
            }
        };
        if origins.is_empty() {
            return Err("cors.allowOrigins is empty: the filter admits no origin, and a corsgate policy needs at least one".into());
        }
        let mut allow_origins = Vec::new();
        for (i, o) in origins.iter().enumerate() {
            if o == "*" {
                allow_origins = vec!["*".to_owned()];
                break;
            }
            // `scheme://*[:port]`: every host on that scheme and port.
            let lower = o.to_ascii_lowercase();
            if let Some((scheme, rest)) = lower.split_once("://*") {
                let port = match (scheme, rest) {
                    ("https", "" | ":443") | ("http", "" | ":80") => Some(String::new()),
                    (_, p) if p.len() > 1 && p[1..].bytes().all(|b| b.is_ascii_digit()) => {
                        Some(p.to_owned())
                    }
                    _ => None,
                };
                if let (true, Some(port)) = (scheme == "https" || scheme == "http", port) {
                    // No ':' in the host: bracketed IPv6 hosts are left out
                    // (fewer origins, never more).
                    allow_origins.push(format!("regex:{scheme}://[^:/]+{port}"));
                    continue;
                }
            }
            allow_origins
                .push(normalize_origin(o).map_err(|e| format!("cors.allowOrigins[{i}] {e}"))?);
        }
        let said = format!(
            "the HTTPRoute allowed origins {origins:?}{}",
            if credentials {
                " with allowCredentials: true"
            } else {
                ""
            }
        );
        let mut policy = Policy {
            allow_origins,
            allow_methods: (!methods.is_empty()).then_some(methods),
            allow_headers: headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
            expose_headers: expose.iter().map(|h| h.to_ascii_lowercase()).collect(),
            allow_credentials: credentials,
            max_age: None,
            preflight_status: Some(200),
            ..Policy::default()
        };
        let mut notes = Vec::new();
        if credentials && policy.allow_headers.iter().any(|h| h == "*") {
            notes.push("allowHeaders \"*\" with allowCredentials: the gateway echoes every requested header, Authorization included; corsgate's \"*\" echoes them too but never covers authorization (Fetch), so preflights asking for it become refused: list \"authorization\" in allowHeaders to keep them".into());
        }
        policy.max_age = Some(cap_max_age(max_age, &mut notes, "cors.maxAge"));
        item.notes.extend(notes);
        Ok((policy, said))
    };
    match read() {
        Ok((policy, said)) => finish(item, policy, &said),
        Err(e) => {
            item.error = Some(e);
            item
        }
    }
}
