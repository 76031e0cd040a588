//! The escaping of free text in guest configs: descriptions are stored as `#` comment lines,
//! each URI-escaped the way `PVE::Tools::encode_text` / `decode_text` do it.
//!
//! PVE escapes control characters, bytes ≥ 0x7f (so UTF-8 text is escaped byte by byte) and
//! `:`. It does not escape `%`, which makes its encoding lossy: a description containing the
//! literal text `%3A` comes back as `:`. [`encode`] escapes exactly what PVE escapes, plus a
//! `%` that is followed by two hex digits, so that every text survives the round trip while
//! all text PVE itself stores faithfully is written byte for byte as PVE writes it.

use std::fmt::Write as _;

/// Escapes one line of description text (the text must not contain `\n`; callers split).
pub fn encode(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for (at, &byte) in bytes.iter().enumerate() {
        let safe = matches!(byte, 0x20..=0x39 | 0x3b..=0x7e);
        let ambiguous_percent = byte == b'%'
            && bytes
                .get(at + 1..at + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        if safe && !ambiguous_percent {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Unescapes one `#` line (without the `#`): `%XX` becomes the byte, then the bytes are read
/// as UTF-8, with invalid sequences replaced by U+FFFD as Perl's `Encode::decode` does.
pub fn decode(escaped: &str) -> String {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%'
            && let Some(value) = bytes.get(at + 1..at + 3).and_then(hex_byte)
        {
            out.push(value);
            at += 3;
            continue;
        }
        out.push(bytes[at]);
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    if !pair.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u8::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colon_is_escaped_and_decoded() {
        assert_eq!(encode("TEST: a"), "TEST%3A a");
        assert_eq!(decode("TEST%3A a"), "TEST: a");
    }

    #[test]
    fn a_plain_percent_is_written_as_pve_writes_it() {
        assert_eq!(encode("100% sure"), "100% sure");
        assert_eq!(decode("100% sure"), "100% sure");
        assert_eq!(decode("50%"), "50%");
    }

    #[test]
    fn a_percent_that_looks_like_an_escape_is_escaped_so_it_survives() {
        assert_eq!(encode("literal %3A"), "literal %253A");
        assert_eq!(decode(&encode("literal %3A")), "literal %3A");
        assert_eq!(decode("%25"), "%");
    }

    #[test]
    fn utf8_is_escaped_byte_by_byte_and_decoded_back() {
        assert_eq!(encode("Grüße"), "Gr%C3%BC%C3%9Fe");
        assert_eq!(decode("Gr%C3%BC%C3%9Fe"), "Grüße");
        assert_eq!(decode("Gr%c3%bc"), "Grü");
    }

    #[test]
    fn control_characters_and_delete_are_escaped() {
        assert_eq!(encode("a\tb\r\x7f"), "a%09b%0D%7F");
    }

    #[test]
    fn invalid_utf8_after_unescaping_becomes_replacement_characters() {
        assert_eq!(decode("bad%FFbyte"), "bad\u{fffd}byte");
    }

    #[test]
    fn malformed_escapes_stay_literal() {
        assert_eq!(decode("%G1%4"), "%G1%4");
    }
}
