//! scan_list (and is_token, trim_ows) against the reference scanner.
//! Input: two cap bytes, one byte choosing the refused element, then the
//! lines separated by `\n`.
#![no_main]

#[path = "../../tests/reference/mod.rs"]
mod reference;

use corsgate::tokens::{is_token, scan_list, trim_ows, ListCaps, ListError};
use libfuzzer_sys::fuzz_target;

const REFUSE: &[&[u8]] = &[b"a", b"b", b"x-a", b"A", b"-", b""];

fuzz_target!(|data: &[u8]| {
    let [bytes, elements, refuse, rest @ ..] = data else { return };
    let caps = ListCaps {
        max_bytes: usize::from(*bytes) * 20,
        max_elements: usize::from(*elements % 80),
    };
    let refuse = REFUSE[usize::from(*refuse) % REFUSE.len()];
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let mut visited = Vec::new();
    let got = scan_list(&lines, caps, |e| {
        visited.push(e.to_vec());
        e != refuse
    })
    .map(|r| r.map(<[u8]>::to_vec));
    let (want_visited, want) =
        reference::scan_list(&lines, caps.max_bytes, caps.max_elements, |e| e != refuse);
    let want = want.map_err(|e| match e {
        reference::ListErr::TooLong => ListError::TooLong,
        reference::ListErr::Malformed => ListError::Malformed,
        reference::ListErr::TooMany => ListError::TooMany,
    });
    assert_eq!(got, want);
    assert_eq!(visited, want_visited);
    for line in &lines {
        assert_eq!(is_token(line), reference::is_token(line));
        assert_eq!(trim_ows(line), reference::trim(line));
    }
});
