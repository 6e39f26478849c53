//! The policy document: JSON (the Envoy `filter_config`, the CLI's input,
//! what C callers pass) or field-by-field text values (the NGINX
//! directives). This room only collects raw field values and reports
//! shape errors; `policy` validates and compiles them.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// Every field of a policy document, in documentation order.
pub const FIELDS: &[&str] = &[
    "allow_origins",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
    "preflight_status",
    "on_preflight_deny",
    "on_actual_deny",
    "mode",
    "debug",
];

/// One problem in a policy, with the field, the offending value and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The field, with an index for list entries (`allow_origins[2]`).
    pub field: String,
    /// The offending value as written, when there is one.
    pub value: Option<String>,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) if value.chars().count() > MAX_ECHOED_VALUE => {
                let head: String = value.chars().take(MAX_ECHOED_VALUE).collect();
                write!(
                    f,
                    "{} = {:?}… ({} bytes): {}",
                    self.field,
                    head,
                    value.len(),
                    self.message
                )
            }
            Some(value) => write!(f, "{} = {:?}: {}", self.field, value, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// Every problem found in a policy, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The problems, in field order.
    pub errors: Vec<ConfigError>,
}

impl PolicyError {
    /// A policy error with one problem.
    pub fn one(
        field: impl Into<String>,
        value: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        PolicyError {
            errors: vec![ConfigError {
                field: field.into(),
                value,
                message: message.into(),
            }],
        }
    }
}

/// Most entries `allow_origins` may list. With [`MAX_POLICY_BYTES`] and
/// the analysis bounds (`crate::analysis`) this bounds what loading a
/// policy costs (`make bench-policy-load`).
pub const MAX_ORIGINS: usize = 100_000;
/// Most subdomain wildcards (`scheme://*.domain`) among them: each costs a
/// walk of the Public Suffix List and a suffix-table entry.
pub const MAX_WILDCARDS: usize = 10_000;
/// Most entries each of `allow_methods`, `allow_headers` and
/// `expose_headers` may list.
pub const MAX_NAMES: usize = 1_000;
/// Largest policy, in bytes: a JSON document, and all list values of a
/// policy together (which hosts that set fields one at a time, like the
/// NGINX directives, reach without a document).
pub const MAX_POLICY_BYTES: usize = 4 << 20;

/// Most problems a report lists; the rest are counted.
pub const MAX_REPORTED_ERRORS: usize = 50;
/// Longest value echoed in a report, in characters.
const MAX_ECHOED_VALUE: usize = 120;

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().take(MAX_REPORTED_ERRORS).enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        if let Some(more) = self
            .errors
            .len()
            .checked_sub(MAX_REPORTED_ERRORS)
            .filter(|n| *n > 0)
        {
            write!(f, "\n… and {more} more problems")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// A field value as written: JSON, or text values from a config file.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// A JSON value from a policy document.
    Json(Value),
    /// Text values, as NGINX directive arguments.
    Text(Vec<String>),
}

/// Field values as written, before validation. Later sets win.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawPolicy {
    fields: BTreeMap<&'static str, RawValue>,
}

impl RawPolicy {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a JSON policy document; unknown fields are errors.
    pub fn from_json(json: &[u8]) -> Result<Self, PolicyError> {
        let mut raw = Self::new();
        raw.merge_json(json)?;
        Ok(raw)
    }

    /// Reads a JSON policy document, keeping every known field and
    /// returning the unknown and repeated ones as errors beside it, so that a caller
    /// can report them together with the validation errors. Fails only
    /// when the document is not a JSON object.
    pub fn read_json(json: &[u8]) -> Result<(Self, Vec<ConfigError>), PolicyError> {
        let entries = parse_object(json)?;
        let mut raw = Self::new();
        let mut unknown = Vec::new();
        for (key, value) in entries {
            match field_name(&key) {
                Some(name) if raw.fields.contains_key(name) => unknown.push(ConfigError {
                    field: key,
                    value: None,
                    message: "is given twice; keep one".into(),
                }),
                Some(name) => {
                    raw.fields.insert(name, RawValue::Json(value));
                }
                None => unknown.push(unknown_field(&key)),
            }
        }
        Ok((raw, unknown))
    }

    /// Sets every field present in a JSON policy document. On error
    /// (syntax, not an object, unknown fields) nothing is changed.
    pub fn merge_json(&mut self, json: &[u8]) -> Result<(), PolicyError> {
        let (raw, unknown) = Self::read_json(json)?;
        if !unknown.is_empty() {
            return Err(PolicyError { errors: unknown });
        }
        self.merge(raw);
        Ok(())
    }

    /// Sets every field `other` has (fields set later win).
    pub fn merge(&mut self, other: RawPolicy) {
        self.fields.extend(other.fields);
    }

    /// Sets one field from text values. Values are checked at compile time.
    pub fn set_text(&mut self, field: &str, values: Vec<String>) -> Result<(), PolicyError> {
        let name = field_name(field).ok_or_else(|| PolicyError {
            errors: vec![unknown_field(field)],
        })?;
        self.fields.insert(name, RawValue::Text(values));
        Ok(())
    }

    /// The raw value of a field, if set.
    pub fn get(&self, field: &str) -> Option<&RawValue> {
        self.fields.get(field)
    }
}

/// True for an `allow_origins` entry spelled as a subdomain wildcard
/// (`scheme://*.…`), valid or not.
fn is_wildcard(origin: &str) -> bool {
    !origin.starts_with("regex:")
        && crate::origin::split_at_slashes(origin).is_some_and(|(_, rest)| rest.starts_with("*."))
}

/// Parses a JSON object keeping every key in order, repeated ones too
/// (`serde_json::Value` would silently keep the last).
fn parse_object(json: &[u8]) -> Result<Vec<(String, Value)>, PolicyError> {
    // A UTF-8 byte order mark (editors on Windows write one) is not JSON
    // but means nothing here: skip it, as every reader comes through here.
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    if json.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::one(
            "policy",
            None,
            format!(
                "the document is {} bytes; a policy is at most {MAX_POLICY_BYTES} bytes (so that it \
                 loads in bounded time); check that this is the policy file, and allow sets of \
                 origins with subdomain wildcards (\"https://*.example.com\") or a regex: pattern \
                 instead of listing each",
                json.len()
            ),
        ));
    }
    struct Entries;

    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<(String, Value)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, Value>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }

    let mut de = serde_json::Deserializer::from_slice(json);
    let entries =
        serde::Deserializer::deserialize_any(&mut de, Entries).and_then(|e| de.end().map(|()| e));
    entries.map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            // Well-formed JSON of another type than an object.
            PolicyError::one(
                "policy",
                None,
                "a policy is a JSON object, e.g. {\"allow_origins\": [\"https://app.example.com\"]}",
            )
        } else {
            PolicyError::one(
                "policy",
                None,
                format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()),
            )
        }
    })
}

fn field_name(key: &str) -> Option<&'static str> {
    FIELDS.iter().copied().find(|f| *f == key)
}

fn unknown_field(key: &str) -> ConfigError {
    let hint = FIELDS
        .iter()
        .map(|f| (edit_distance(key, f), *f))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, f)| format!("; did you mean \"{f}\"?"))
        .unwrap_or_else(|| format!("; the fields are {}", FIELDS.join(", ")));
    ConfigError {
        field: key.to_owned(),
        value: None,
        message: format!("unknown field{hint}"),
    }
}

/// Levenshtein distance between `a` and `b`, in characters: how far a
/// typed name is from a known one (did-you-mean hints).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Reads typed field values, collecting every error.
pub(crate) struct Reader<'a> {
    raw: &'a RawPolicy,
    pub(crate) errors: Vec<ConfigError>,
    /// Bytes of list values read so far, against [`MAX_POLICY_BYTES`].
    list_bytes: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(raw: &'a RawPolicy) -> Self {
        Reader {
            raw,
            errors: Vec::new(),
            list_bytes: 0,
        }
    }

    pub(crate) fn error(
        &mut self,
        field: impl Into<String>,
        value: Option<&str>,
        message: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            field: field.into(),
            value: value.map(str::to_owned),
            message: message.into(),
        });
    }

    /// A list of strings; `None` when unset, mistyped or over a size
    /// bound ([`MAX_ORIGINS`], [`MAX_NAMES`], [`MAX_POLICY_BYTES`]).
    pub(crate) fn list(&mut self, field: &str) -> Option<Vec<String>> {
        let list = self.list_unbounded(field)?;
        let max = if field == "allow_origins" {
            MAX_ORIGINS
        } else {
            MAX_NAMES
        };
        if list.len() > max {
            let fix = if field == "allow_origins" {
                "allow sets of origins with subdomain wildcards (\"https://*.example.com\") or a \
                 regex: pattern instead of listing each"
            } else {
                "list only the names browsers will send or read"
            };
            self.error(
                field,
                None,
                format!(
                    "lists {} entries; at most {max} are accepted (so that a policy loads in \
                     bounded time); {fix}",
                    list.len()
                ),
            );
            return None;
        }
        if field == "allow_origins" {
            let wildcards = list.iter().filter(|o| is_wildcard(o)).count();
            if wildcards > MAX_WILDCARDS {
                self.error(
                    field,
                    None,
                    format!(
                        "lists {wildcards} subdomain wildcards; at most {MAX_WILDCARDS} are accepted \
                         (so that a policy loads in bounded time); use one wildcard on a common \
                         parent domain, a regex: pattern, or list the hosts"
                    ),
                );
                return None;
            }
        }
        self.list_bytes += list.iter().map(String::len).sum::<usize>();
        if self.list_bytes > MAX_POLICY_BYTES {
            self.error(
                field,
                None,
                format!(
                    "the policy's lists hold {} bytes up to this one; at most {MAX_POLICY_BYTES} are \
                     accepted together (so that a policy loads in bounded time); allow sets of \
                     origins with subdomain wildcards or a regex: pattern instead of listing each",
                    self.list_bytes
                ),
            );
            return None;
        }
        Some(list)
    }

    fn list_unbounded(&mut self, field: &str) -> Option<Vec<String>> {
        match self.raw.get(field)? {
            RawValue::Text(values) => Some(values.clone()),
            RawValue::Json(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.error(
                            format!("{field}[{i}]"),
                            Some(&other.to_string()),
                            "must be a string",
                        ),
                    }
                }
                Some(out)
            }
            RawValue::Json(Value::String(s)) => {
                let s = s.clone();
                self.error(field, Some(&s), format!("must be a list; write [{s:?}]"));
                None
            }
            RawValue::Json(other) => {
                let text = other.to_string();
                self.error(field, Some(&text), "must be a list of strings");
                None
            }
        }
    }

    /// A boolean (`true`/`false`, or `on`/`off` as text).
    pub(crate) fn boolean(&mut self, field: &str) -> Option<bool> {
        match self.raw.get(field)? {
            RawValue::Json(Value::Bool(b)) => Some(*b),
            RawValue::Text(values) => match self.single(field, values)? {
                "on" | "true" => Some(true),
                "off" | "false" => Some(false),
                other => {
                    let other = other.to_owned();
                    self.error(field, Some(&other), "must be on or off");
                    None
                }
            },
            RawValue::Json(other) => {
                let text = other.to_string();
                self.error(field, Some(&text), "must be true or false");
                None
            }
        }
    }

    /// A non-negative integer.
    pub(crate) fn integer(&mut self, field: &str) -> Option<u64> {
        match self.raw.get(field)? {
            RawValue::Json(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            RawValue::Text(values) => {
                let text = self.single(field, values)?.to_owned();
                match text.parse::<u64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        self.error(field, Some(&text), "must be a whole number");
                        None
                    }
                }
            }
            RawValue::Json(other) => {
                let text = other.to_string();
                self.error(field, Some(&text), "must be a whole number");
                None
            }
        }
    }

    /// One of `choices`.
    pub(crate) fn choice(&mut self, field: &str, choices: &[&'static str]) -> Option<&'static str> {
        let text = match self.raw.get(field)? {
            RawValue::Json(Value::String(s)) => s.clone(),
            RawValue::Text(values) => self.single(field, values)?.to_owned(),
            RawValue::Json(other) => other.to_string(),
        };
        match choices.iter().find(|c| **c == text) {
            Some(c) => Some(c),
            None => {
                self.error(
                    field,
                    Some(&text),
                    format!("must be one of: {}", choices.join(", ")),
                );
                None
            }
        }
    }

    fn single<'v>(&mut self, field: &str, values: &'v [String]) -> Option<&'v str> {
        match values {
            [one] => Some(one),
            [] => {
                self.error(field, None, "needs a value");
                None
            }
            _ => {
                self.error(field, Some(&values.join(" ")), "takes exactly one value");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_all_reported_with_hint() {
        let err = RawPolicy::from_json(br#"{"allow_origin": [], "alow_methods": [], "zzz": 1}"#)
            .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.errors.len(), 3, "{text}");
        assert!(
            text.contains("allow_origin: unknown field; did you mean \"allow_origins\"?"),
            "{text}"
        );
        assert!(text.contains("did you mean \"allow_methods\""), "{text}");
        assert!(
            text.contains("zzz: unknown field; the fields are allow_origins"),
            "{text}"
        );
    }

    #[test]
    fn json_syntax_error_has_position() {
        let err = RawPolicy::from_json(b"{\n  \"allow_origins\": [,]\n}").unwrap_err();
        assert!(err.to_string().contains("invalid JSON at line 2"), "{err}");
    }

    #[test]
    fn repeated_field_is_an_error() {
        let (_, errors) = RawPolicy::read_json(
            br#"{"allow_origins": ["https://a.com"], "allow_origins": ["*"]}"#,
        )
        .unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "allow_origins: is given twice; keep one"
        );
    }

    #[test]
    fn not_an_object() {
        let err = RawPolicy::from_json(b"[]").unwrap_err();
        assert!(
            err.to_string().contains("a policy is a JSON object"),
            "{err}"
        );
    }

    #[test]
    fn merge_keeps_earlier_fields_and_later_wins() {
        let mut raw =
            RawPolicy::from_json(br#"{"allow_origins": ["https://a.com"], "max_age": 5}"#).unwrap();
        raw.merge_json(br#"{"max_age": 7}"#).unwrap();
        raw.set_text("debug", vec!["on".into()]).unwrap();
        assert_eq!(raw.get("max_age"), Some(&RawValue::Json(7.into())));
        assert!(raw.get("allow_origins").is_some());
        assert_eq!(raw.get("debug"), Some(&RawValue::Text(vec!["on".into()])));
        assert!(raw.set_text("nope", vec![]).is_err());
    }

    #[test]
    fn reader_types() {
        let mut raw = RawPolicy::new();
        raw.set_text("allow_credentials", vec!["maybe".into()])
            .unwrap();
        raw.set_text("max_age", vec!["10".into(), "20".into()])
            .unwrap();
        raw.merge_json(br#"{"allow_origins": "https://a.com", "debug": 1}"#)
            .unwrap();
        let mut r = Reader::new(&raw);
        assert_eq!(r.boolean("allow_credentials"), None);
        assert_eq!(r.integer("max_age"), None);
        assert_eq!(r.list("allow_origins"), None);
        assert_eq!(r.boolean("debug"), None);
        let text: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            [
                "allow_credentials = \"maybe\": must be on or off",
                "max_age = \"10 20\": takes exactly one value",
                "allow_origins = \"https://a.com\": must be a list; write [\"https://a.com\"]",
                "debug = \"1\": must be true or false",
            ]
        );
    }
}
