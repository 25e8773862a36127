//! `ordering.Checker`'s detectors in one object: every event of a batch goes through the
//! sequences, duplicates, event time, causes and offsets in that order, as `Checker.offer`
//! offers it, in one call.
//!
//! The records' fields are read here where this crate reads them exactly as Python does
//! (`checks.rs` for event times, `field` below for sequence and producer fields); anything else
//! is asked of Python (`event_time_ms`, `sequence_fields`), one record at a time.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use std::borrow::Cow;

use crate::checks::{self, DupTime, Found, Rec, Time};
use crate::json::{Member, Reader, Value, R};
use crate::ordering::{Causes, Compaction, Event, Offsets, Ref, SeqChecks, SeqRead, Topics, Tp, S};
use crate::{guarded, read_headers, Header};

/// Every ordering detector's state (`ordering.Checker` without the Python detectors).
#[pyclass(unsendable)]
pub struct Checks {
    topics: Topics,
    dup_time: DupTime,
    sequences: SeqChecks,
    /// Per detector: the names of its field (header names, any case; top-level JSON fields).
    groups: Vec<Vec<String>>,
    producers: Vec<String>,
    keyless: bool,
    compaction: Compaction,
    causes: Causes,
    offsets: Offsets,
    event_time_ms: Py<PyAny>,
    digest: Py<PyAny>,
    sequence_fields: Py<PyAny>,
}

#[pymethods]
impl Checks {
    #[new]
    #[pyo3(signature = (
        max_events, max_keys, max_waiting, lateness_ms, lateness_text, tolerance_ms, mid_stream,
        strict, groups, producers, learn, keyless, max_held, compacted, event_time_ms, digest,
        sequence_fields
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        max_events: usize,
        max_keys: usize,
        max_waiting: usize,
        lateness_ms: i64,
        lateness_text: String,
        tolerance_ms: i64,
        mid_stream: bool,
        strict: bool,
        groups: Vec<Vec<String>>,
        producers: Vec<String>,
        learn: bool,
        keyless: bool,
        max_held: usize,
        compacted: Vec<String>,
        event_time_ms: Py<PyAny>,
        digest: Py<PyAny>,
        sequence_fields: Py<PyAny>,
    ) -> Self {
        let mut topics = Topics::default();
        let mut compaction = Compaction::default();
        compaction.topics = compacted.iter().map(|t| topics.id(t)).collect();
        let names = groups.iter().map(|g| g.join(",")).collect();
        Checks {
            topics,
            dup_time: DupTime {
                seen: lru::LruCache::unbounded_with_hasher(S::default()),
                seen_limit: max_events.max(1),
                seen_evicted: 0,
                keys: lru::LruCache::unbounded_with_hasher(S::default()),
                keys_limit: max_keys.max(1),
                keys_evicted: 0,
                lateness_ms,
                lateness_text,
            },
            sequences: SeqChecks::new(names, max_keys.max(1), max_held, learn, keyless),
            groups,
            producers,
            keyless,
            compaction,
            causes: Causes::new(
                tolerance_ms,
                max_events.max(1),
                max_waiting.max(1),
                mid_stream,
                strict,
            ),
            offsets: Offsets::default(),
            event_time_ms,
            digest,
            sequence_fields,
        }
    }

    /// Offer `events` in order: the findings, and the records that failed (index, exception).
    fn offer_batch(
        &mut self,
        events: Bound<'_, PyList>,
        body: bool,
    ) -> (Vec<Found>, Vec<(usize, Py<PyAny>)>) {
        let py = events.py();
        let (mut out, mut failed) = (Vec::new(), Vec::new());
        for (index, event) in events.iter().enumerate() {
            if let Err(err) = self.offer(py, index, &event, body, &mut out) {
                failed.push((index, err.into_value(py).into_any()));
            }
        }
        (out, failed)
    }

    /// Every finding only the end can tell (`Checker.finish`'s flushes).
    fn flush(&mut self) -> Vec<Found> {
        let mut out = Vec::new();
        self.sequences.flush(&self.topics, &mut out);
        self.causes.flush(&self.topics, &self.compaction, &mut out);
        out
    }

    fn expect(&mut self, partitions: Vec<(String, i64)>) {
        let tps: Vec<Tp> = partitions
            .iter()
            .map(|(t, p)| (self.topics.id(t), *p))
            .collect();
        self.causes.mark.expect(tps);
    }

    fn rest(&mut self, partitions: Vec<(String, i64)>) {
        let tps: Vec<Tp> = partitions
            .iter()
            .map(|(t, p)| (self.topics.id(t), *p))
            .collect();
        self.causes.mark.rest(tps);
    }

    /// `SequenceChecks.carry`: the fields `other` chose.
    fn carry_sequences(&mut self, other: PyRef<'_, Checks>) {
        for (topic, name) in &other.sequences.chosen {
            let mine = self.topics.id(other.topics.name(*topic));
            let name = name.map(|i| other.sequences.names[i].as_str());
            let found = name.map(|n| self.sequences.names.iter().position(|m| m == n));
            match found {
                None => self.sequences.chosen.insert(mine, None),
                Some(Some(i)) => self.sequences.chosen.insert(mine, Some(i)),
                Some(None) => continue, // a field this checker does not read
            };
        }
    }

    /// `CausalDetector.carry`: partitions and kinds with causes found, topics by name.
    fn carry_causes(&mut self, other: PyRef<'_, Checks>) {
        let map: Vec<u32> = other
            .topics
            .names
            .iter()
            .map(|n| self.topics.id(n))
            .collect();
        self.causes.carry(&other.causes, &map);
    }

    /// Per topic, the field its sequence check used (None: no field was a sequence).
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut chosen: Vec<(&str, Option<&str>)> = (self.sequences.chosen.iter())
            .map(|(t, c)| {
                (
                    self.topics.name(*t),
                    c.map(|i| self.sequences.names[i].as_str()),
                )
            })
            .collect();
        chosen.sort();
        let out = PyDict::new(py);
        for (topic, name) in chosen {
            out.set_item(topic, name)?;
        }
        Ok(out)
    }

    fn watermark(&mut self) -> Option<i64> {
        self.causes.mark.value()
    }

    /// The counters the notes and the command's summary read.
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (s, c) = (&self.sequences, &self.causes);
        let out = PyDict::new(py);
        for (name, n) in [
            ("ids_evicted", self.dup_time.seen_evicted),
            ("times_evicted", self.dup_time.keys_evicted),
            ("sequences_evicted", s.evicted()),
            ("held_over", s.held_over),
            ("compacted_jumps", s.compacted_jumps()),
            ("known_evicted", c.known.evicted),
            ("dropped", c.dropped),
            ("outside", c.outside),
            ("not_read", c.not_read()),
            ("unjudged", c.unjudged),
            ("forgotten", c.forgotten),
            ("compacted_away", c.compacted_away),
        ] {
            out.set_item(name, n)?;
        }
        Ok(out)
    }
}

impl Checks {
    fn offer(
        &mut self,
        py: Python<'_>,
        index: usize,
        event: &Bound<'_, PyAny>,
        body: bool,
        out: &mut Vec<Found>,
    ) -> PyResult<()> {
        let get = |name: &str| event.getattr(PyString::intern(py, name));
        let mut ids = get("_ids")?;
        if ids.is_none() {
            ids = get("ids")?; // extracted (and any problem reported) by Python
        }
        let ids = ids.cast_into::<PyTuple>()?;
        let text = |i: usize| -> PyResult<Option<String>> {
            let v = ids.get_item(i)?;
            Ok(if v.is_none() {
                None
            } else {
                Some(v.extract::<String>()?)
            })
        };
        let topic = get("topic")?;
        let topic = topic.cast::<PyString>()?.to_cow()?;
        let (key, value, headers) = (get("key")?, get("value")?, get("headers")?);
        let key_b: Option<&[u8]> = if key.is_none() {
            None
        } else {
            Some(key.cast::<PyBytes>()?.as_bytes()) // borrowed: no copy per event
        };
        let value_v = if value.is_none() {
            None
        } else {
            value.cast::<PyBytes>().ok().map(|b| b.as_bytes())
        };
        let read = read_headers(&headers);
        let plain = read.is_ok() && (value.is_none() || value_v.is_some());
        let decoded = !get("_decoded")?.is_none();
        let (event_id, source) = (text(0)?, text(8)?);
        let causes: Vec<String> = ids.get_item(2)?.extract()?;
        let (trace_id, span_id, parent) = (text(3)?, text(4)?, text(5)?);
        let event_type = text(7)?;
        let at = Ref {
            topic: self.topics.id(&topic),
            partition: get("partition")?.extract()?,
            offset: get("offset")?.extract()?,
        };
        let e = Event {
            index,
            at,
            timestamp: get("timestamp")?.extract()?,
            key: key_b,
            has_value: !value.is_none(),
            event_id: event_id.as_deref(),
            causes: &causes,
            trace_id: trace_id.as_deref(),
            span_id: span_id.as_deref(),
            parent_span_id: parent.as_deref(),
            event_type: event_type.as_deref(),
        };
        let hs = read.unwrap_or_default();
        // the body's top-level members, read once for the sequence fields and the event time
        let readable = plain && body && !decoded;
        let members = if readable && (key_b.is_some() || self.keyless) {
            guarded(|| crate::ids::body_members(value_v, || Ok(crate::content_type_json_of(&hs))))
        } else {
            Err(crate::json::Defer)
        };
        // 1. sequences
        let compacted = !self.compaction.topics.is_empty() && self.compaction.see(at);
        let needed = self.sequences.wanted(at.topic)
            && (key_b.is_some() || self.keyless || (compacted && !e.has_value));
        let reads = if needed {
            let native = if readable {
                self.reads(&hs, value_v, &members)
            } else {
                None
            };
            match native {
                Some(reads) => reads,
                None => self.ask_reads(py, event)?,
            }
        } else {
            vec![(None, None); self.groups.len()]
        };
        let reads: Vec<SeqRead> = (reads.iter())
            .map(|(seq, producer)| SeqRead {
                seq: *seq,
                producer: producer.as_deref(),
            })
            .collect();
        self.sequences
            .offer(&self.topics, &self.compaction, compacted, &e, &reads, out);
        // 2. duplicates, 3. event time (the findings' text names the topic as given)
        let rec = Rec {
            index,
            topic: &topic,
            at,
            timestamp: e.timestamp,
            key: key_b,
            value: value_v,
            headers: hs.clone(),
            event_id: event_id.as_deref().map(Cow::Borrowed),
            source: source.as_deref().map(Cow::Borrowed),
        };
        if rec.event_id.is_some() {
            let dig = if plain {
                checks::digest(rec.key, rec.value, &rec.headers)
            } else {
                // an odd record (not bytes and text headers): Python's hash of its fields
                let h: i64 = self.digest.bind(py).call1((event,))?.extract()?;
                (1u128 << 127) | u128::from(h as u64)
            };
            self.dup_time.duplicate(&rec, dig, out);
        }
        if rec.key.is_some() {
            let time = match checks::header_time(&rec.headers) {
                _ if !plain || decoded => Time::Ask,
                Some(time) => time,
                None if !body => Time::Ask,
                None => guarded(|| Ok(checks::body_time(rec.value, &members))).unwrap_or(Time::Ask),
            };
            let (when, source) = match time {
                Time::At(ms, name) => (ms, name),
                Time::Record => (rec.timestamp, "record timestamp".to_owned()),
                Time::Ask => self.event_time_ms.bind(py).call1((event,))?.extract()?,
            };
            self.dup_time.time(&rec, when, &source, out);
        }
        // 4. causes, 5. offsets
        self.causes.offer(&self.topics, &self.compaction, &e, out);
        self.offsets.offer(&self.topics, &e, out);
        Ok(())
    }

    /// Each detector's sequence and producer of a record, read here; None: ask Python.
    fn reads(
        &self,
        headers: &[Header],
        value: Option<&[u8]>,
        members: &R<Option<Vec<Member>>>,
    ) -> Option<Vec<(Option<i128>, Option<String>)>> {
        let producer = if self.producers.is_empty() {
            None
        } else {
            producer_of(field(headers, value, members, &self.producers).ok()?).ok()?
        };
        let mut out = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let seq = sequence_of(field(headers, value, members, group).ok()?).ok()?;
            out.push((seq, producer.clone()));
        }
        Some(out)
    }

    /// `ordering._sequence_fields` of the record, by Python.
    fn ask_reads(
        &self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<(Option<i128>, Option<String>)>> {
        let (seqs, producer): (Vec<Option<i128>>, Option<String>) =
            self.sequence_fields.bind(py).call1((event,))?.extract()?;
        Ok(seqs.into_iter().map(|s| (s, producer.clone())).collect())
    }
}

/// What `ordering._field` returns, as far as the sequence and producer readings care.
enum Field<'a> {
    Absent,
    Bytes(&'a [u8]),
    Int(i128),
    Str(Cow<'a, str>),
    Bool(bool),
    /// An object or an array.
    Container,
    Float,
}

/// Python must read it.
struct Ask;

/// `ordering._field` for top-level names: the last header of any of the names (any case),
/// else the first name's JSON value that is not null.
fn field<'a>(
    headers: &[Header<'a>],
    value: Option<&'a [u8]>,
    members: &R<Option<Vec<Member<'a>>>>,
    names: &[String],
) -> Result<Field<'a>, Ask> {
    for (name, raw) in headers.iter().rev() {
        let Some(raw) = raw else { continue };
        if !name.is_ascii() {
            return Err(Ask); // Python's lower() of other letters is its own
        }
        if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Ok(Field::Bytes(raw));
        }
    }
    let members = match members {
        Ok(Some(m)) => m,
        Ok(None) => return Ok(Field::Absent),
        Err(_) => return Err(Ask),
    };
    let data = value.unwrap_or_default();
    for name in names {
        let mut found = members.iter().filter(|m| m.key == name.as_str());
        let Some(member) = found.next() else { continue };
        if found.next().is_some() {
            return Err(Ask); // a repeated key: dict semantics are Python's
        }
        let got = match Reader::value(data, member, 1).map_err(|_| Ask)? {
            Value::Str(s) => Field::Str(s),
            Value::Int(n) => Field::Int(n.parse().map_err(|_| Ask)?),
            Value::Object(_) => Field::Container,
            Value::Other => match data[member.start] {
                b'n' => continue, // null: the next name
                b't' => Field::Bool(true),
                b'f' => Field::Bool(false),
                b'[' => Field::Container,
                _ => Field::Float,
            },
        };
        return Ok(got);
    }
    Ok(Field::Absent)
}

/// `ordering._as_sequence` (header text of at most 18 digits; other text Python reads).
fn sequence_of(field: Field) -> Result<Option<i128>, Ask> {
    match field {
        Field::Int(n) => Ok(Some(n)),
        Field::Bytes(raw) => {
            if !raw.is_ascii() {
                return Ok(None); // .decode("ascii") fails
            }
            let start = raw.iter().position(|b| !py_space(*b)).unwrap_or(raw.len());
            let end = raw
                .iter()
                .rposition(|b| !py_space(*b))
                .map_or(start, |i| i + 1);
            let text = &raw[start..end];
            if text.is_empty()
                || text
                    .iter()
                    .any(|b| !(b.is_ascii_digit() || b"+-_".contains(b) || py_space(*b)))
            {
                return Ok(None); // int() refuses it
            }
            let digits = match text[0] {
                b'-' | b'+' => &text[1..],
                _ => text,
            };
            if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
                return Err(Ask); // underscores, signs, long numbers: Python's int()
            }
            let n: i128 = std::str::from_utf8(digits)
                .map_err(|_| Ask)?
                .parse()
                .map_err(|_| Ask)?;
            Ok(Some(if text[0] == b'-' { -n } else { n }))
        }
        _ => Ok(None),
    }
}

/// ASCII whitespace as Python's `str.strip` sees it.
fn py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f)
}

/// `ordering._as_producer`.
fn producer_of(field: Field) -> Result<Option<String>, Ask> {
    Ok(match field {
        Field::Absent | Field::Container => None,
        Field::Bytes(raw) => Some(std::str::from_utf8(raw).map_err(|_| Ask)?.to_owned()),
        Field::Int(n) => Some(n.to_string()),
        Field::Str(s) => Some(s.into_owned()),
        Field::Bool(b) => Some(if b { "True" } else { "False" }.to_owned()),
        Field::Float => return Err(Ask),
    })
}
