//! Token and comma-list scanning (RFC 9110 `token`, `#rule` lists).
//!
//! Everything here works on borrowed bytes and never allocates.

/// `TCHAR[b]` is true for the bytes RFC 9110 allows in a `token`.
static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// True for the bytes RFC 9110 allows in a `token` (`tchar`).
#[inline]
pub fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// True when `s` is a non-empty RFC 9110 token.
#[inline]
pub fn is_token(s: &[u8]) -> bool {
    // Fold instead of `all` so the loop has no early exit to branch on.
    !s.is_empty() && s.iter().fold(true, |ok, &b| ok & TCHAR[b as usize])
}

/// Why a comma list was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListError {
    /// The lines add up to more than the byte cap.
    TooLong,
    /// An element is not a token.
    Malformed,
    /// More elements than the element cap.
    TooMany,
}

/// Hard caps for [`scan_list`].
#[derive(Debug, Clone, Copy)]
pub struct ListCaps {
    /// Most bytes over all lines together.
    pub max_bytes: usize,
    /// Most non-empty elements.
    pub max_elements: usize,
}

/// Scans header lines that together form one comma-separated list of tokens,
/// in one linear pass over the bytes. Elements are trimmed of spaces and
/// tabs; empty elements are skipped. `visit` is called on each element in
/// order until it returns `false`; the first element it refused is returned
/// as `Ok(Some(element))`, but only once the whole list has been checked,
/// so a malformed or oversized list is refused as such whatever comes
/// first. Returns `Ok(None)` when every element was accepted.
pub fn scan_list<'a, F>(
    lines: &[&'a [u8]],
    caps: ListCaps,
    mut visit: F,
) -> Result<Option<&'a [u8]>, ListError>
where
    F: FnMut(&'a [u8]) -> bool,
{
    let total: usize = lines.iter().map(|l| l.len()).sum();
    if total > caps.max_bytes {
        return Err(ListError::TooLong);
    }
    let mut count = 0usize;
    let mut refused = None;
    for &line in lines {
        // One pass over the bytes: an element is a run of token bytes
        // between separators (commas, with spaces and tabs around them).
        let mut i = 0;
        while let Some(&b) = line.get(i) {
            match LIST_CLASS[b as usize] {
                OWS | COMMA => {
                    i += 1;
                    continue;
                }
                TCHAR_CLASS => {}
                _ => return Err(ListError::Malformed),
            }
            let start = i;
            // 8 bytes at a time while they are `[a-z0-9-]` (nearly every
            // header name), then byte by byte from the first other byte.
            while let Some(w) = line.get(i..i + 8) {
                let other = not_name_bytes(w);
                if other != 0 {
                    i += (other.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            while line
                .get(i)
                .is_some_and(|&b| LIST_CLASS[b as usize] == TCHAR_CLASS)
            {
                i += 1;
            }
            let element = line.get(start..i).unwrap_or_default();
            while line.get(i).is_some_and(|&b| LIST_CLASS[b as usize] == OWS) {
                i += 1;
            }
            match line.get(i) {
                None => {}
                Some(&b) if LIST_CLASS[b as usize] == COMMA => i += 1,
                // Another token after spaces, or a byte no token has.
                Some(_) => return Err(ListError::Malformed),
            }
            count += 1;
            if count > caps.max_elements {
                return Err(ListError::TooMany);
            }
            if refused.is_none() && !visit(element) {
                refused = Some(element);
            }
        }
    }
    Ok(refused)
}

/// One high bit per byte of the 8 bytes `w` that is not one of
/// `[a-z0-9-]` (0 when all are), in little-endian byte order.
#[inline]
fn not_name_bytes(w: &[u8]) -> u64 {
    const L: u64 = 0x0101_0101_0101_0101;
    const H: u64 = 0x8080_8080_8080_8080;
    let mut b = [0u8; 8];
    b.copy_from_slice(w);
    let x = u64::from_le_bytes(b);
    // For bytes below 0x80 (others are flagged by `x & H`), the high bit
    // of `(b | 0x80) - lo` is set when b >= lo, that of
    // `(0x80 | hi) - b` when b <= hi: no borrow crosses a byte.
    let in_range = |lo: u64, hi: u64| ((x | H) - lo * L) & (((hi | 0x80) * L) - (x & !H)) & H;
    let ok = (in_range(0x61, 0x7a) | in_range(0x30, 0x39) | in_range(0x2d, 0x2d)) & !x;
    !ok & H
}

/// The position of the first comma in `line` at or after `from`: 8 bytes
/// at a time.
#[inline]
pub fn find_comma(line: &[u8], from: usize) -> Option<usize> {
    const L: u64 = 0x0101_0101_0101_0101;
    const H: u64 = 0x8080_8080_8080_8080;
    const COMMAS: u64 = 0x2c2c_2c2c_2c2c_2c2c;
    // High bit of each byte of `w` that is a comma (exact for the lowest
    // one, which is the only one used).
    // `ignored`: low bits of `w` set to 1 first (bytes already looked at
    // can then neither match nor borrow from the next one).
    let commas = |w: &[u8], ignored: u64| {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let x = (u64::from_le_bytes(b) ^ COMMAS) | ignored;
        x.wrapping_sub(L) & !x & H
    };
    let mut i = from;
    while let Some(w) = line.get(i..).and_then(|rest| rest.get(..8)) {
        let c = commas(w, 0);
        if c != 0 {
            return Some(i + (c.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i >= line.len() {
        return None;
    }
    if line.len() >= 8 {
        // The last 8 bytes, without those already looked at.
        let start = line.len() - 8;
        let ignored = (1u64 << ((i - start) * 8)) - 1;
        let c = commas(line.get(start..).unwrap_or(&[0; 8]), ignored);
        return (c != 0).then(|| start + (c.trailing_zeros() / 8) as usize);
    }
    line.get(i..)?
        .iter()
        .position(|&b| b == b',')
        .map(|p| i + p)
}

// Classes of `LIST_CLASS`.
const OTHER: u8 = 0;
const TCHAR_CLASS: u8 = 1;
const OWS: u8 = 2;
const COMMA: u8 = 3;

/// The class of each byte in a comma list.
static LIST_CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = if TCHAR[b] {
            TCHAR_CLASS
        } else if b == b' ' as usize || b == b'\t' as usize {
            OWS
        } else if b == b',' as usize {
            COMMA
        } else {
            OTHER
        };
        b += 1;
    }
    t
};

/// Trims optional whitespace (spaces and horizontal tabs) from both ends.
#[inline]
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    let ows = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    if !ows(s.first()) && !ows(s.last()) {
        return s;
    }
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: ListCaps = ListCaps {
        max_bytes: 64,
        max_elements: 4,
    };

    fn collect(lines: &[&[u8]]) -> Result<Vec<Vec<u8>>, ListError> {
        let mut out = Vec::new();
        scan_list(lines, CAPS, |e| {
            out.push(e.to_vec());
            true
        })?;
        Ok(out)
    }

    macro_rules! list {
        ($($name:ident: $lines:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let want: Result<Vec<&[u8]>, ListError> = $want;
                let want = want.map(|v| v.iter().map(|e| e.to_vec()).collect());
                assert_eq!(collect($lines), want);
            }
        )*};
    }

    list! {
        single: &[b"x-a"] => Ok(vec![b"x-a"]);
        spaces_and_tabs: &[b" x-a ,\tx-b\t"] => Ok(vec![b"x-a", b"x-b"]);
        empty_elements_skipped: &[b",,x-a,, ,"] => Ok(vec![b"x-a"]);
        split_lines: &[b"x-a", b"x-b, x-c"] => Ok(vec![b"x-a", b"x-b", b"x-c"]);
        empty_line: &[b""] => Ok(vec![]);
        inner_space_malformed: &[b"x a"] => Err(ListError::Malformed);
        at_sign_malformed: &[b"x@y"] => Err(ListError::Malformed);
        non_ascii_malformed: &["xé".as_bytes()] => Err(ListError::Malformed);
        too_many: &[b"a,b,c", b"d,e"] => Err(ListError::TooMany);
        too_long: &[&[b'a'; 65]] => Err(ListError::TooLong);
        malformed_after_refusal_still_malformed: &[b"a, b c"] => Err(ListError::Malformed);
        malformed_before_too_many: &[b"a,b,c,d,e f"] => Err(ListError::Malformed);
        too_many_before_malformed: &[b"a,b,c,d,e,f g"] => Err(ListError::TooMany);
        space_before_comma: &[b"a ,b\t, c"] => Ok(vec![b"a", b"b", b"c"]);
        control_byte_malformed: &[b"a,\rb"] => Err(ListError::Malformed);
    }

    #[test]
    fn name_bytes_word_at_a_time() {
        for b in 0..=255u8 {
            let mut w = *b"abcdefgh";
            for at in 0..8 {
                w[at] = b;
                let want = !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                let got = not_name_bytes(&w);
                assert_eq!(got != 0, want, "{b:#x} at {at}");
                if want {
                    assert_eq!(got.trailing_zeros() / 8, at as u32, "{b:#x} at {at}");
                }
                w = *b"abcdefgh";
            }
        }
        let lines: &[&[u8]] = &[b"x-request-id,content-type , authorization,X_Y-0123456789z"];
        let got = scan_list(
            lines,
            ListCaps {
                max_bytes: 99,
                max_elements: 9,
            },
            |_| true,
        );
        assert_eq!(got, Ok(None));
        assert_eq!(
            collect(&[b"abcdefgh,abcdefghi,ABCDEFGH-ijklmnop"]),
            Ok(vec![
                b"abcdefgh".to_vec(),
                b"abcdefghi".to_vec(),
                b"ABCDEFGH-ijklmnop".to_vec()
            ])
        );
    }

    #[test]
    fn commas_found_word_at_a_time() {
        // Every line of up to 10 bytes of `a`, `,` and `-` (a comma's
        // neighbour that a borrow could mistake for one), from every start.
        for len in 0..=10u32 {
            for mut digits in 0..3u32.pow(len) {
                let mut line = Vec::new();
                for _ in 0..len {
                    line.push(b"a,-"[(digits % 3) as usize]);
                    digits /= 3;
                }
                for from in 0..=line.len() {
                    let want = line
                        .iter()
                        .skip(from)
                        .position(|&b| b == b',')
                        .map(|p| from + p);
                    assert_eq!(find_comma(&line, from), want, "{line:?} {from}");
                }
            }
        }
        assert_eq!(find_comma(b"ab,cdefghij,k", 3), Some(11));
        assert_eq!(find_comma(&[0xac, b','], 0), Some(1));
    }

    #[test]
    fn visit_stops_at_refused_element() {
        let lines: &[&[u8]] = &[b"a, b", b"c"];
        let got = scan_list(lines, CAPS, |e| e != b"b");
        assert_eq!(got, Ok(Some(&b"b"[..])));
    }

    #[test]
    fn tokens() {
        assert!(is_token(b"PATCH"));
        assert!(is_token(b"x-request-id"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a\r\n"));
        assert_eq!(trim_ows(b" \t a \t"), b"a");
        assert_eq!(trim_ows(b"   "), b"");
    }
}
