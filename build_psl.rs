//! Build step (included by `build.rs`): turns the Public Suffix List in `data/public_suffix_list.dat` into the
//! ASCII form origins use: every internationalized label is written in
//! punycode (`公司.cn` → `xn--55qx5d.cn`), since a browser serializes hosts
//! that way. The result, sorted for walking, is included by
//! `src/analysis/psl.rs`.

use std::fmt::Write as _;

pub fn write_ascii_list() {
    let source = "data/public_suffix_list.dat";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-changed=build_psl.rs");
    let text = std::fs::read_to_string(source).expect("data/public_suffix_list.dat");
    // One rule a line: `reversed name<TAB>kind<TAB>name`, sorted by the
    // reversed name (`com.amazonaws.s3`), so that the library walks what
    // lies below a name without sorting at run time. Kind: n normal,
    // w wildcard (`*.name`), e exception (`!name`).
    let mut rules: Vec<(String, char, String)> = Vec::new();
    for line in text.lines() {
        let rule = line.split_whitespace().next().unwrap_or("");
        if rule.is_empty() || rule.starts_with("//") {
            continue;
        }
        let (kind, name) = if let Some(rest) = rule.strip_prefix('!') {
            ('e', rest)
        } else if let Some(rest) = rule.strip_prefix("*.") {
            ('w', rest)
        } else {
            ('n', rule)
        };
        let labels: Vec<String> = name.split('.').map(ascii_label).collect();
        let reversed: Vec<&str> = labels.iter().rev().map(String::as_str).collect();
        rules.push((reversed.join("."), kind, labels.join(".")));
    }
    rules.sort();
    let mut out = String::with_capacity(text.len() * 2);
    for (reversed, kind, name) in &rules {
        let _ = writeln!(out, "{reversed}\t{kind}\t{name}");
    }
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("psl.txt");
    std::fs::write(dest, out).expect("write psl.txt");
}

/// A label as a browser serializes it: lowercase ASCII as is, anything
/// else as `xn--` + punycode (RFC 3492). List entries are already in
/// Unicode normal form.
fn ascii_label(label: &str) -> String {
    if label.is_ascii() {
        return label.to_ascii_lowercase();
    }
    format!("xn--{}", punycode(label))
}

/// RFC 3492 section 6.3, the encoding procedure.
fn punycode(input: &str) -> String {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    let chars: Vec<u32> = input.chars().map(u32::from).collect();
    let mut out: String = input.chars().filter(char::is_ascii).collect();
    let basic = out.len() as u32;
    let mut handled = basic;
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    let digit = |d: u32| -> char {
        char::from(if d < 26 {
            b'a' + d as u8
        } else {
            b'0' + (d - 26) as u8
        })
    };
    while (handled as usize) < chars.len() {
        let m = chars
            .iter()
            .copied()
            .filter(|&c| c >= n)
            .min()
            .expect("a non-basic char");
        delta += (m - n) * (handled + 1);
        n = m;
        for &c in &chars {
            if c < n {
                delta += 1;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        TMIN
                    } else if k >= bias + TMAX {
                        TMAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta += 1;
        n += 1;
    }
    out
}

fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((36 - 1) * 26) / 2 {
        delta /= 36 - 1;
        k += 36;
    }
    k + (36 * delta) / (delta + 38)
}
