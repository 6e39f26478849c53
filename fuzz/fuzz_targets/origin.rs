//! parse_request_origin against the reference parser.
#![no_main]

#[path = "../../tests/reference/mod.rs"]
mod reference;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let got = corsgate::origin::parse_request_origin(data).map(|o| {
        assert_eq!(o.raw, data);
        (o.scheme.to_vec(), o.host.to_vec(), o.port)
    });
    let want = reference::parse_origin(data)
        .map(|o| (o.scheme.into_bytes(), o.host.into_bytes(), o.port));
    assert_eq!(got, want, "origin {:?}", String::from_utf8_lossy(data));
});
