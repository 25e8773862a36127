//! Trace context headers (`ids.parse_traceparent`, `parse_b3`, `parse_b3_multi`,
//! `parse_uber`), read from ASCII text exactly as the Python regexes read it.

/// Trace id (32 lower-case hex digits), span id, parent span id.
pub type Trace = (String, Option<String>, Option<String>);

fn lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex_of(s: &str, len: usize) -> bool {
    s.len() == len && lower_hex(s)
}

fn zero(s: &str) -> bool {
    s.bytes().all(|b| b == b'0')
}

fn wide(trace: &str) -> String {
    if trace.len() == 32 {
        trace.to_owned()
    } else {
        format!("{:0>32}", trace)
    }
}

/// W3C `version-traceid-spanid-flags`, in either case.
pub fn parse_traceparent(text: &str) -> Option<Trace> {
    if !text.is_ascii() {
        return None; // no lower-cased non-ASCII character is a hex digit or a dash
    }
    // the common form: version 00 in lower case (no lower-casing, no rest allowed)
    let b = text.as_bytes();
    if b.len() == 55
        && text.starts_with("00-")
        && b[35] == b'-'
        && b[52] == b'-'
        && hex_of(&text[3..35], 32)
        && hex_of(&text[36..52], 16)
        && hex_of(&text[53..55], 2)
    {
        let (trace, span) = (&text[3..35], &text[36..52]);
        if zero(trace) || zero(span) {
            return None;
        }
        return Some((trace.to_owned(), Some(span.to_owned()), None));
    }
    let lower = text.to_ascii_lowercase();
    let t = lower.as_str();
    if t.len() < 55 {
        return None;
    }
    let (version, trace, span, flags) = (&t[0..2], &t[3..35], &t[36..52], &t[53..55]);
    let b = t.as_bytes();
    if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    if !(hex_of(version, 2) && hex_of(trace, 32) && hex_of(span, 16) && hex_of(flags, 2)) {
        return None;
    }
    let rest = &t[55..];
    if !rest.is_empty() && !rest.starts_with('-') {
        return None;
    }
    // `(-.*)?`: `.` matches anything but a newline
    if rest.contains('\n') {
        return None;
    }
    if version == "ff" || (version == "00" && !rest.is_empty()) || zero(trace) || zero(span) {
        return None;
    }
    Some((trace.to_owned(), Some(span.to_owned()), None))
}

/// B3 single header `traceid-spanid[-sampled[-parentspanid]]`.
pub fn parse_b3(text: &str) -> Option<Trace> {
    if !text.is_ascii() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let t = lower.as_str();
    for len in [32, 16] {
        if t.len() <= len || !hex_of(&t[..len], len) || t.as_bytes()[len] != b'-' {
            continue;
        }
        if let Some(found) = b3_rest(&t[..len], &t[len + 1..]) {
            return found;
        }
    }
    None
}

/// After `traceid-`: `spanid[-sampled[-parent]]`; Some(result) when it matched in full.
fn b3_rest(trace: &str, rest: &str) -> Option<Option<Trace>> {
    if rest.len() < 16 || !hex_of(&rest[..16], 16) {
        return None;
    }
    let span = &rest[..16];
    let tail = &rest[16..];
    let parent = match tail.len() {
        0 => None,
        2 if tail.starts_with('-') && matches!(tail.as_bytes()[1], b'0' | b'1' | b'd') => None,
        19 if tail.starts_with('-')
            && matches!(tail.as_bytes()[1], b'0' | b'1' | b'd')
            && tail.as_bytes()[2] == b'-'
            && hex_of(&tail[3..], 16) =>
        {
            Some(&tail[3..])
        }
        _ => return None,
    };
    if zero(trace) || zero(span) {
        return Some(None);
    }
    let parent = parent.filter(|p| !zero(p)).map(str::to_owned);
    Some(Some((wide(trace), Some(span.to_owned()), parent)))
}

fn b3_id(text: Option<&str>, lens: &[usize]) -> Option<String> {
    let t = text?.to_ascii_lowercase();
    (lens.iter().any(|&n| hex_of(&t, n)) && !zero(&t)).then_some(t)
}

/// `X-B3-TraceId` / `X-B3-SpanId` / `X-B3-ParentSpanId`: needs a valid trace id.
pub fn parse_b3_multi(
    trace: Option<&str>,
    span: Option<&str>,
    parent: Option<&str>,
) -> Option<Trace> {
    let trace = b3_id(trace, &[32, 16])?;
    Some((wide(&trace), b3_id(span, &[16]), b3_id(parent, &[16])))
}

fn hex_run(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && lower_hex(s)
}

/// Jaeger `trace:span:parent:flags` (ids left-padded; parent `0` is none).
pub fn parse_uber(text: &str) -> Option<Trace> {
    let mut t = text.to_ascii_lowercase();
    if t.contains("%3a") {
        t = t.replace("%3a", ":");
    }
    let parts: Vec<&str> = t.split(':').collect();
    if parts.len() != 4 {
        return None;
    }
    let (trace, span, parent, flags) = (parts[0], parts[1], parts[2], parts[3]);
    if !(hex_run(trace, 32) && hex_run(span, 16) && hex_run(parent, 16) && hex_run(flags, 2)) {
        return None;
    }
    if zero(trace) || zero(span) {
        return None;
    }
    let parent = (!zero(parent)).then(|| format!("{:0>16}", parent));
    Some((format!("{:0>32}", trace), Some(format!("{:0>16}", span)), parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent() {
        let t = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert_eq!(parse_traceparent(t).unwrap().0, "0af7651916cd43dd8448eb211c80319c");
        assert!(parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x")
            .is_none());
        assert!(parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x")
            .is_some());
    }

    #[test]
    fn b3() {
        let t = parse_b3("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90")
            .unwrap();
        assert_eq!(t.2.as_deref(), Some("05e3ac9a4f6e3b90"));
        assert!(parse_b3("0").is_none());
        assert_eq!(parse_b3("a3ce929d0e0e4736-00f067aa0ba902b7").unwrap().0.len(), 32);
    }
}
