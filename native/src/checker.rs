//! `ordering.Checker`'s detectors in one object: every event of a batch goes through the
//! sequences, duplicates, event time, causes and offsets in that order, as `Checker.offer`
//! offers it, in one call.
//!
//! The records' fields are read here where this crate reads them exactly as Python does
//! (`checks.rs` for event times, `field` below for sequence and producer fields); anything else
//! is asked of Python (`event_time_ms`, `sequence_fields`), one record at a time.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use std::borrow::Cow;

use crate::checks::{self, DupTime, Found, Rec, Time};
use crate::ids::{Ids, Ignored};
use crate::json::{Member, Reader, Value, R};
use crate::ordering::{
    Causes, Compaction, Event, Id, Offsets, Ref, SeqChecks, SeqRead, Topics, Tp, Where,
};
use crate::{compute_with, guarded, read_headers, Header};

/// Every ordering detector's state (`ordering.Checker` without the Python detectors).
/// Send and Sync (no `unsendable`): the console makes its checkers on the UI thread and
/// the garbage collector may free them on a reader's thread; PyO3's borrow flag keeps two
/// threads from using one at once.
#[pyclass]
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
    /// Records (parts of records) asked of Python.
    asked: std::sync::atomic::AtomicUsize,
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
                seen: Default::default(),
                seen_limit: max_events.max(1),
                seen_evicted: 0,
                keys: Default::default(),
                keys_limit: max_keys.max(1),
                keys_evicted: 0,
                lateness_ms,
                lateness_text,
                scratch: Vec::new(),
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
            asked: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Offer `events` in order: the findings, and the records that failed (index, exception).
    ///
    /// The records are looked at with the GIL held (`View`), then checked without it, so
    /// that the thread reading the next batch runs meanwhile; a record this crate cannot
    /// read takes the GIL back for Python's answer. `ignored`: the header names the user's
    /// configuration ignores; `ruled`: topics with the user's id rules (their ids are
    /// Python's).
    /// `stop`: no record after the first that fails is offered.
    #[pyo3(signature = (events, body, ignored=Vec::new(), ruled=Vec::new(), stop=false))]
    fn offer_batch(
        &mut self,
        events: Bound<'_, PyList>,
        body: bool,
        ignored: Vec<String>,
        ruled: Vec<String>,
        stop: bool,
    ) -> (Vec<Found>, Vec<(usize, Py<PyAny>)>) {
        let py = events.py();
        let ruled: Vec<u32> = ruled.iter().map(|t| self.topics.id(t)).collect();
        let mut failed = Vec::new();
        let mut views = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            // SAFETY: `events` (held by the caller for this call) keeps every event, and each
            // event its fields, alive; bytes and str objects never change
            match unsafe { self.view(py, index, &event) } {
                Ok(view) => views.push(view),
                Err(err) => {
                    failed.push((index, err));
                    if stop {
                        break;
                    }
                }
            }
        }
        let ctx = Ctx { body, ignored: Ignored(ignored), ruled };
        let (out, late) = if views.len() < DETACH_FROM {
            self.run(&views, &ctx, stop) // too few to pay for letting the GIL go
        } else {
            py.detach(|| self.run(&views, &ctx, stop))
        };
        failed.extend(late);
        failed.sort_by_key(|(index, _)| *index);
        let failed = failed.into_iter().map(|(i, err)| (i, err.into_value(py).into_any()));
        (out, failed.collect())
    }

    /// Every finding only the end can tell (`Checker.finish`'s flushes).
    fn flush(&mut self) -> Vec<Found> {
        let mut out = Vec::new();
        self.sequences.flush(&self.topics, &mut out);
        self.causes.flush(&self.topics, &self.compaction, &mut out);
        out
    }

    fn expect(&mut self, partitions: Vec<(String, i64)>) {
        let tps: Vec<Tp> = partitions.iter().map(|(t, p)| (self.topics.id(t), *p)).collect();
        self.causes.mark.expect(tps);
    }

    fn rest(&mut self, partitions: Vec<(String, i64)>) {
        let tps: Vec<Tp> = partitions.iter().map(|(t, p)| (self.topics.id(t), *p)).collect();
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
        let map: Vec<u32> = other.topics.names.iter().map(|n| self.topics.id(n)).collect();
        self.causes.carry(&other.causes, &map);
    }

    /// Per topic, the field its sequence check used (None: no field was a sequence).
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut chosen: Vec<(&str, Option<&str>)> = (self.sequences.chosen.iter())
            .map(|(t, c)| (self.topics.name(*t), c.map(|i| self.sequences.names[i].as_str())))
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

    /// Every bounded structure: (name, size, bound, forgotten at the bound: None when not
    /// counted, unit), for bench/ordering; then the most open gaps of a key, and the
    /// partitions the offset detector follows.
    #[allow(clippy::type_complexity)]
    fn sizes(
        &self,
    ) -> (Vec<(&'static str, usize, usize, Option<usize>, &'static str)>, usize, usize) {
        let (c, d) = (&self.causes, &self.dup_time);
        let seq = self.sequences.detectors.iter().max_by_key(|d| d.keys.evicted);
        let mut rows = vec![
            (
                "SequenceDetector.keys",
                seq.map_or(0, |d| d.keys.map.len()),
                seq.map_or(0, |d| d.keys.limit),
                Some(self.sequences.evicted()),
                "keys",
            ),
            ("EventTimeDetector.keys", d.keys.len(), d.keys_limit, Some(d.keys_evicted), "keys"),
            ("DuplicateDetector.seen", d.seen.len(), d.seen_limit, Some(d.seen_evicted), "ids"),
        ];
        rows.extend(c.sizes());
        let gaps = (self.sequences.detectors.iter())
            .map(|d| d.keys.map.iter().map(|(_, s)| s.open_gaps()).max().unwrap_or(0))
            .max()
            .unwrap_or(0);
        (rows, gaps, self.offsets.partitions())
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
            ("asked", self.asked.load(std::sync::atomic::Ordering::Relaxed)),
        ] {
            out.set_item(name, n)?;
        }
        Ok(out)
    }
}

/// Batches this long are checked without the GIL (shorter ones: letting it go costs more).
const DETACH_FROM: usize = 16;

/// What a batch's records are read with.
struct Ctx {
    body: bool,
    ignored: Ignored,
    ruled: Vec<u32>,
}

/// A record's ids: borrowed from its `EventIds`, or extracted here.
#[derive(Clone)]
struct IdsOf<'a> {
    event_id: Option<Cow<'a, str>>,
    causes: Vec<Cow<'a, str>>,
    trace_id: Option<Cow<'a, str>>,
    span_id: Option<Cow<'a, str>>,
    parent_span_id: Option<Cow<'a, str>>,
    event_type: Option<Cow<'a, str>>,
    source: Option<Cow<'a, str>>,
}

impl<'a> IdsOf<'a> {
    fn none() -> Self {
        IdsOf {
            event_id: None,
            causes: Vec::new(),
            trace_id: None,
            span_id: None,
            parent_span_id: None,
            event_type: None,
            source: None,
        }
    }

    fn of(ids: Option<Ids<'a>>) -> IdsOf<'a> {
        let Some(ids) = ids else {
            return IdsOf::none();
        };
        IdsOf {
            event_id: ids.event_id,
            causes: ids.causation_ids,
            trace_id: ids.trace_id,
            span_id: ids.span_id,
            parent_span_id: ids.parent_span_id,
            event_type: ids.event_type,
            source: ids.source,
        }
    }

    /// Of an `EventIds` tuple (borrowed: the tuple must outlive the result).
    unsafe fn of_tuple(ids: &Bound<'_, PyAny>) -> PyResult<IdsOf<'static>> {
        let ids = ids.cast::<PyTuple>()?;
        let text = |i: usize| -> PyResult<Option<Cow<'static, str>>> {
            let v = ids.get_item(i)?;
            if v.is_none() {
                return Ok(None);
            }
            Ok(Some(Cow::Borrowed(unsafe { forever(v.cast::<PyString>()?.to_str()?) })))
        };
        let causes = ids.get_item(2)?;
        let causes = causes.cast::<PyTuple>()?;
        let mut all = Vec::with_capacity(causes.len());
        for c in causes.iter() {
            all.push(Cow::Borrowed(unsafe { forever(c.cast::<PyString>()?.to_str()?) }));
        }
        Ok(IdsOf {
            event_id: text(0)?,
            causes: all,
            trace_id: text(3)?,
            span_id: text(4)?,
            parent_span_id: text(5)?,
            event_type: text(7)?,
            source: text(8)?,
        })
    }
}

/// A borrow of a Python object's contents as if it lived forever.
///
/// SAFETY: the caller keeps the object alive (and bytes and str objects never change) for as
/// long as the result is used: here, one `offer_batch` call, whose batch holds them.
pub(crate) unsafe fn forever<T: ?Sized>(r: &T) -> &'static T {
    unsafe { &*(r as *const T) }
}

/// One record as looked at with the GIL held: its fields borrowed, its event kept to ask
/// Python about it.
struct View {
    index: usize,
    event: Py<PyAny>,
    topic: &'static str,
    at: Ref,
    timestamp: i64,
    key: Option<&'static [u8]>,
    value: Option<&'static [u8]>,
    has_value: bool,
    /// The value is bytes (or None) and every header `(str, bytes | None)`.
    plain: bool,
    headers: Vec<Header<'static>>,
    ids: Option<IdsOf<'static>>,
    decoded: bool,
}

impl Checks {
    /// SAFETY: see `forever`.
    unsafe fn view<'py>(
        &mut self,
        py: Python<'py>,
        index: usize,
        event: &Bound<'_, PyAny>,
    ) -> PyResult<View> {
        // the names interned once (`intern!`), not per record
        let get = |name: &Bound<'py, PyString>| event.getattr(name);
        let ids = get(intern!(py, "_ids"))?;
        let ids = if ids.is_none() { None } else { Some(unsafe { IdsOf::of_tuple(&ids)? }) };
        let topic = get(intern!(py, "topic"))?;
        let topic = unsafe { forever(topic.cast::<PyString>()?.to_str()?) };
        let (key, value, headers) =
            (get(intern!(py, "key"))?, get(intern!(py, "value"))?, get(intern!(py, "headers"))?);
        let key_b: Option<&'static [u8]> = if key.is_none() {
            None
        } else {
            Some(unsafe { forever(key.cast::<PyBytes>()?.as_bytes()) })
        };
        let value_v = if value.is_none() {
            None
        } else {
            value.cast::<PyBytes>().ok().map(|b| unsafe { forever(b.as_bytes()) })
        };
        let read = read_headers(&headers).map(|hs| {
            hs.into_iter()
                .map(|(n, r)| unsafe { (forever(n), r.map(|r| forever(r))) })
                .collect::<Vec<Header<'static>>>()
        });
        let plain = read.is_ok() && (value.is_none() || value_v.is_some());
        Ok(View {
            index,
            event: event.clone().unbind(),
            topic,
            at: Ref {
                topic: self.topics.id(topic),
                partition: get(intern!(py, "partition"))?.extract()?,
                offset: get(intern!(py, "offset"))?.extract()?,
            },
            timestamp: get(intern!(py, "timestamp"))?.extract()?,
            key: key_b,
            value: value_v,
            has_value: !value.is_none(),
            plain,
            headers: read.unwrap_or_default(),
            ids,
            decoded: !get(intern!(py, "_decoded"))?.is_none(),
        })
    }

    /// Every view through the detectors (without the GIL; taken back to ask Python).
    fn run(&mut self, views: &[View], ctx: &Ctx, stop: bool) -> (Vec<Found>, Vec<(usize, PyErr)>) {
        let (mut out, mut failed) = (Vec::new(), Vec::new());
        for view in views {
            if let Err(err) = self.offer(view, ctx, &mut out) {
                failed.push((view.index, err));
                if stop {
                    break;
                }
            }
        }
        (out, failed)
    }

    /// Python's answer about one record (the GIL taken back for it).
    fn ask<T>(
        &self,
        view: &View,
        f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>) -> PyResult<T>,
    ) -> PyResult<T> {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Python::attach(|py| f(py, view.event.bind(py)))
    }

    fn ids_of<'v>(
        &self,
        view: &'v View,
        ctx: &Ctx,
        members: &R<Option<Vec<Member<'static>>>>,
    ) -> PyResult<std::borrow::Cow<'v, IdsOf<'static>>> {
        if let Some(ids) = &view.ids {
            return Ok(std::borrow::Cow::Borrowed(ids));
        }
        let readable = view.plain && !ctx.ruled.contains(&view.at.topic);
        let body = ctx.body && !view.decoded;
        if readable {
            if let Ok(ids) = guarded(|| {
                compute_with(&view.headers, view.value, body, &ctx.ignored, Some(members))
            }) {
                return Ok(std::borrow::Cow::Owned(IdsOf::of(ids)));
            }
        }
        // extracted (and any problem reported) by Python
        self.ask(view, |py, event| {
            let ids = event.getattr(intern!(py, "ids"))?;
            let ids = unsafe { IdsOf::of_tuple(&ids)? };
            Ok(IdsOf {
                event_id: ids.event_id.map(|c| Cow::Owned(c.into_owned())),
                causes: ids.causes.into_iter().map(|c| Cow::Owned(c.into_owned())).collect(),
                trace_id: ids.trace_id.map(|c| Cow::Owned(c.into_owned())),
                span_id: ids.span_id.map(|c| Cow::Owned(c.into_owned())),
                parent_span_id: ids.parent_span_id.map(|c| Cow::Owned(c.into_owned())),
                event_type: ids.event_type.map(|c| Cow::Owned(c.into_owned())),
                source: ids.source.map(|c| Cow::Owned(c.into_owned())),
            })
        })
        .map(std::borrow::Cow::Owned)
    }

    fn offer(&mut self, view: &View, ctx: &Ctx, out: &mut Vec<Found>) -> PyResult<()> {
        let (key_b, value_v, hs, at) = (view.key, view.value, &view.headers, view.at);
        let readable = view.plain && ctx.body && !view.decoded;
        // the body's top-level members, read once for the ids, sequence fields and event time
        let members = if readable {
            guarded(|| crate::ids::body_members(value_v, || Ok(crate::content_type_json_of(hs))))
        } else {
            Err(crate::json::Defer)
        };
        let ids = self.ids_of(view, ctx, &members)?;
        let eid_key = ids.event_id.as_deref().map(Id::new);
        let e = Event {
            index: view.index,
            at,
            timestamp: view.timestamp,
            key: key_b,
            has_value: view.has_value,
            event_id: ids.event_id.as_deref(),
            eid_key: eid_key.as_ref(),
            causes: &ids.causes,
            trace_id: ids.trace_id.as_deref(),
            span_id: ids.span_id.as_deref(),
            parent_span_id: ids.parent_span_id.as_deref(),
            event_type: ids.event_type.as_deref(),
        };
        // 1. sequences
        let compacted = !self.compaction.topics.is_empty() && self.compaction.see(at);
        let needed = self.sequences.wanted(at.topic)
            && (key_b.is_some() || self.keyless || (compacted && !e.has_value));
        let reads = if needed {
            let native = if readable { self.reads(hs, value_v, &members) } else { None };
            match native {
                Some(reads) => reads,
                None => self.ask(view, |_, event| self.ask_reads(event))?,
            }
        } else {
            vec![(None, None); self.groups.len()]
        };
        let reads: Vec<SeqRead> = (reads.iter())
            .map(|(seq, producer)| SeqRead { seq: *seq, producer: producer.as_deref() })
            .collect();
        let place = Where { topics: &self.topics, compaction: &self.compaction, compacted };
        self.sequences.offer(&place, &e, &reads, out);
        // 2. duplicates, 3. event time (the findings' text names the topic as given)
        let rec = Rec {
            index: view.index,
            topic: view.topic,
            at,
            timestamp: e.timestamp,
            key: key_b,
            value: value_v,
            headers: hs,
            event_id: ids.event_id.as_deref().map(Cow::Borrowed),
            eid_key: eid_key.as_ref(),
            source: ids.source.as_deref().map(Cow::Borrowed),
        };
        if rec.event_id.is_some() {
            let dig = if view.plain {
                checks::digest(rec.key, rec.value, rec.headers)
            } else {
                // an odd record (not bytes and text headers): Python's hash of its fields
                let h: i64 =
                    self.ask(view, |py, event| self.digest.bind(py).call1((event,))?.extract())?;
                (1u64 << 63) | ((h as u64) >> 1)
            };
            self.dup_time.duplicate(&rec, dig, out);
        }
        if rec.key.is_some() {
            let time = match checks::header_time(rec.headers) {
                _ if !view.plain || view.decoded => Time::Ask,
                Some(time) => time,
                None if !ctx.body => Time::Ask,
                None => guarded(|| Ok(checks::body_time(rec.value, &members))).unwrap_or(Time::Ask),
            };
            let (when, source) = match time {
                Time::At(ms, name) => (ms, name),
                Time::Record => (rec.timestamp, "record timestamp".to_owned()),
                Time::Ask => self.ask(view, |py, event| {
                    self.event_time_ms.bind(py).call1((event,))?.extract()
                })?,
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
    fn ask_reads(&self, event: &Bound<'_, PyAny>) -> PyResult<Vec<(Option<i128>, Option<String>)>> {
        let py = event.py();
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
            let end = raw.iter().rposition(|b| !py_space(*b)).map_or(start, |i| i + 1);
            let text = &raw[start..end];
            if text.is_empty()
                || text.iter().any(|b| !(b.is_ascii_digit() || b"+-_".contains(b) || py_space(*b)))
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
            let n: i128 = std::str::from_utf8(digits).map_err(|_| Ask)?.parse().map_err(|_| Ask)?;
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
