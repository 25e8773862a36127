//! A strict JSON reader for the few top-level fields identity extraction needs.
//!
//! It validates the whole document (RFC 8259, as strict as msgspec or stricter)
//! and decodes only what it is asked for. Anything it is not sure to read
//! exactly as evtui's Python decoders do (NaN, lone surrogate escapes, very
//! deep nesting, invalid input) is `Defer`: the Python implementation reads
//! that record instead, so both give the same ids and report the same problems.

use std::borrow::Cow;

/// "Not here: let the Python implementation read this record."
#[derive(Debug, PartialEq, Eq)]
pub struct Defer;

pub type R<T> = Result<T, Defer>;

/// Set while a plugin decodes the Schema Registry wire format (magic byte 0 and a schema
/// id): such values are then left to Python (`wire_to_python`), everything else stays here.
static WIRE_TO_PYTHON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether wire-format values are left to Python (see `set_wire_to_python`).
pub fn wire_to_python() -> bool {
    WIRE_TO_PYTHON.load(std::sync::atomic::Ordering::Relaxed)
}

/// Leave Schema Registry wire-format values to Python (a plugin decodes them) or not.
pub fn set_wire_to_python(on: bool) {
    WIRE_TO_PYTHON.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// The Schema Registry wire format as `SchemaRegistryDecoder` claims it: magic byte 0 and
/// a schema id other than 0.
pub fn is_wire_format(data: &[u8]) -> bool {
    data.len() >= 5 && data[0] == 0 && data[1..5] != [0, 0, 0, 0]
}

/// What a registry plugin may claim beside `is_wire_format`: magic byte 1 and a schema GUID
/// (16 bytes). Only while `wire_to_python` is set: the built-ins read it as text or binary.
pub fn is_guid_wire_format(data: &[u8]) -> bool {
    data.len() >= 17 && data[0] == 1 && wire_to_python()
}

/// Nesting deeper than this is left to Python (its limit is `decode.MAX_DEPTH`, 512).
const MAX_DEPTH: usize = 400;

/// A JSON value as far as identity extraction cares.
#[derive(Debug)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    /// An integer, in Python's `str(int)` form (at most 18 digits; longer ones defer).
    Int(String),
    /// An object: its members, in document order (spans of the input).
    Object(Vec<Member<'a>>),
    /// Anything else (floats, booleans, null, arrays).
    Other,
}

#[derive(Debug)]
pub struct Member<'a> {
    pub key: Cow<'a, str>,
    pub start: usize,
    pub end: usize,
}

pub struct Reader<'a> {
    pub data: &'a [u8],
    pub(crate) pos: usize,
}

fn ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a> Reader<'a> {
    /// A reader of `data`, which must be UTF-8 (validated once here, so that every string
    /// between two quotes is UTF-8 too: quotes are ASCII).
    pub fn new(data: &'a [u8]) -> R<Self> {
        if !data.is_ascii() && std::str::from_utf8(data).is_err() {
            return Err(Defer);
        }
        Ok(Reader { data, pos: 0 })
    }

    /// Text between two positions of the (validated) input at ASCII boundaries.
    pub(crate) fn text(&self, start: usize, end: usize) -> &'a str {
        // SAFETY: `new` validated the whole input as UTF-8 and both ends sit next to ASCII
        // bytes (quotes, digits, signs), which are never inside a multi-byte sequence.
        unsafe { std::str::from_utf8_unchecked(&self.data[start..end]) }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if !ws(b) {
                break;
            }
            self.pos += 1;
        }
    }

    pub(crate) fn expect(&mut self, b: u8) -> R<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Defer)
        }
    }

    /// The top-level object's members, the whole document validated; `Ok(None)` for a
    /// valid document that is not an object.
    pub fn top_members(&mut self) -> R<Option<Vec<Member<'a>>>> {
        self.skip_ws();
        let members = if self.peek() == Some(b'{') {
            Some(self.object_members(0)?)
        } else {
            self.skip_value(0)?;
            None
        };
        self.skip_ws();
        if self.pos != self.data.len() {
            return Err(Defer);
        }
        Ok(members)
    }

    fn object_members(&mut self, depth: usize) -> R<Vec<Member<'a>>> {
        if depth >= MAX_DEPTH {
            return Err(Defer);
        }
        self.expect(b'{')?;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(members);
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let start = self.pos;
            self.skip_value(depth + 1)?;
            members.push(Member { key, start, end: self.pos });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(members);
                }
                _ => return Err(Defer),
            }
        }
    }

    fn skip_value(&mut self, depth: usize) -> R<()> {
        if depth >= MAX_DEPTH {
            return Err(Defer);
        }
        match self.peek().ok_or(Defer)? {
            b'{' => {
                self.object_members(depth)?;
            }
            b'[' => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(Defer),
                    }
                }
            }
            b'"' => {
                self.string()?;
            }
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            _ => {
                self.number()?;
            }
        }
        Ok(())
    }

    pub(crate) fn literal(&mut self, word: &[u8]) -> R<()> {
        if self.data[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Defer)
        }
    }

    /// A number by the JSON grammar; Some(text) when it is an integer.
    fn number(&mut self) -> R<Option<&'a str>> {
        let (text, integer) = self.number_text()?;
        Ok(integer.then_some(text))
    }

    /// A number by the JSON grammar: its text, and whether it is an integer.
    pub(crate) fn number_text(&mut self) -> R<(&'a str, bool)> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
            }
            _ => return Err(Defer),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        Ok((self.text(start, self.pos), integer))
    }

    fn digits(&mut self) -> R<()> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if self.pos == start {
            Err(Defer)
        } else {
            Ok(())
        }
    }

    /// A string, its escapes decoded (lone surrogates defer; raw control characters are invalid).
    pub(crate) fn string(&mut self) -> R<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.pos;
        let rest = &self.data[start..];
        let stop = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).ok_or(Defer)?;
        self.pos = start + stop;
        match rest[stop] {
            b'"' => {
                let text = self.text(start, self.pos);
                self.pos += 1;
                return Ok(Cow::Borrowed(text));
            }
            b'\\' => {}
            _ => return Err(Defer), // a raw control character
        }
        let mut out: Vec<u8> = self.data[start..self.pos].to_vec();
        loop {
            let b = self.peek().ok_or(Defer)?;
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or(Defer)?;
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xd800..0xdc00).contains(&code)
                                && self.data.get(self.pos..self.pos + 2) == Some(b"\\u")
                            {
                                // a surrogate pair (how ensure_ascii writes non-BMP characters)
                                self.pos += 2;
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return Err(Defer);
                                }
                                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                            }
                            if (0xd800..0xe000).contains(&code) {
                                return Err(Defer); // a lone surrogate: left to Python
                            }
                            let c = char::from_u32(code).ok_or(Defer)?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(Defer),
                    }
                }
                0x00..=0x1f => return Err(Defer),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map(Cow::Owned).map_err(|_| Defer)
    }

    fn hex4(&mut self) -> R<u32> {
        let digits = self.data.get(self.pos..self.pos + 4).ok_or(Defer)?;
        let text = std::str::from_utf8(digits).map_err(|_| Defer)?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Defer);
        }
        self.pos += 4;
        u32::from_str_radix(text, 16).map_err(|_| Defer)
    }

    /// The value of a member (a span validated before), read as identity extraction needs it.
    pub fn value(data: &'a [u8], member: &Member<'a>, depth: usize) -> R<Value<'a>> {
        let mut r = Reader { data: &data[..member.end], pos: member.start }; // validated
        match r.peek().ok_or(Defer)? {
            b'"' => Ok(Value::Str(r.string()?)),
            b'{' => Ok(Value::Object(r.object_members(depth)?)),
            b'-' | b'0'..=b'9' => match r.number()? {
                Some(text) => Ok(Value::Int(int_text(text)?)),
                None => Ok(Value::Other),
            },
            _ => Ok(Value::Other),
        }
    }
}

/// Python's `str(int(text))` for JSON integer text of at most 18 digits.
fn int_text(text: &str) -> R<String> {
    let digits = text.trim_start_matches('-');
    if digits.len() > 18 {
        return Err(Defer);
    }
    let n: i64 = text.parse().map_err(|_| Defer)?;
    Ok(n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(doc: &str) -> R<Option<Vec<String>>> {
        let mut r = Reader::new(doc.as_bytes())?;
        Ok(r.top_members()?.map(|m| m.into_iter().map(|m| m.key.into_owned()).collect()))
    }

    #[test]
    fn reads_objects() {
        assert_eq!(
            members(r#" {"a": [1, {"b": null}], "c\u0041": -0.5e3} "#).unwrap().unwrap(),
            ["a", "cA"]
        );
        assert_eq!(members("[1, 2]").unwrap(), None);
    }

    #[test]
    fn defers_what_it_does_not_read_exactly() {
        for doc in [
            r#"{"a": NaN}"#,
            r#"{"a": "\ud800"}"#,
            "{\"a\": \"\x01\"}",
            "{\"a\":1,}",
            "{} x",
            "01",
            "{\"a\":1e}",
        ] {
            assert_eq!(members(doc), Err(Defer), "{doc}");
        }
    }

    #[test]
    fn integers_as_python_prints_them() {
        assert_eq!(int_text("-0").unwrap(), "0");
        assert_eq!(int_text("123456789012345678").unwrap(), "123456789012345678");
        assert!(int_text("1234567890123456789").is_err());
    }
}
