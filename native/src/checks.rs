//! Two ordering detectors' per-key state off the Python heap: duplicate events and event
//! time going back (`ordering.DuplicateDetector`, `ordering.EventTimeDetector`).
//!
//! The specification is `core/ordering.py`; this keeps the same bounded state (least
//! recently used keys go first, counted) and gives the same findings, pinned by
//! differential tests (tests/unit/test_native_checks.py). An event time this module
//! is not sure to read exactly as Python does (a time text in another form, a float
//! epoch, a value that does not decode) is asked of Python (`ordering.event_time_ms`).

use std::borrow::Cow;

use crate::json::{Reader, Value};

use crate::ordering::{Id, Lru, Ref};

/// A finding: the index of its event in the batch, then `Finding`'s fields (severity aside).
pub type Found =
    (usize, &'static str, String, i64, i64, Option<String>, Vec<String>, String, String, String);

/// `ordering.key_text`: the key as UTF-8 text, else hex.
pub fn key_text(key: Option<&[u8]>) -> Option<String> {
    key.map(|k| match std::str::from_utf8(k) {
        Ok(s) => s.to_owned(),
        Err(_) => k.iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// `ordering._iso`: `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC) of epoch milliseconds.
pub fn iso(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Howard Hinnant's civil_from_days.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `ordering._parse_time` for the common ISO 8601 form `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]`
/// `[Z|+HH:MM|-HH:MM]`, ASCII; None when Python must read it (another form, or invalid).
pub fn parse_time(text: &str) -> Option<i64> {
    let t = crate::text::strip(text).as_bytes();
    if t.len() < 19
        || t[4] != b'-'
        || t[7] != b'-'
        || t[10] != b'T'
        || t[13] != b':'
        || t[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
    let (h, mi, s) = (num(&t[11..13])?, num(&t[14..16])?, num(&t[17..19])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if y < 1
        || !(1..=12).contains(&mo)
        || d < 1
        || d > days_in[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || s > 59
    {
        return None;
    }
    let mut rest = &t[19..];
    let mut micro = 0;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        micro = match digits {
            3 => num(&rest[1..4])? * 1000,
            6 => num(&rest[1..7])?,
            _ => return None,
        };
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        b"" | b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    let us = seconds * 1_000_000 + micro;
    // int(moment.timestamp() * 1000): float seconds, times 1000, truncated
    Some(((us as f64 / 1e6) * 1000.0) as i64)
}

const EPOCH_FIRST_S: i128 = 946_684_800;
const EPOCH_LAST_S: i128 = 4_102_444_800;

/// `ordering.epoch_ms` of an integer.
fn epoch_ms(v: i128) -> Option<i64> {
    for per in [1i128, 1_000, 1_000_000, 1_000_000_000] {
        if EPOCH_FIRST_S * per <= v && v < EPOCH_LAST_S * per {
            return i64::try_from((v * 1000).div_euclid(per)).ok();
        }
    }
    None
}

const TIME_FIELDS: [&str; 4] = ["time", "occurredAt", "eventTime", "timestamp"];

/// Where an event's time comes from.
pub enum Time {
    /// The time and the name of where it came from (the header's own name, a field).
    At(i64, String),
    /// The record timestamp.
    Record,
    /// Python must read it.
    Ask,
}

/// `ordering.event_time_ms` without the record-timestamp fallback's value.
pub fn event_time(headers: &[(&str, Option<&[u8]>)], value: Option<&[u8]>, body: bool) -> Time {
    if let Some(time) = header_time(headers) {
        return time;
    }
    if !body {
        return Time::Ask;
    }
    let content_type_json = || Ok(crate::content_type_json_of(headers));
    body_time(value, &crate::ids::body_members(value, content_type_json))
}

/// `event_time_ms`'s header part: the last `ce_time` header's time (None: no such header).
pub fn header_time(headers: &[(&str, Option<&[u8]>)]) -> Option<Time> {
    for (name, raw) in headers.iter().rev() {
        let Some(raw) = raw else { continue };
        // name.lower() in ("ce_time", "ce-time"): no other character lower-cases into these
        if !(name.eq_ignore_ascii_case("ce_time") || name.eq_ignore_ascii_case("ce-time")) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            return Some(Time::Ask);
        };
        if !text.is_ascii() {
            return Some(Time::Ask);
        }
        if let Some(ms) = parse_time(text) {
            return Some(Time::At(ms, (*name).to_owned()));
        }
        // Python may still read another form (or nothing): ask it
        return Some(Time::Ask);
    }
    None
}

/// `event_time`'s part after the headers, of the body's top-level members (`body_members`).
pub fn body_time(
    value: Option<&[u8]>,
    members: &crate::json::R<Option<Vec<crate::json::Member>>>,
) -> Time {
    let members = match members {
        Ok(Some(m)) => m,
        Ok(None) => return Time::Record,
        Err(_) => return Time::Ask,
    };
    let data = value.unwrap_or_default();
    for field in TIME_FIELDS {
        let mut found = members.iter().filter(|m| m.key == field);
        let Some(member) = found.next() else { continue };
        if found.next().is_some() {
            return Time::Ask; // a repeated key: dict semantics are Python's
        }
        match Reader::value(data, member, 1) {
            Ok(Value::Str(s)) => {
                if !s.is_ascii() {
                    return Time::Ask;
                }
                match parse_time(&s) {
                    Some(ms) => return Time::At(ms, field.to_owned()),
                    None if looks_like_time(&s) => return Time::Ask,
                    None => continue,
                }
            }
            Ok(Value::Int(n)) => match n.parse::<i128>().ok().and_then(epoch_ms) {
                Some(ms) => return Time::At(ms, field.to_owned()),
                None => continue,
            },
            Ok(Value::Object(_)) => continue,
            Ok(Value::Other) => {
                let raw = &data[member.start..member.end];
                if raw.first().is_some_and(|b| b.is_ascii_digit() || *b == b'-') {
                    return Time::Ask; // a float: Python's arithmetic
                }
                continue;
            }
            Err(_) => return Time::Ask,
        }
    }
    Time::Record
}

/// Text that `datetime.fromisoformat` might read although `parse_time` does not (any digit:
/// a date-only, a week date, other fractions); text without digits is no time for either.
fn looks_like_time(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
}

/// A duplicate's identity: topic, CloudEvents source, event id.
pub type Identity = (u32, Option<Id>, Id);
/// Where an identity was first seen: the record, its digest, its record time.
pub type FirstSeen = (Ref, u64, i64);
/// A key's place: topic, key, partition.
/// (`place_key`: topic id and partition, 4 bytes each, then the key's bytes.)
pub type KeyPlace = Box<[u8]>;
/// A key's latest event time, its record, and the id of the last late event reported.
pub type Latest = (i64, Ref, Option<Id>);

/// The detectors' state.
pub struct DupTime {
    pub seen: Lru<Identity, FirstSeen>,
    pub seen_limit: usize,
    pub seen_evicted: usize,
    pub keys: Lru<KeyPlace, Latest>,
    pub keys_limit: usize,
    pub keys_evicted: usize,
    pub lateness_ms: i64,
    pub lateness_text: String,
    /// The key being looked up (no allocation per record).
    pub scratch: Vec<u8>,
}

/// A key's place as one byte string: topic id and partition (4 bytes each), the key.
pub fn place_key(into: &mut Vec<u8>, topic: u32, partition: i32, key: &[u8]) {
    into.clear();
    into.extend_from_slice(&topic.to_le_bytes());
    into.extend_from_slice(&partition.to_le_bytes());
    into.extend_from_slice(key);
}

/// A 64-bit digest of key, value and headers: what `_digest`'s (64-bit) hash compares, the
/// bytes. The top bit is clear: a digest Python made for an odd record has it set.
pub fn digest(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[(&str, Option<&[u8]>)]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::quality::FixedState::with_seed(0x9e37_79b9_7f4a_7c15).build_hasher();
    key.hash(&mut h);
    value.hash(&mut h);
    headers.hash(&mut h);
    h.finish() >> 1
}

/// One record as the detectors read it.
pub struct Rec<'a> {
    pub index: usize,
    pub topic: &'a str,
    pub at: Ref,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
    pub event_id: Option<Cow<'a, str>>,
    /// `event_id` as a key.
    pub eid_key: Option<&'a Id>,
    pub source: Option<Cow<'a, str>>,
}

impl<'a> Rec<'a> {
    /// `ordering.ref` of a record of this record's topic.
    fn text(&self, at: Ref) -> String {
        format!("{}/{}/{}", self.topic, at.partition, at.offset)
    }
}

/// `f"{x:,.3f}"`.
pub fn thousands_3f(x: f64) -> String {
    let text = format!("{:.3}", x.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((&text, "000"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{grouped}.{frac}", if x.is_sign_negative() && x != 0.0 { "-" } else { "" })
}

impl DupTime {
    /// `DuplicateDetector.offer`; `dig` stands for the record's bytes (see `digest`).
    pub fn duplicate(&mut self, r: &Rec, dig: u64, out: &mut Vec<Found>) {
        let Some(eid) = r.event_id.as_deref() else {
            return;
        };
        let eid_key = r.eid_key.expect("with the id").clone();
        let identity = (r.at.topic, r.source.as_deref().map(Id::new), eid_key);
        let here = r.at;
        let Some(&(first_ref, first_dig, first_ms)) = self.seen.peek(&identity) else {
            if self.seen.len() >= self.seen_limit {
                self.seen.pop_oldest();
                self.seen_evicted += 1;
            }
            self.seen.push(identity, (here, dig, r.timestamp));
            return;
        };
        self.seen.promote(&identity);
        if first_ref == here {
            return;
        }
        let same = dig == first_dig;
        if first_ref.partition != here.partition && r.timestamp < first_ms {
            *self.seen.get_mut(&identity).expect("held") = (here, dig, r.timestamp);
            out.push(dup_finding(r, here, first_ref, same, eid));
        } else {
            out.push(dup_finding(r, first_ref, here, same, eid));
        }
    }

    /// `EventTimeDetector.offer` with the event's time and where it came from.
    pub fn time(&mut self, r: &Rec, when: i64, source: &str, out: &mut Vec<Found>) {
        let Some(key) = r.key else { return };
        place_key(&mut self.scratch, r.at.topic, r.at.partition, key);
        let here = r.at;
        let Some(latest) = self.keys.get_mut(self.scratch.as_slice()) else {
            if self.keys.len() >= self.keys_limit {
                self.keys.pop_oldest();
                self.keys_evicted += 1;
            }
            self.keys.push(Box::from(self.scratch.as_slice()), (when, here, None));
            return;
        }; // (promoted: `move_to_end`)
        let (latest_ms, latest_ref) = (latest.0, latest.1);
        if when >= latest_ms {
            (latest.0, latest.1) = (when, here);
            return;
        }
        if latest_ms - when <= self.lateness_ms {
            return;
        }
        let eid = r.eid_key.cloned();
        if eid.is_some() && eid == latest.2 {
            return;
        }
        latest.2 = eid;
        let back = thousands_3f((latest_ms - when) as f64 / 1000.0);
        let key_text = key_text(r.key);
        let shown = key_text.clone().unwrap_or_else(|| "None".to_owned());
        out.push((
            r.index,
            "event_time_regression",
            r.topic.to_owned(),
            i64::from(here.partition),
            here.offset,
            key_text,
            vec![r.text(latest_ref), r.text(here)],
            format!("{source} at or after {}", iso(latest_ms)),
            format!("{} ({back} s earlier)", iso(when)),
            format!(
                "the event time of key {shown} went back {back} s (allowed: {} s): a late or \
                 re-sent event, or a producer clock that is wrong",
                self.lateness_text
            ),
        ));
    }
}

fn dup_finding(r: &Rec, first: Ref, later: Ref, same: bool, eid: &str) -> Found {
    let what = if same { "byte for byte" } else { "with other content" };
    let cause = if same {
        "delivered twice: a producer retry without idempotence, or a replay"
    } else {
        "an id given to two different events"
    };
    let name = match r.source.as_deref() {
        None => eid.to_owned(),
        Some(s) => format!("{s} {eid}"),
    };
    let later_ref = r.text(later);
    (
        r.index,
        "duplicate_event",
        r.topic.to_owned(),
        i64::from(later.partition),
        later.offset,
        key_text(r.key),
        vec![r.text(first), later_ref.clone()],
        format!("event {name} once"),
        format!("again at {later_ref}, {what}"),
        format!("the same event {what} at two offsets: {cause}"),
    )
}
