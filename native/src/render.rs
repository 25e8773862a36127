//! `evtui tail --format json` lines (`core.output.json_line`), written from the record's
//! bytes without building a Python object per value.
//!
//! The specification is `core/output.py` with the built-in decoder chain
//! (`core/decode.py`) and msgspec's encoder: a JSON value is decoded and written
//! again compactly. A record whose line this module is not sure to write byte for
//! byte alike (a value that does not decode, a float outside the plain decimal
//! forms, a repeated key, very deep nesting, a raw mode) is left to Python (`Defer`).

use crate::json::{Defer, Reader, R};

const MAX_DEPTH: usize = 400;
const MAX_INT_DIGITS: usize = 300;

/// A JSON string as msgspec writes it: `"` and `\` escaped, control characters as
/// `\n`-style or `\u00XX` escapes, everything else (DEL and non-ASCII included) as is.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{:04x}", b));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (`base64.b64encode`).
pub fn base64(out: &mut String, data: &[u8]) {
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [chunk[0], if n > 1 { chunk[1] } else { 0 }, if n > 2 { chunk[2] } else { 0 }];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

/// A number as msgspec writes the value it decodes from `text`: integers exactly (`-0` is
/// `0`), plain decimals of at most 15 significant digits between 1e-4 and 1e15 in their
/// shortest form; anything else (exponents, long or tiny or huge floats) defers.
fn number(out: &mut String, text: &str, integer: bool) -> R<()> {
    if integer {
        let digits = text.trim_start_matches('-');
        if digits.len() > MAX_INT_DIGITS {
            return Err(Defer);
        }
        out.push_str(if digits == "0" { "0" } else { text });
        return Ok(());
    }
    if text.contains(['e', 'E']) {
        return Err(Defer);
    }
    let (whole, fraction) = text.split_once('.').ok_or(Defer)?;
    let fraction = fraction.trim_end_matches('0');
    let digits: String = whole.trim_start_matches('-').chars().chain(fraction.chars()).collect();
    let significant = digits.trim_start_matches('0');
    let magnitude = whole.trim_start_matches('-');
    let zero = significant.is_empty();
    // 1e-4 <= |v|: at most three zeros lead the fraction of a value below 1
    let tiny = magnitude == "0" && fraction.len() - fraction.trim_start_matches('0').len() > 3;
    if !zero && (significant.len() > 15 || magnitude.len() > 15 || tiny) {
        return Err(Defer);
    }
    out.push_str(whole);
    out.push('.');
    out.push_str(if fraction.is_empty() { "0" } else { fraction });
    Ok(())
}

/// One JSON value read from `r` and written compactly to `out`.
fn value(r: &mut Reader, out: &mut String, depth: usize) -> R<()> {
    if depth >= MAX_DEPTH {
        return Err(Defer);
    }
    match r.peek().ok_or(Defer)? {
        b'{' => object(r, out, depth),
        b'[' => {
            r.pos += 1;
            out.push('[');
            if closes(r, out, b']') {
                return Ok(());
            }
            loop {
                r.skip_ws();
                value(r, out, depth + 1)?;
                if next_or_close(r, out, b']')? {
                    return Ok(());
                }
            }
        }
        b'"' => {
            let s = r.string()?;
            string(out, &s);
            Ok(())
        }
        b't' => r.literal(b"true").map(|_| out.push_str("true")),
        b'f' => r.literal(b"false").map(|_| out.push_str("false")),
        b'n' => r.literal(b"null").map(|_| out.push_str("null")),
        _ => {
            let (text, integer) = r.number_text()?;
            number(out, text, integer)
        }
    }
}

fn object(r: &mut Reader, out: &mut String, depth: usize) -> R<()> {
    r.expect(b'{')?;
    out.push('{');
    if closes(r, out, b'}') {
        return Ok(());
    }
    let mut keys: Vec<std::borrow::Cow<str>> = Vec::new();
    loop {
        r.skip_ws();
        let key = r.string()?;
        if keys.contains(&key) {
            return Err(Defer); // a dict keeps the first place and the last value
        }
        string(out, &key);
        keys.push(key);
        r.skip_ws();
        r.expect(b':')?;
        out.push(':');
        r.skip_ws();
        value(r, out, depth + 1)?;
        if next_or_close(r, out, b'}')? {
            return Ok(());
        }
    }
}

/// An empty container: its closing bracket comes first (written, and true).
fn closes(r: &mut Reader, out: &mut String, close: u8) -> bool {
    r.skip_ws();
    if r.peek() != Some(close) {
        return false;
    }
    r.pos += 1;
    out.push(close as char);
    true
}

/// After a member: a comma (false: another follows) or the closing bracket (true).
fn next_or_close(r: &mut Reader, out: &mut String, close: u8) -> R<bool> {
    r.skip_ws();
    match r.peek() {
        Some(b',') => {
            r.pos += 1;
            out.push(',');
            Ok(false)
        }
        Some(b) if b == close => {
            r.pos += 1;
            out.push(close as char);
            Ok(true)
        }
        _ => Err(Defer),
    }
}

/// A whole JSON document written compactly (msgspec's decode, then encode).
pub fn json_document(out: &mut String, data: &[u8]) -> R<()> {
    let mut r = Reader::new(data)?;
    r.skip_ws();
    value(&mut r, out, 0)?;
    r.skip_ws();
    if r.pos != data.len() {
        return Err(Defer);
    }
    Ok(())
}

/// `TextDecoder`: UTF-8 without control characters other than tab, LF and CR.
fn text(data: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(data).ok()?;
    let control = |b: u8| matches!(b, 0x00..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f | 0x7f);
    (!s.bytes().any(control)).then_some(s)
}

/// `JsonDecoder.claims`.
fn json_claims(data: &[u8], content_type_json: bool) -> bool {
    let first = data.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    matches!(first, Some(b'{' | b'[')) || content_type_json
}

/// The `value`, `value_format`, `value_encoding`, `schema_id` and `decode_error` members.
pub fn value_members(out: &mut String, value: Option<&[u8]>, content_type_json: bool) -> R<()> {
    let Some(data) = value else {
        out.push_str(r#""value":null,"value_format":"null","decode_error":null"#);
        return Ok(());
    };
    if data.is_empty() {
        out.push_str(r#""value":"","value_format":"text","decode_error":null"#);
        return Ok(());
    }
    if crate::json::is_guid_wire_format(data) {
        return Err(Defer); // a registry plugin may decode it: Python writes the line
    }
    if crate::json::is_wire_format(data) {
        if crate::json::wire_to_python() {
            return Err(Defer); // a plugin decodes it: Python writes the line
        }
        let id = u32::from_be_bytes([data[1], data[2], data[3], data[4]]);
        out.push_str(r#""value":""#);
        base64(out, &data[5..]);
        out.push_str(
            r#"","value_format":"schema-registry","value_encoding":"base64","schema_id":"#,
        );
        out.push_str(&id.to_string());
        out.push_str(r#","decode_error":null"#);
        return Ok(());
    }
    if json_claims(data, content_type_json) {
        out.push_str(r#""value":"#);
        json_document(out, data)?;
        out.push_str(r#","value_format":"json","decode_error":null"#);
        return Ok(());
    }
    if let Some(s) = text(data) {
        out.push_str(r#""value":"#);
        string(out, s);
        out.push_str(r#","value_format":"text","decode_error":null"#);
        return Ok(());
    }
    out.push_str(r#""value":""#);
    base64(out, data);
    out.push_str(r#"","value_format":"binary","value_encoding":"base64","decode_error":null"#);
    Ok(())
}

/// `_bytes_field`: UTF-8 text as is, other bytes as base64, None as null.
pub fn key_members(out: &mut String, key: Option<&[u8]>) {
    match key {
        None => out.push_str(r#""key":null,"key_encoding":null"#),
        Some(k) => match std::str::from_utf8(k) {
            Ok(s) => {
                out.push_str(r#""key":"#);
                string(out, s);
                out.push_str(r#","key_encoding":"utf8""#);
            }
            Err(_) => {
                out.push_str(r#""key":""#);
                base64(out, k);
                out.push_str(r#"","key_encoding":"base64""#);
            }
        },
    }
}

/// The headers as `[[name, value], ...]`: text, `{"base64": ...}` or null.
pub fn headers_member(out: &mut String, headers: &[(&str, Option<&[u8]>)]) {
    out.push_str(r#""headers":["#);
    for (i, (name, raw)) in headers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        string(out, name);
        out.push(',');
        match raw {
            None => out.push_str("null"),
            Some(raw) => match std::str::from_utf8(raw) {
                Ok(s) => string(out, s),
                Err(_) => {
                    out.push_str(r#"{"base64":""#);
                    base64(out, raw);
                    out.push_str(r#""}"#);
                }
            },
        }
        out.push(']');
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> R<String> {
        let mut out = String::new();
        json_document(&mut out, s.as_bytes())?;
        Ok(out)
    }

    #[test]
    fn transcodes_like_msgspec() {
        assert_eq!(
            doc(r#" { "a" : [1, -0, 83.70, 1.000, "\u0041\/"] } "#).unwrap(),
            r#"{"a":[1,0,83.7,1.0,"A/"]}"#
        );
        assert!(doc("1e5").is_err());
        assert!(doc("0.00001").is_err());
        assert!(doc(r#"{"a":1,"a":2}"#).is_err());
    }

    #[test]
    fn base64_pads() {
        for (data, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
        ] {
            let mut out = String::new();
            base64(&mut out, data);
            assert_eq!(out, want);
        }
    }
}
