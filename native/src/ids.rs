//! `ids.extract_ids` for the built-in conventions, over whole batches of events.
//!
//! One specification: `evtui/core/ids.py` with `ids_conventions.py` (their notes say what is read and
//! in which precedence). This is a second implementation of exactly that, pinned
//! to it by differential tests (tests/unit/test_native_ids.py). Where it cannot
//! be sure to agree (non-ASCII text, values that do not decode, user rules) it
//! leaves the event to the Python implementation (`Defer`).

use std::borrow::Cow;

use crate::json::{Defer, Member, Reader, Value, R};
use crate::text::{self, HeaderText};
use crate::trace::{self, Trace};

pub const EVENT_ID: usize = 0;
pub const CORRELATION: usize = 1;
pub const CAUSATION: usize = 2;
pub const SERVICE: usize = 3;
pub const TYPE: usize = 4;
pub const SOURCE: usize = 5;
const TRACEPARENT: usize = 6;
const B3: usize = 7;
const B3_TRACE: usize = 8;
const B3_SPAN: usize = 9;
const B3_PARENT: usize = 10;
const UBER: usize = 11;
const CONTENT_TYPE: usize = 12;
const ID_IF_TYPED: usize = 13;
const METADATA: usize = 14;
const FIELDS: usize = 15;
const NO_RANK: u8 = 99;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transform {
    None,
    Endpoint,
    FirstType,
}

#[derive(Clone, Copy)]
struct Rule {
    field: usize,
    rank: u8,
    transform: Transform,
}

const fn rule(field: usize, rank: u8) -> Option<Rule> {
    Some(Rule { field, rank, transform: Transform::None })
}

/// `_COMMON`: names read from headers and JSON alike.
fn common(name: &str) -> Option<Rule> {
    match name {
        "event-id" | "eventid" | "nservicebus.messageid" => rule(EVENT_ID, 0),
        "message-id" | "messageid" => rule(EVENT_ID, 1),
        "correlation-id" | "correlationid" | "x-correlation-id" | "$correlationid" => {
            rule(CORRELATION, 0)
        }
        "conversation-id" | "conversationid" | "nservicebus.conversationid" => rule(CORRELATION, 1),
        "causation-id" | "causationid" | "$causationid" => rule(CAUSATION, 0),
        "nservicebus.relatedto" | "mt-initiatorid" => rule(CAUSATION, 1),
        "event-type" | "eventtype" => rule(TYPE, 0),
        "type" => rule(TYPE, 1),
        "service"
        | "service.name"
        | "service-name"
        | "servicename"
        | "producer"
        | "nservicebus.originatingendpoint" => rule(SERVICE, 0),
        "source-address" | "sourceaddress" | "mt-source-address" | "mt-sourceaddress" => {
            Some(Rule { field: SERVICE, rank: 1, transform: Transform::Endpoint })
        }
        _ => None,
    }
}

/// `HEADER_RULES`.
fn header_rule(name: &str) -> Option<Rule> {
    match name {
        "ce-id" => rule(EVENT_ID, 0),
        "ce-correlationid" => rule(CORRELATION, 0),
        "ce-causationid" => rule(CAUSATION, 0),
        "ce-type" => rule(TYPE, 0),
        "ce-source" => rule(SOURCE, 0),
        "nservicebus.enclosedmessagetypes" => {
            Some(Rule { field: TYPE, rank: 0, transform: Transform::FirstType })
        }
        "--typeid--" => rule(TYPE, 0),
        "traceparent" => rule(TRACEPARENT, 0),
        "b3" => rule(B3, 0),
        "x-b3-traceid" => rule(B3_TRACE, 0),
        "x-b3-spanid" => rule(B3_SPAN, 0),
        "x-b3-parentspanid" => rule(B3_PARENT, 0),
        "uber-trace-id" => rule(UBER, 0),
        "content-type" => rule(CONTENT_TYPE, 0),
        _ => common(name),
    }
}

/// `JSON_RULES` (`cloudevent == false`) or `CLOUDEVENT_RULES`.
fn json_rule(name: &str, cloudevent: bool) -> Option<Rule> {
    match name {
        "id" if cloudevent => rule(EVENT_ID, 0),
        "type" if cloudevent => rule(TYPE, 0),
        "source" if cloudevent => rule(SOURCE, 0),
        "initiatorid" => rule(CAUSATION, 1),
        "$type" => rule(TYPE, 1),
        "id" => rule(ID_IF_TYPED, 2),
        "metadata" => rule(METADATA, 0),
        _ => common(name),
    }
}

/// The longest name any table holds, plus room: longer names match nothing.
const LONGEST: usize = 40;

/// `ids.normalise` into `buf`: lower case, `_` as `-`. None when no rule can match
/// (too long); Err when Python's `str.lower` might map it to a name (KELVIN SIGN).
fn normalise<'b>(name: &str, buf: &'b mut [u8; LONGEST]) -> R<Option<&'b str>> {
    if !name.is_ascii() {
        // only U+212A (KELVIN SIGN) lower-cases to an ASCII letter
        return if name.contains('\u{212a}') { Err(Defer) } else { Ok(None) };
    }
    if name.len() > LONGEST {
        return Ok(None);
    }
    for (slot, b) in buf.iter_mut().zip(name.bytes()) {
        *slot = if b == b'_' { b'-' } else { b.to_ascii_lowercase() };
    }
    let ascii = &buf[..name.len()];
    debug_assert!(ascii.is_ascii());
    // SAFETY: ASCII bytes (the name is ASCII; `-` and lower-case letters written for some)
    Ok(Some(unsafe { std::str::from_utf8_unchecked(ascii) }))
}

/// The names the user switched off (`IdRules.ignore`, normalised).
pub struct Ignored(pub Vec<String>);

impl Ignored {
    fn has(&self, name: &str) -> bool {
        !self.0.is_empty() && self.0.iter().any(|n| n == name)
    }
}

/// The best value seen so far for each field (`ids._Found`).
pub struct Found<'a> {
    rank: [u8; FIELDS],
    text: [Option<Cow<'a, str>>; FIELDS],
    causes: Vec<(u8, Cow<'a, str>)>,
}

impl<'a> Found<'a> {
    pub fn new() -> Self {
        Found { rank: [NO_RANK; FIELDS], text: Default::default(), causes: Vec::new() }
    }

    /// A header's value: the best rank wins, and the last of equal ranks.
    fn put_header(&mut self, field: usize, rank: u8, text: Cow<'a, str>) {
        if field == CAUSATION {
            self.causes.push((rank, text));
        } else if rank <= self.rank[field] {
            self.rank[field] = rank;
            self.text[field] = Some(text);
        }
    }

    /// A body's value: the best rank wins, the first of equal ranks.
    fn put(&mut self, field: usize, rank: u8, text: Cow<'a, str>) {
        if field == CAUSATION {
            self.causes.push((rank, text));
        } else if rank < self.rank[field] {
            self.rank[field] = rank;
            self.text[field] = Some(text);
        }
    }

    fn value(&self, field: usize) -> Option<&str> {
        self.text[field].as_deref()
    }

    fn nothing(&self) -> bool {
        self.causes.is_empty() && self.text[..=SOURCE].iter().all(Option::is_none)
    }
}

impl Default for Found<'_> {
    fn default() -> Self {
        Self::new()
    }
}

fn apply(transform: Transform, text: &str) -> Option<&str> {
    match transform {
        Transform::None => Some(text),
        Transform::Endpoint => text::endpoint_name(text),
        Transform::FirstType => text::first_type(text),
    }
}

/// One header (`_scan_headers`' loop body): name and value as the record has them.
pub fn scan_header<'a>(
    name: &str,
    raw: Option<&'a [u8]>,
    found: &mut Found<'a>,
    ignored: &Ignored,
) -> R<()> {
    let mut buf = [0u8; LONGEST];
    let Some(key) = normalise(name, &mut buf)? else {
        return Ok(());
    };
    let Some(rule) = header_rule(key) else {
        return Ok(());
    };
    if ignored.has(key) {
        return Ok(());
    }
    let Some(raw) = raw else {
        return Ok(());
    };
    let text = match text::header_text(raw) {
        HeaderText::Text(t) => t,
        HeaderText::Nothing => return Ok(()),
        HeaderText::Defer => return Err(Defer),
    };
    if let Some(text) = apply(rule.transform, text) {
        found.put_header(rule.field, rule.rank, Cow::Borrowed(text));
    }
    Ok(())
}

/// `_is_cloudevent`.
pub fn is_cloudevent(found: &Found) -> bool {
    found
        .value(CONTENT_TYPE)
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/cloudevents"))
}

/// `_needs_body`.
pub fn needs_body(found: &Found, cloudevent: bool) -> bool {
    cloudevent || found.rank[EVENT_ID] != 0 || found.rank[CORRELATION] != 0 || found.rank[TYPE] != 0
}

/// What a JSON value gives a field (`json_text`, `_TEXT_ONLY`, the transform); Err to defer.
fn field_text<'a>(value: Value<'a>, rule: Rule) -> R<Option<Cow<'a, str>>> {
    let text = match value {
        Value::Str(s) => {
            if !s.is_ascii() {
                return Err(Defer); // Unicode strip and isprintable: Python's
            }
            match s {
                Cow::Borrowed(b) => text::clean(b).map(Cow::Borrowed),
                Cow::Owned(o) => text::clean(&o).map(|t| Cow::Owned(t.to_owned())),
            }
        }
        Value::Int(n) if !matches!(rule.field, SERVICE | TYPE | SOURCE) => Some(Cow::Owned(n)),
        _ => None,
    };
    let Some(text) = text else { return Ok(None) };
    if rule.transform == Transform::None {
        return Ok(Some(text));
    }
    Ok(apply(rule.transform, &text).map(|t| Cow::Owned(t.to_owned())))
}

/// Python dict semantics: a repeated key keeps its first place and its last value. Rather
/// than copy that, objects that repeat a key a rule reads are left to Python.
fn repeats(members: &[Member], named: &[usize]) -> bool {
    named
        .iter()
        .enumerate()
        .any(|(i, &m)| named[..i].iter().any(|&o| members[o].key == members[m].key))
}

/// `_scan_object`: one JSON object's fields; `metadata` is followed from the top only.
pub fn scan_object<'a>(
    data: &'a [u8],
    members: &[Member<'a>],
    cloudevent: bool,
    top: bool,
    found: &mut Found<'a>,
    ignored: &Ignored,
) -> R<()> {
    let mut buf = [0u8; LONGEST];
    let mut named: Vec<(usize, Rule)> = Vec::new();
    for (i, member) in members.iter().enumerate() {
        let Some(key) = normalise(&member.key, &mut buf)? else {
            continue;
        };
        let Some(rule) = json_rule(key, cloudevent) else {
            continue;
        };
        if !ignored.has(key) {
            named.push((i, rule));
        }
    }
    if named.len() > 1 && repeats(members, &named.iter().map(|n| n.0).collect::<Vec<_>>()) {
        return Err(Defer);
    }
    let mut candidate: Option<(u8, Cow<'a, str>)> = None;
    let mut typed = false;
    let mut metadata: Option<Vec<Member<'a>>> = None;
    for (i, rule) in named {
        let value = Reader::value(data, &members[i], 1)?;
        if rule.field == METADATA {
            if let (true, Value::Object(inner)) = (top, value) {
                metadata = Some(inner);
            }
            continue;
        }
        let Some(text) = field_text(value, rule)? else {
            continue;
        };
        if rule.field == ID_IF_TYPED {
            candidate = Some((rule.rank, text));
            continue;
        }
        if rule.field == TYPE {
            typed = true;
        }
        found.put(rule.field, rule.rank, text);
    }
    if let (Some((rank, text)), true) = (candidate, typed) {
        found.put(EVENT_ID, rank, text);
    }
    if let Some(inner) = metadata {
        scan_object(data, &inner, false, false, found, ignored)?;
    }
    Ok(())
}

/// The body's top-level members when the built-in decoder chain reads it as a JSON object
/// (`DecoderChain.peek`); Ok(None) when it reads no fields there.
pub fn body_members<'a>(
    value: Option<&'a [u8]>,
    content_type_json: impl FnOnce() -> R<bool>,
) -> R<Option<Vec<Member<'a>>>> {
    let Some(data) = value else { return Ok(None) };
    if data.is_empty() {
        return Ok(None);
    }
    // SchemaRegistryDecoder claims magic byte 0 and a schema id other than 0: no fields,
    // unless a plugin decodes the wire format (then Python reads the record)
    if crate::json::is_wire_format(data) {
        return if crate::json::wire_to_python() { Err(Defer) } else { Ok(None) };
    }
    if crate::json::is_guid_wire_format(data) {
        return Err(Defer);
    }
    if !json_claims(data, content_type_json)? {
        return Ok(None); // text or binary: no fields
    }
    Reader::new(data)?.top_members() // not UTF-8: a decode problem, which Python reports
}

/// `JsonDecoder.claims`.
fn json_claims(data: &[u8], content_type_json: impl FnOnce() -> R<bool>) -> R<bool> {
    let first = data[0];
    if first == b'{' || first == b'[' {
        return Ok(true);
    }
    if matches!(first, b' ' | b'\t' | b'\r' | b'\n') {
        let rest = data.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        if matches!(rest, Some(b'{' | b'[')) {
            return Ok(true);
        }
    }
    content_type_json()
}

/// The body's part of `_scan`: `specversion` picks the CloudEvents table.
pub fn scan_body<'a>(
    data: &'a [u8],
    members: &[Member<'a>],
    cloudevent: bool,
    found: &mut Found<'a>,
    ignored: &Ignored,
) -> R<()> {
    let cloudevent = cloudevent || specversion_is_text(data, members)?;
    scan_object(data, members, cloudevent, true, found, ignored)
}

fn specversion_is_text(data: &[u8], members: &[Member]) -> R<bool> {
    let mut last = None;
    for m in members {
        if m.key == "specversion" {
            last = Some(m); // dict.get: the last of a repeated key
        }
    }
    match last {
        Some(m) => Ok(matches!(Reader::value(data, m, 1)?, Value::Str(_))),
        None => Ok(false),
    }
}

/// `_trace`: the first valid trace context.
fn trace_of(found: &Found) -> Option<Trace> {
    let mut trace = found.value(TRACEPARENT).and_then(trace::parse_traceparent);
    if trace.is_none() {
        if let Some(t) = found.value(B3) {
            trace = trace::parse_b3(t);
        }
    }
    if trace.is_none() {
        trace = trace::parse_b3_multi(
            found.value(B3_TRACE),
            found.value(B3_SPAN),
            found.value(B3_PARENT),
        );
    }
    if trace.is_none() {
        if let Some(t) = found.value(UBER) {
            trace = trace::parse_uber(t);
        }
    }
    trace
}

/// `EventIds` as plain data (None: the shared empty value); texts borrowed from the record
/// where they are its bytes as they are.
#[derive(Debug, PartialEq, Eq)]
pub struct Ids<'a> {
    pub event_id: Option<Cow<'a, str>>,
    pub correlation_id: Option<Cow<'a, str>>,
    pub causation_ids: Vec<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    pub span_id: Option<Cow<'a, str>>,
    pub parent_span_id: Option<Cow<'a, str>>,
    pub service: Option<Cow<'a, str>>,
    pub event_type: Option<Cow<'a, str>>,
    pub source: Option<Cow<'a, str>>,
}

/// `_causes`: best rank first (stable), each value once.
fn causes<'a>(mut causes: Vec<(u8, Cow<'a, str>)>) -> Vec<Cow<'a, str>> {
    causes.sort_by_key(|c| c.0);
    let mut out: Vec<Cow<'a, str>> = Vec::with_capacity(causes.len());
    for (_, text) in causes {
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// The result of `extract_ids` from what was found (None for `EMPTY`).
pub fn finish(mut found: Found) -> Option<Ids> {
    let trace = trace_of(&found);
    if trace.is_none() && found.nothing() {
        return None;
    }
    let (trace_id, span_id, parent_span_id) = match trace {
        Some((t, s, p)) => (Some(Cow::Owned(t)), s.map(Cow::Owned), p.map(Cow::Owned)),
        None => (None, None, None),
    };
    let mut take = |field: usize| found.text[field].take();
    let event_id = take(EVENT_ID);
    let correlation_id = take(CORRELATION).or_else(|| trace_id.clone());
    let service = take(SERVICE);
    let event_type = take(TYPE);
    let source = take(SOURCE);
    Some(Ids {
        event_id,
        correlation_id,
        causation_ids: causes(std::mem::take(&mut found.causes)),
        trace_id,
        span_id,
        parent_span_id,
        service,
        event_type,
        source,
    })
}
