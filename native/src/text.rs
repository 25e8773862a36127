//! Text rules shared by headers and JSON values, exactly as Python applies them.
//!
//! Only ASCII text is handled here: a value with other characters is left to the
//! Python implementation (its `str.strip` and `str.isprintable` follow Unicode
//! tables this module does not copy).

/// Values longer than this (in characters) are not ids (`ids.MAX_LEN`).
pub const MAX_LEN: usize = 256;
/// No UTF-8 value longer than this many bytes fits in `MAX_LEN` characters.
pub const MAX_BYTES: usize = 4 * MAX_LEN;

/// What Python's `str.strip()` removes from ASCII text (`\x1c`..`\x1f` included).
pub fn is_str_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f)
}

/// What Python's `bytes.strip()` removes.
pub fn is_bytes_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub fn strip_by(s: &[u8], space: fn(u8) -> bool) -> &[u8] {
    let start = s.iter().position(|&b| !space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !space(b)).map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// `str.strip()` of ASCII text.
pub fn strip(s: &str) -> &str {
    let bytes = strip_by(s.as_bytes(), is_str_space);
    // ASCII only: every cut is at a character boundary
    std::str::from_utf8(bytes).unwrap_or("")
}

/// `str.isprintable()` of ASCII text.
pub fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `ids._clean` of ASCII text: stripped, non-empty, printable, at most `MAX_LEN`.
pub fn clean(text: &str) -> Option<&str> {
    let text = strip(text);
    if text.len() > MAX_LEN || text.is_empty() || !printable(text) {
        return None;
    }
    Some(text)
}

/// The outcome of reading a header value: usable text, nothing, or "ask Python".
pub enum HeaderText<'a> {
    Text(&'a str),
    Nothing,
    Defer,
}

/// `ids.header_text` (and its inlined twin in `_scan_headers`) of a header's bytes.
pub fn header_text(raw: &[u8]) -> HeaderText<'_> {
    if raw.len() > MAX_BYTES && strip_by(raw, is_bytes_space).len() > MAX_BYTES {
        return HeaderText::Nothing;
    }
    let Ok(text) = std::str::from_utf8(raw) else {
        return HeaderText::Nothing;
    };
    if !text.is_ascii() {
        return HeaderText::Defer;
    }
    match clean(text) {
        Some(t) => HeaderText::Text(t),
        None => HeaderText::Nothing,
    }
}

/// `ids.endpoint_name`: a MassTransit address's endpoint.
pub fn endpoint_name(address: &str) -> Option<&str> {
    let path = address.split('?').next().unwrap_or("");
    let path = path.split('#').next().unwrap_or("").trim_end_matches('/');
    let path = match path.split_once("://") {
        Some((_, rest)) => {
            if !rest.contains('/') {
                return None;
            }
            rest
        }
        None => path,
    };
    let last = path.rsplit('/').next().unwrap_or("");
    let name = strip(last.rsplit(':').next().unwrap_or(""));
    (!name.is_empty()).then_some(name)
}

/// `ids._first_type`: NServiceBus's first enclosed type, without the assembly.
pub fn first_type(text: &str) -> Option<&str> {
    let first = text.split(';').next().unwrap_or("");
    let first = strip(first.split(',').next().unwrap_or(""));
    (!first.is_empty()).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_like_python() {
        assert_eq!(strip("\x1c a \x1f"), "a");
        assert_eq!(strip_by(b"\x1c a \x0b", is_bytes_space), b"\x1c a");
        assert_eq!(strip("   "), "");
    }

    #[test]
    fn endpoints() {
        assert_eq!(endpoint_name("rabbitmq://h/v/orders?x=1"), Some("orders"));
        assert_eq!(endpoint_name("queue:orders"), Some("orders"));
        assert_eq!(endpoint_name("kafka://host"), None);
        assert_eq!(endpoint_name("kafka://h/orders-service/"), Some("orders-service"));
    }
}
