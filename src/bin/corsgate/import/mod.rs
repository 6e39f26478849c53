//! `corsgate import`: CORS configured elsewhere → corsgate policies.
//!
//! Sources: Kubernetes Ingress objects with ingress-nginx's CORS
//! annotations, Envoy route configurations (or bootstraps) with the built-in
//! filter's `CorsPolicy`, and Gateway API `HTTPRoute`s with `CORS` filters.
//! Every policy produced is compiled by the library before it is printed;
//! a conversion never admits, in a browser, more than its source did, and
//! says in a note whatever it refuses that the source admitted.

mod envoy;
mod gateway_api;
mod ingress_nginx;
mod yaml;

use std::io::Read;
use std::process::ExitCode;

use clap::ValueEnum;
use corsgate::origin::{parse_pattern, OriginPattern};
use corsgate::{Policy as Compiled, Request, Verdict};
use serde_json::Value;

use crate::Format;

/// `corsgate import` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// What FILE holds (default: detected per object).
    #[arg(long, value_enum)]
    from: Option<Source>,
    /// A YAML or JSON file, several documents allowed; `-` reads stdin.
    #[arg(value_name = "FILE")]
    file: String,
    /// Output format: text, or one JSON array of {name, policy, notes, error}.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// The kinds of configuration `import` reads.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// Kubernetes Ingress with nginx.ingress.kubernetes.io/*cors* annotations.
    IngressNginx,
    /// Envoy RouteConfiguration, or a bootstrap whose listeners hold route_configs.
    Envoy,
    /// Gateway API HTTPRoute (v1) with CORS filters.
    GatewayApi,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::IngressNginx => "ingress-nginx",
            Source::Envoy => "envoy",
            Source::GatewayApi => "gateway-api",
        }
    }
}

/// One converted object (or rule): what `--format json` prints per element.
pub struct Item {
    /// `namespace/name`, `route_config/virtual_host[/route]` or
    /// `namespace/name/rule-N`.
    pub name: String,
    /// The policy, when there is one.
    pub policy: Option<Policy>,
    /// How the policy differs from the source, and why.
    pub notes: Vec<String>,
    /// Why there is no policy, when that is an error.
    pub error: Option<String>,
}

impl Item {
    fn new(name: String) -> Self {
        Item {
            name,
            policy: None,
            notes: Vec::new(),
            error: None,
        }
    }

    fn failed(name: String, error: String) -> Self {
        Item {
            error: Some(error),
            ..Item::new(name)
        }
    }
}

/// A policy document under construction; printed with its fields in the
/// order of the README's policy field table.
#[derive(Clone, Default)]
pub struct Policy {
    pub allow_origins: Vec<String>,
    pub allow_methods: Option<Vec<String>>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age: Option<u64>,
    pub preflight_status: Option<u16>,
    pub on_preflight_deny: Option<&'static str>,
    pub mode: Option<&'static str>,
}

impl Policy {
    fn fields(&self) -> Vec<(&'static str, Value)> {
        let list = |v: &[String]| Value::from(v.to_vec());
        let mut out = vec![("allow_origins", list(&self.allow_origins))];
        if let Some(m) = &self.allow_methods {
            out.push(("allow_methods", list(m)));
        }
        if !self.allow_headers.is_empty() {
            out.push(("allow_headers", list(&self.allow_headers)));
        }
        if !self.expose_headers.is_empty() {
            out.push(("expose_headers", list(&self.expose_headers)));
        }
        if self.allow_credentials {
            out.push(("allow_credentials", true.into()));
        }
        if let Some(age) = self.max_age {
            out.push(("max_age", age.into()));
        }
        if let Some(status) = self.preflight_status {
            out.push(("preflight_status", status.into()));
        }
        if let Some(deny) = self.on_preflight_deny {
            out.push(("on_preflight_deny", deny.into()));
        }
        if let Some(mode) = self.mode {
            out.push(("mode", mode.into()));
        }
        out
    }

    /// Compact JSON, fields in order.
    pub fn to_json(&self) -> String {
        let body: Vec<String> = self
            .fields()
            .into_iter()
            .map(|(k, v)| format!("{}:{v}", Value::from(k)))
            .collect();
        format!("{{{}}}", body.join(","))
    }

    /// One field per line, lists on one line: what people read and paste.
    pub fn to_pretty(&self) -> String {
        let body: Vec<String> = self
            .fields()
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Array(items) => format!(
                        "[{}]",
                        items
                            .iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    other => other.to_string(),
                };
                format!("  \"{k}\": {v}")
            })
            .collect();
        format!("{{\n{}\n}}", body.join(",\n"))
    }
}

/// Runs `corsgate import`.
pub fn run(args: Args) -> Result<ExitCode, String> {
    let text = read_input(&args.file)?;
    let items = convert(&text, args.from);
    if items.is_empty() {
        return Err(format!(
            "{}: found no CORS configuration to import (Ingress with enable-cors, Envoy CorsPolicy, HTTPRoute CORS filter)",
            args.file
        ));
    }
    match args.format {
        Format::Json => {
            let docs: Vec<String> = items
                .iter()
                .map(|item| {
                    format!(
                        "{{\"name\":{},\"policy\":{},\"notes\":{},\"error\":{}}}",
                        Value::from(item.name.as_str()),
                        item.policy.as_ref().map_or("null".into(), Policy::to_json),
                        Value::from(item.notes.clone()),
                        item.error.as_deref().map_or(Value::Null, Value::from),
                    )
                })
                .collect();
            println!("[{}]", docs.join(","));
        }
        Format::Text => {
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    println!();
                }
                println!("== {}", item.name);
                for note in &item.notes {
                    println!("note: {note}");
                }
                if let Some(error) = &item.error {
                    println!("error: {error}");
                }
                if let Some(policy) = &item.policy {
                    println!("{}", policy.to_pretty());
                }
            }
        }
    }
    let code = if items.iter().any(|i| i.error.is_some()) {
        2
    } else if items.iter().any(|i| !i.notes.is_empty()) {
        1
    } else {
        0
    };
    Ok(ExitCode::from(code))
}

/// The whole input, refused past [`yaml::MAX_INPUT`] without reading on.
fn read_input(path: &str) -> Result<String, String> {
    let limit = yaml::MAX_INPUT as u64;
    let mut bytes = Vec::new();
    let result = if path == "-" {
        std::io::stdin().take(limit + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
    };
    result.map_err(|e| format!("{path}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{path}: larger than {} MiB: not read (split the manifest, or import the objects that carry CORS)",
            limit >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{path}: not UTF-8 text (byte {}): YAML and JSON manifests are UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Kinds that carry no CORS: skipped without a word.
const QUIET_KINDS: &[&str] = &[
    "Namespace",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Pod",
    "Job",
    "CronJob",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "IngressClass",
    "Gateway",
    "GatewayClass",
    "ReferenceGrant",
    "GRPCRoute",
    "TCPRoute",
    "TLSRoute",
    "UDPRoute",
    "BackendTLSPolicy",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Endpoints",
    "EndpointSlice",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "CustomResourceDefinition",
    "List",
];

/// Every object of every document, converted.
pub fn convert(text: &str, from: Option<Source>) -> Vec<Item> {
    let mut items = Vec::new();
    for doc in yaml::documents(text) {
        let at = format!("document {} (line {})", doc.index, doc.line);
        let value = match doc.value {
            Ok(Value::Null) => continue,
            Ok(v) => v,
            Err(e) => {
                items.push(Item::failed(at, e));
                continue;
            }
        };
        // A Kubernetes `List` (kubectl get -o yaml) holds objects in items.
        let objects = match (value.get("kind"), value.get("items")) {
            (Some(Value::String(k)), Some(Value::Array(list))) if k.ends_with("List") => {
                list.clone()
            }
            _ => vec![value],
        };
        for object in objects {
            convert_object(&object, &at, from, &mut items);
        }
    }
    items
}

fn convert_object(object: &Value, at: &str, from: Option<Source>, items: &mut Vec<Item>) {
    let Value::Object(map) = object else {
        items.push(Item::failed(
            at.to_owned(),
            format!(
                "is {}, not an object: expected a Kubernetes object or an Envoy configuration",
                kind_of(object)
            ),
        ));
        return;
    };
    let detected = match map.get("kind") {
        Some(Value::String(kind)) => match kind.as_str() {
            "Ingress" => Some(Source::IngressNginx),
            "HTTPRoute" => Some(Source::GatewayApi),
            k if QUIET_KINDS.contains(&k) => return,
            _ => None,
        },
        Some(other) => {
            items.push(Item::failed(
                at.to_owned(),
                format!("kind is {}, expected a string", kind_of(other)),
            ));
            return;
        }
        None if envoy::looks_like(map) => Some(Source::Envoy),
        None => None,
    };
    let Some(source) = detected else {
        let what = match map.get("kind").and_then(Value::as_str) {
            Some(kind) => format!(
                "{} (kind {kind})",
                k8s_name(map).unwrap_or_else(|| at.into())
            ),
            None => at.to_owned(),
        };
        let hint = map
            .get("kind")
            .and_then(Value::as_str)
            .and_then(|k| did_you_mean(k, &["Ingress", "HTTPRoute"]))
            .map(|k| format!("; did you mean kind {k}?"))
            .unwrap_or_default();
        items.push(Item::failed(
            what,
            format!("not an Ingress, an HTTPRoute or an Envoy RouteConfiguration/bootstrap: nothing to import from it{hint}"),
        ));
        return;
    };
    if let Some(wanted) = from {
        if wanted != source {
            items.push(Item::failed(
                k8s_name(map).unwrap_or_else(|| at.into()),
                format!(
                    "is {} configuration, but --from {} was given",
                    source.as_str(),
                    wanted.as_str()
                ),
            ));
            return;
        }
    }
    match source {
        Source::IngressNginx => ingress_nginx::convert(map, at, items),
        Source::GatewayApi => gateway_api::convert(map, at, items),
        Source::Envoy => envoy::convert(map, at, items),
    }
}

/// `namespace/name` of a Kubernetes object (namespace "default" when absent).
fn k8s_name(map: &serde_json::Map<String, Value>) -> Option<String> {
    let meta = map.get("metadata")?;
    let name = meta.get("name")?.as_str()?;
    let ns = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    Some(format!("{ns}/{name}"))
}

/// "a string", "a list", … for error messages about wrong types.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A list of strings at `field`, or an error naming the field and the type.
pub fn string_list(v: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "{field}[{i}] is {}, expected a string",
                    kind_of(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!(
            "{field} is {}, expected a list of strings",
            kind_of(other)
        )),
    }
}

/// The closest of `known` to `word`, when close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (corsgate::config::edit_distance(word, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

/// An origin as written in a source → the form browsers send: lowercase,
/// default port dropped. Errors say what is wrong with it.
pub fn normalize_origin(text: &str) -> Result<String, String> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('/').unwrap_or(&lower).to_owned();
    let stripped = match lower.split_once("://") {
        Some(("https", rest)) => rest
            .strip_suffix(":443")
            .map(|host| format!("https://{host}")),
        Some(("http", rest)) => rest
            .strip_suffix(":80")
            .map(|host| format!("http://{host}")),
        _ => None,
    };
    let origin = stripped.unwrap_or(lower);
    match parse_pattern(&origin) {
        Ok(OriginPattern::Regex(_)) => Err(format!("{text:?} is not an origin")),
        Ok(_) => Ok(origin),
        Err(e) => Err(format!("{text:?}: {e}")),
    }
}

/// Origins no one controls in particular: a credentialed pattern set that
/// admits one of them reflects arbitrary sites.
const PROBES: &[&str] = &[
    "https://attacker.example",
    "https://corsgate-probe.com",
    "https://www.corsgate-probe.com",
    "https://app.corsgate-probe.com",
    "https://api.corsgate-probe.com",
    "http://attacker.example",
];

/// An arbitrary site's origin that `patterns` admit, if any.
pub fn admits_arbitrary_site(patterns: &[String]) -> Option<&'static str> {
    let doc = serde_json::json!({ "allow_origins": patterns }).to_string();
    let policy = Compiled::from_json(doc.as_bytes()).ok()?;
    PROBES.iter().copied().find(|probe| {
        let mut request = Request::new(b"GET");
        request.add_header(b"Origin", probe.as_bytes());
        policy.evaluate(&request).verdict == Verdict::Allowed
    })
}

/// What the source should say instead, as a policy to paste.
pub const WRITE_INSTEAD_ORIGINS: &str = "list the origins you serve, e.g. \"allow_origins\": [\"https://app.example.com\", \"https://*.example.com\"]";

/// Final checks shared by every source: unsafe credentialed origins become an
/// error (no policy), and the library's compiler has the last word.
pub fn finish(mut item: Item, policy: Policy, source_said: &str) -> Item {
    if policy.allow_credentials {
        if policy.allow_origins.iter().any(|o| o == "*") {
            item.error = Some(format!(
                "{source_said}: any origin, with credentials, so every site a user visits could read their credentialed responses; corsgate refuses \"*\" with credentials. Write instead: {WRITE_INSTEAD_ORIGINS}, \"allow_credentials\": true; or keep \"*\" and drop credentials"
            ));
            return item;
        }
        let insecure: Vec<&String> = policy
            .allow_origins
            .iter()
            .filter(|o| o.starts_with("http://") && !http_loopback(o))
            .collect();
        if !insecure.is_empty() {
            let https: Vec<String> = insecure
                .iter()
                .map(|o| format!("\"https://{}\"", &o["http://".len()..]))
                .collect();
            item.error = Some(format!(
                "{source_said}: {} over plain http with credentials, which anyone on the network path can impersonate and then read credentialed responses; corsgate refuses http:// origins with credentials (loopback aside). Write instead: {} (or drop credentials)",
                insecure.iter().map(|o| format!("\"{o}\"")).collect::<Vec<_>>().join(", "),
                https.join(", ")
            ));
            return item;
        }
        if let Some(probe) = admits_arbitrary_site(&policy.allow_origins) {
            item.error = Some(format!(
                "{source_said}: origins that any site can have (e.g. {probe}), with credentials; corsgate refuses a pattern any site can match when credentials are allowed. Write instead: {WRITE_INSTEAD_ORIGINS}"
            ));
            return item;
        }
    }
    match Compiled::from_json(policy.to_json().as_bytes()) {
        Ok(_) => item.policy = Some(policy),
        Err(e) => item.error = Some(format!("{source_said}, which corsgate refuses:\n{e}")),
    }
    item
}

fn http_loopback(origin: &str) -> bool {
    parse_pattern(origin)
        .ok()
        .and_then(|p| p.host().map(corsgate::origin::is_loopback_host))
        .unwrap_or(false)
}

/// max-age above what corsgate accepts is capped, with a note.
pub fn cap_max_age(age: u64, notes: &mut Vec<String>, what: &str) -> u64 {
    const MAX: u64 = 86_400;
    if age > MAX {
        notes.push(format!(
            "{what} {age} s capped to {MAX} s: browsers cap preflight caching (Firefox 86400 s, Chromium 7200 s), so nothing a browser does changes"
        ));
        MAX
    } else {
        age
    }
}

/// Keeps the names `field` accepts; each dropped one gets a note.
pub fn keep_valid(
    field: &str,
    names: Vec<String>,
    notes: &mut Vec<String>,
    source: &str,
) -> Vec<String> {
    names
        .into_iter()
        .filter(
            |name| match Compiled::check_field(field, vec![name.clone()]) {
                Ok(()) => true,
                Err(e) => {
                    let why = e.to_string();
                    let why = why
                        .split_once(": ")
                        .map_or(why.as_str(), |(_, w)| w)
                        .to_owned();
                    notes.push(format!(
                    "{source} {name:?} dropped from {field}: {why} (no browser behaviour changes)"
                ));
                    false
                }
            },
        )
        .collect()
}
