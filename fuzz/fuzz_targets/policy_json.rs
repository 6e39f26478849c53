//! Policy::from_json never panics; a policy it accepts evaluates like the
//! reference model (when the document is one the reference understands).
#![no_main]

#[path = "../../tests/reference/mod.rs"]
mod reference;

use corsgate::Policy;
use libfuzzer_sys::fuzz_target;
use reference::RefPolicy;
use serde_json::Value;

/// The document as a RefPolicy, when every field has a shape the
/// reference model reads.
fn as_reference(json: &[u8]) -> Option<RefPolicy> {
    let Value::Object(doc) = serde_json::from_slice::<Value>(json).ok()? else { return None };
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?.iter().map(|s| s.as_str().map(String::from)).collect()
    };
    let mut p = RefPolicy::default();
    for (key, value) in &doc {
        match key.as_str() {
            "allow_origins" => p.allow_origins = strings(value)?,
            "allow_methods" => p.allow_methods = Some(strings(value)?),
            "allow_headers" => p.allow_headers = Some(strings(value)?),
            "expose_headers" => p.expose_headers = Some(strings(value)?),
            "allow_credentials" => p.allow_credentials = value.as_bool()?,
            "debug" => p.debug = value.as_bool()?,
            "max_age" => p.max_age = Some(value.as_u64()?),
            "preflight_status" => p.preflight_status = Some(u16::try_from(value.as_u64()?).ok()?),
            "on_preflight_deny" => p.on_preflight_deny = Some(value.as_str()?.into()),
            "on_actual_deny" => p.on_actual_deny = Some(value.as_str()?.into()),
            "mode" => p.mode = Some(value.as_str()?.into()),
            _ => return None,
        }
    }
    // regexes: only those the reference has a matcher for
    if p.allow_origins
        .iter()
        .any(|o| o.starts_with("regex:") && !reference::REGEXES.contains(&o.as_str()))
    {
        return None;
    }
    Some(p)
}

fuzz_target!(|data: &[u8]| {
    let Ok(policy) = Policy::from_json(data) else { return };
    if let Some(p) = as_reference(data) {
        // names that can never work were refused
        assert!(!p.allow_headers.iter().flatten().any(|n| reference::allow_header_refused(n)));
        assert!(!p.expose_headers.iter().flatten().any(|n| reference::expose_header_refused(n)));
    }
    let mut origins: Vec<Vec<u8>> = vec![
        b"https://a.com".to_vec(),
        b"null".to_vec(),
        b"https://x.a.com".to_vec(),
        b"http://localhost:3000".to_vec(),
    ];
    let reference = as_reference(data);
    if let Some(p) = &reference {
        // each listed pattern, and a subdomain of it, as a request origin
        for o in &p.allow_origins {
            origins.push(o.replace("*.", "x.").replace(":*", ":8080").into_bytes());
            origins.push(o.replace("*.", "").into_bytes());
        }
    }
    // not CORS
    let got = reference::corsgate_decision(&policy, b"GET", &[]);
    if let Some(p) = &reference {
        assert_eq!(got, reference::evaluate(p, b"GET", &[]), "{}", String::from_utf8_lossy(data));
    }
    for origin in &origins {
        for (method, acrm) in [(&b"GET"[..], None), (b"OPTIONS", Some(&b"PUT"[..])), (b"OPTIONS", Some(b"GET"))] {
            let mut headers = vec![(b"Origin".to_vec(), origin.clone())];
            if let Some(m) = acrm {
                headers.push((b"Access-Control-Request-Method".to_vec(), m.to_vec()));
                headers.push((b"Access-Control-Request-Headers".to_vec(), b"x-a, Authorization".to_vec()));
                headers.push((b"Access-Control-Request-Headers".to_vec(), b" x-b,".to_vec()));
            }
            let got = reference::corsgate_decision(&policy, method, &headers);
            if let Some(p) = &reference {
                let want = reference::evaluate(p, method, &headers);
                assert_eq!(got, want, "{}", String::from_utf8_lossy(data));
                if let Err(e) = reference::check_safe(&got, p) {
                    panic!("{e}");
                }
            }
        }
    }
});
