//! `flow.FlowEvents` (the per-event half of the flow model) in one object: the producer
//! and hop edges, their counters, and the causes remembered for hops.
//!
//! `evtui/core/flow.py` is the specification; `tests/unit/test_native_flow.py` pins this to
//! it. A batch is read with the GIL held (each record's fields are a few attribute reads)
//! and counted in the same pass: per record this is a hash lookup or two, where Python's
//! bookkeeping cost microseconds.

use std::collections::VecDeque;
use std::sync::Arc;

use indexmap::IndexMap;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::checker::forever;
use crate::ordering::{thousands, Id, Lru, Map, Topics, S};

const LATENCY_SAMPLES: usize = 512;
const SAMPLES: usize = 5;
const MAX_EFFECTS: usize = 100;
/// Services named in a hop's `via`; the rest are counted under `OTHER_VIA`.
const MAX_VIA: usize = 100;
const OTHER_VIA: &str = "(other services)";

/// The evidence texts, as `core/flow.py` writes them.
const EVIDENCE: [&str; 6] = [
    "the record names its service",
    "the record names its source (CloudEvents source or similar)",
    "no producer named in the record",
    "causation id",
    "parent span",
    "causation id (cause seen after its effect)",
];
const NAMES_SERVICE: u8 = 0;
const NAMES_SOURCE: u8 = 1;
const NAMES_NONE: u8 = 2;
const BY_CAUSATION: u8 = 3;
const BY_SPAN: u8 = 4;
const BY_LATE_CAUSE: u8 = 5;

/// A record: topic id, partition, offset.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Rec {
    topic: u32,
    partition: i64,
    offset: i64,
}

/// An event remembered as a cause: its time and record.
#[derive(Clone, Copy)]
struct Seen {
    at: i64,
    rec: Rec,
}

/// A node: its id (`service:…`, `unknown:…`, `topic:…`) and a number that stands for it.
/// Shared by the edges, effects and lookups that name it: a producer no edge or effect
/// names any more is dropped from the lookups at the next eviction (`Arc::strong_count`),
/// so a producer with a new name in every record stays bounded.
struct Node {
    number: u64,
    id: String,
}

type NodeRef = Arc<Node>;

/// An event waiting for its cause: its producer (node), time and record.
#[derive(Clone)]
struct Effect {
    producer: NodeRef,
    at: i64,
    rec: Rec,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Produces,
    Hop,
}

/// `flow.Counter`.
#[derive(Default)]
struct Counter {
    count: u64,
    bytes: u64,
    first: Option<i64>,
    last: Option<i64>,
    /// (second, events, bytes), in the order the seconds were first seen.
    seconds: Vec<(i64, u64, u64)>,
}

impl Counter {
    fn add(&mut self, at: i64, nbytes: u64, window_ms: i64) {
        self.count += 1;
        self.bytes += nbytes;
        if self.first.is_none_or(|f| at < f) {
            self.first = Some(at);
        }
        if self.last.is_none_or(|l| at > l) {
            self.last = Some(at);
        }
        let second = at.div_euclid(1000);
        // the newest seconds are at the end: partitions interleave a second or two
        if let Some(b) = self.seconds.iter_mut().rev().find(|b| b.0 == second) {
            b.1 += 1;
            b.2 += nbytes;
            return;
        }
        self.seconds.push((second, 1, nbytes));
        if self.seconds.len() as i64 > window_ms.div_euclid(1000) + 2 {
            let horizon = (self.last.unwrap_or(at) - window_ms).div_euclid(1000);
            self.seconds.retain(|b| b.0 > horizon);
        }
    }

    fn rate(&self, now: i64, window_ms: i64) -> (f64, f64) {
        let horizon = (now - window_ms).div_euclid(1000);
        let (mut events, mut nbytes) = (0u64, 0u64);
        for b in self.seconds.iter().filter(|b| b.0 > horizon) {
            events += b.1;
            nbytes += b.2;
        }
        let mut span = window_ms as f64 / 1000.0;
        if let Some(first) = self.first {
            if now - first < window_ms {
                span = ((now - first) as f64 / 1000.0).max(1.0);
            }
        }
        (events as f64 / span, nbytes as f64 / span)
    }
}

struct Edge {
    source: NodeRef,
    target: NodeRef,
    kind: Kind,
    /// Made before every edge with a larger serial (`FlowEvents.edges`' order).
    serial: u64,
    counter: Counter,
    evidence: Vec<(u8, u64)>,
    /// By node number: the node and how often.
    via: IndexMap<u64, (NodeRef, u64), S>,
    latencies: VecDeque<i64>,
    samples: VecDeque<(Rec, Option<Rec>)>,
}

impl Edge {
    fn note(&mut self, evidence: u8) {
        match self.evidence.iter_mut().find(|e| e.0 == evidence) {
            Some(e) => e.1 += 1,
            None => self.evidence.push((evidence, 1)),
        }
    }

    fn sample(&mut self, sample: (Rec, Option<Rec>)) {
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }
}

/// One record's fields, as the flow reads them.
struct Fields<'a> {
    topic: &'a str,
    partition: i64,
    offset: i64,
    at: i64,
    nbytes: u64,
    service: Option<&'a str>,
    source: Option<&'a str>,
    event_id: Option<&'a str>,
    causes: Vec<&'a str>,
    trace_id: Option<&'a str>,
    span_id: Option<&'a str>,
    parent_span_id: Option<&'a str>,
}

/// See the module; the Python twin is `flow.FlowEvents`.
#[pyclass]
pub struct Flow {
    window_ms: i64,
    max_edges: usize,
    max_known: usize,
    max_waiting: usize,
    /// Edges kept elsewhere (the consumer groups') that count toward `max_edges`.
    #[pyo3(get, set)]
    fixed: usize,
    topics: Topics,
    numbered: u64,
    topic_node: Vec<NodeRef>,
    services: Map<String, NodeRef>,
    unknown: Vec<Option<NodeRef>>,
    other_via: NodeRef,
    /// Per topic id: its producer edges (slots).
    producers: Vec<Vec<u32>>,
    slots: Vec<Option<Edge>>,
    free: Vec<u32>,
    alive: usize,
    keys: Map<(u64, u64, bool), u32>,
    serial: u64,
    known: Lru<Id, Seen>,
    spans: Lru<(Id, Id), Seen>,
    waiting: Lru<Id, Vec<Effect>>,
    changes: Vec<(i64, String)>,
    #[pyo3(get)]
    newest_ms: Option<i64>,
    #[pyo3(get)]
    events: u64,
    #[pyo3(get)]
    evicted: u64,
    #[pyo3(get)]
    dropped_waiting: u64,
}

#[pymethods]
impl Flow {
    #[new]
    fn new(window_ms: i64, max_edges: usize, max_known: usize, max_waiting: usize) -> Self {
        Flow {
            window_ms,
            max_edges,
            max_known,
            max_waiting,
            fixed: 0,
            topics: Topics::default(),
            numbered: 0,
            topic_node: Vec::new(),
            services: Map::default(),
            unknown: Vec::new(),
            other_via: Arc::new(Node { number: u64::MAX, id: OTHER_VIA.to_owned() }),
            producers: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            alive: 0,
            keys: Map::default(),
            serial: 0,
            known: Lru::default(),
            spans: Lru::default(),
            waiting: Lru::default(),
            changes: Vec::new(),
            newest_ms: None,
            events: 0,
            evicted: 0,
            dropped_waiting: 0,
        }
    }

    /// Count `events` in order; the records that could not be read (index, exception).
    fn offer_batch(&mut self, events: Bound<'_, PyList>) -> Vec<(usize, Py<PyAny>)> {
        let py = events.py();
        let mut failed = Vec::new();
        for (index, event) in events.iter().enumerate() {
            match read(py, &event) {
                Ok(fields) => self.offer(&fields),
                Err(err) => failed.push((index, err.into_value(py).into_any())),
            }
        }
        failed
    }

    /// The structure changes since the last call: (record time, what), oldest first.
    fn take_changes(&mut self) -> Vec<(i64, String)> {
        std::mem::take(&mut self.changes)
    }

    /// What a snapshot at `now` draws: the topics (name, count, events/s, bytes/s, last
    /// seen), then the edges not expired (source, target, attributes), in the order made.
    fn rows<'py>(
        &self,
        py: Python<'py>,
        now: i64,
        idle_ms: i64,
        expire_ms: i64,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
        let topics = PyList::empty(py);
        for (id, producers) in self.producers.iter().enumerate() {
            let edges: Vec<&Edge> =
                producers.iter().filter_map(|s| self.slots[*s as usize].as_ref()).collect();
            let last = edges.iter().filter_map(|e| e.counter.last).max();
            if last.is_some_and(|l| now - l > expire_ms) {
                continue;
            }
            let (mut count, mut rate, mut bytes) = (0u64, 0.0f64, 0.0f64);
            for edge in edges.iter().filter(|e| e.counter.last.is_some()) {
                let (r, b) = edge.counter.rate(now, self.window_ms);
                count += edge.counter.count;
                rate += r;
                bytes += b;
            }
            topics.append((self.topics.name(id as u32), count, rate, bytes, last))?;
        }
        let mut order: Vec<&Edge> = self.slots.iter().flatten().collect();
        order.sort_by_key(|e| e.serial);
        let edges = PyList::empty(py);
        for edge in order {
            if edge.counter.last.is_some_and(|l| now - l > expire_ms) {
                continue;
            }
            let attrs = self.attrs(py, edge, now, idle_ms)?;
            edges.append((edge.source.id.as_str(), edge.target.id.as_str(), attrs))?;
        }
        Ok((topics, edges))
    }

    /// The bounded structures' sizes (for tests and benches).
    fn sizes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        out.set_item("edges", self.alive)?;
        out.set_item("known", self.known.len())?;
        out.set_item("spans", self.spans.len())?;
        out.set_item("waiting", self.waiting.len())?;
        let most = self.producers.iter().map(Vec::len).max().unwrap_or(0);
        out.set_item("producers_per_topic", most)?;
        out.set_item("names", self.services.len())?;
        Ok(out)
    }
}

/// A record's fields (its ids asked of `Event.ids` when not yet extracted).
fn read<'py>(py: Python<'py>, event: &Bound<'py, PyAny>) -> PyResult<Fields<'static>> {
    let get = |name: &Bound<'py, PyString>| event.getattr(name);
    let mut ids = get(intern!(py, "_ids"))?;
    if ids.is_none() {
        ids = get(intern!(py, "ids"))?;
    }
    let ids = ids.cast_into::<PyTuple>()?;
    // SAFETY (every `forever` below): the batch list holds each event, each event its
    // fields and ids; the texts are only used before `offer_batch` returns
    let text = |i: usize| -> PyResult<Option<&'static str>> {
        let v = ids.get_item(i)?;
        if v.is_none() {
            return Ok(None);
        }
        Ok(Some(unsafe { forever(v.cast::<PyString>()?.to_str()?) }))
    };
    let mut causes = Vec::new();
    for c in ids.get_item(2)?.cast::<PyTuple>()?.iter() {
        causes.push(unsafe { forever(c.cast::<PyString>()?.to_str()?) });
    }
    let value = get(intern!(py, "value"))?;
    let nbytes = if value.is_none() {
        0
    } else if let Ok(b) = value.cast::<PyBytes>() {
        b.as_bytes().len() as u64
    } else if value.is_truthy()? {
        value.len()? as u64
    } else {
        0
    };
    let topic = get(intern!(py, "topic"))?;
    Ok(Fields {
        topic: unsafe { forever(topic.cast::<PyString>()?.to_str()?) },
        partition: get(intern!(py, "partition"))?.extract()?,
        offset: get(intern!(py, "offset"))?.extract()?,
        at: get(intern!(py, "timestamp"))?.extract()?,
        nbytes,
        service: text(6)?,
        source: text(8)?,
        event_id: text(0)?,
        causes,
        trace_id: text(3)?,
        span_id: text(4)?,
        parent_span_id: text(5)?,
    })
}

/// Python's truth of an optional text.
fn some(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.is_empty())
}

impl Flow {
    fn offer(&mut self, f: &Fields) {
        self.events += 1;
        if self.newest_ms.is_none_or(|n| f.at > n) {
            self.newest_ms = Some(f.at);
        }
        let topic = self.topic(f.topic);
        let (name, evidence) = match (some(f.service), some(f.source)) {
            (Some(s), _) => (Some(s), NAMES_SERVICE),
            (None, Some(s)) => (Some(s), NAMES_SOURCE),
            (None, None) => (None, NAMES_NONE),
        };
        let producer = self.producer(name, topic, f.topic);
        let slot = self.produces(&producer, topic);
        let rec = Rec { topic, partition: f.partition, offset: f.offset };
        let window = self.window_ms;
        let edge = self.edge_mut(slot);
        edge.counter.add(f.at, f.nbytes, window);
        edge.note(evidence);
        edge.sample((rec, None));
        let me = Effect { producer, at: f.at, rec };
        for cause in &f.causes {
            self.cause(cause, &me);
        }
        if let (Some(parent), Some(trace)) = (some(f.parent_span_id), some(f.trace_id)) {
            if let Some(seen) = self.spans.peek(&(Id::new(trace), Id::new(parent))).copied() {
                self.hop(seen, &me, BY_SPAN);
            }
        }
        let seen = Seen { at: f.at, rec };
        if let Some(id) = some(f.event_id) {
            let id = Id::new(id);
            remember(&mut self.known, id.clone(), seen, self.max_known);
            if let Some(effects) = self.waiting.pop(&id) {
                for effect in effects {
                    self.hop(seen, &effect, BY_LATE_CAUSE);
                }
            }
        }
        if let (Some(span), Some(trace)) = (some(f.span_id), some(f.trace_id)) {
            remember(&mut self.spans, (Id::new(trace), Id::new(span)), seen, self.max_known);
        }
    }

    fn topic(&mut self, name: &str) -> u32 {
        let id = self.topics.id(name);
        if id as usize == self.producers.len() {
            self.producers.push(Vec::new());
            self.unknown.push(None);
            let node = self.node(format!("topic:{name}"));
            self.topic_node.push(node);
            self.changed(format!("new topic {name}"));
        }
        id
    }

    fn node(&mut self, id: String) -> NodeRef {
        self.numbered += 1;
        Arc::new(Node { number: self.numbered, id })
    }

    fn producer(&mut self, name: Option<&str>, topic: u32, topic_name: &str) -> NodeRef {
        match name {
            Some(name) => match self.services.get(name) {
                Some(node) => node.clone(),
                None => {
                    let node = self.node(format!("service:{name}"));
                    self.services.insert(name.to_owned(), node.clone());
                    node
                }
            },
            None => match &self.unknown[topic as usize] {
                Some(node) => node.clone(),
                None => {
                    let node = self.node(format!("unknown:{topic_name}"));
                    self.unknown[topic as usize] = Some(node.clone());
                    node
                }
            },
        }
    }

    /// The producer's edge into the topic (made when new).
    fn produces(&mut self, producer: &NodeRef, topic: u32) -> u32 {
        let target = self.topic_node[topic as usize].clone();
        if let Some(slot) = self.keys.get(&(producer.number, target.number, false)) {
            return *slot;
        }
        let slot = self.make(producer.clone(), target, Kind::Produces);
        self.producers[topic as usize].push(slot);
        slot
    }

    fn edge_mut(&mut self, slot: u32) -> &mut Edge {
        self.slots[slot as usize].as_mut().expect("a live edge")
    }

    fn make(&mut self, source: NodeRef, target: NodeRef, kind: Kind) -> u32 {
        self.serial += 1;
        let key = (source.number, target.number, kind == Kind::Hop);
        let (from, to) = (name_of(&source), name_of(&target));
        let what = match kind {
            Kind::Produces if source.id.starts_with("unknown:") => {
                format!("new producer on {to}: unknown producer")
            }
            Kind::Produces => format!("new producer on {to}: {from}"),
            Kind::Hop => format!("new hop: {from} -> {to}"),
        };
        let edge = Edge {
            source,
            target,
            kind,
            serial: self.serial,
            counter: Counter::default(),
            evidence: Vec::new(),
            via: IndexMap::default(),
            latencies: VecDeque::new(),
            samples: VecDeque::new(),
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(edge);
                slot
            }
            None => {
                self.slots.push(Some(edge));
                (self.slots.len() - 1) as u32
            }
        };
        self.keys.insert(key, slot);
        self.alive += 1;
        self.changed(what);
        if self.alive + self.fixed > self.max_edges {
            self.evict(slot);
        }
        slot
    }

    /// `FlowEvents._evict`: the least recently seen tenth of the bound (never `keep`, the
    /// edge just made).
    fn evict(&mut self, keep: u32) {
        let mut candidates: Vec<(i64, u64, u32)> = (self.slots.iter().enumerate())
            .filter(|(slot, _)| *slot as u32 != keep)
            .filter_map(|(slot, e)| e.as_ref().map(|e| (e, slot as u32)))
            .map(|(e, slot)| (e.counter.last.unwrap_or(i64::MAX), e.serial, slot))
            .collect();
        candidates.sort_unstable();
        let over = (self.alive + self.fixed).saturating_sub(self.max_edges * 9 / 10);
        let gone = over.max(1).min(candidates.len());
        for &(_, _, slot) in &candidates[..gone] {
            let edge = self.slots[slot as usize].take().expect("a live edge");
            self.keys.remove(&(edge.source.number, edge.target.number, edge.kind == Kind::Hop));
            if edge.kind == Kind::Produces {
                let number = edge.target.number;
                let topic = self.topic_node.iter().position(|n| n.number == number);
                if let Some(topic) = topic {
                    self.producers[topic].retain(|s| *s != slot);
                }
            }
            self.free.push(slot);
            self.alive -= 1;
        }
        // producers no edge or waiting effect names any more: out of the lookups
        self.services.retain(|_, node| Arc::strong_count(node) > 1);
        self.evicted += gone as u64;
        if gone > 0 {
            let n = thousands(gone as i64);
            self.changed(format!("{n} edges not seen for longest forgotten (memory bound)"));
        }
    }

    fn changed(&mut self, what: String) {
        self.changes.push((self.newest_ms.unwrap_or(0), what));
    }

    fn cause(&mut self, cause: &str, effect: &Effect) {
        let id = Id::new(cause);
        if let Some(seen) = self.known.peek(&id).copied() {
            self.hop(seen, effect, BY_CAUSATION);
            return;
        }
        if !self.waiting.contains(&id) {
            self.waiting.push(id.clone(), Vec::new());
            if self.waiting.len() > self.max_waiting {
                self.waiting.pop_oldest();
                self.dropped_waiting += 1;
            }
        }
        match self.waiting.peek_mut(&id) {
            Some(effects) if effects.len() < MAX_EFFECTS => effects.push(effect.clone()),
            _ => self.dropped_waiting += 1,
        }
    }

    fn hop(&mut self, cause: Seen, effect: &Effect, how: u8) {
        if cause.rec == effect.rec {
            return; // an event naming itself links nothing
        }
        let source = self.topic_node[cause.rec.topic as usize].clone();
        let target = self.topic_node[effect.rec.topic as usize].clone();
        let slot = match self.keys.get(&(source.number, target.number, true)) {
            Some(slot) => *slot,
            None => self.make(source, target, Kind::Hop),
        };
        let other = self.other_via.clone();
        let window = self.window_ms;
        let edge = self.edge_mut(slot);
        edge.counter.add(effect.at, 0, window);
        edge.note(how);
        let mut via = effect.producer.clone();
        if edge.via.len() >= MAX_VIA && !edge.via.contains_key(&via.number) {
            via = other; // a service per record must not grow a hop without bound
        }
        edge.via.entry(via.number).or_insert_with(|| (via.clone(), 0)).1 += 1;
        if edge.latencies.len() == LATENCY_SAMPLES {
            edge.latencies.pop_front();
        }
        edge.latencies.push_back(effect.at - cause.at);
        edge.sample((cause.rec, Some(effect.rec)));
    }

    fn place(&self, rec: &Rec) -> String {
        format!("{}[{}]@{}", self.topics.name(rec.topic), rec.partition, rec.offset)
    }

    fn attrs<'py>(
        &self,
        py: Python<'py>,
        edge: &Edge,
        now: i64,
        idle_ms: i64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let c = &edge.counter;
        let (rate, bytes_rate) = c.rate(now, self.window_ms);
        let attrs = PyDict::new(py);
        attrs.set_item("kind", if edge.kind == Kind::Hop { "hop" } else { "produces" })?;
        let evidence = PyDict::new(py);
        for (what, n) in &edge.evidence {
            evidence.set_item(EVIDENCE[*what as usize], n)?;
        }
        attrs.set_item("evidence", evidence)?;
        attrs.set_item("count", c.count)?;
        attrs.set_item("rate", rate)?;
        attrs.set_item("bytes_rate", bytes_rate)?;
        attrs.set_item("first_ms", c.first)?;
        attrs.set_item("last_ms", c.last)?;
        attrs.set_item("idle", c.last.is_some_and(|l| now - l > idle_ms))?;
        let samples: Vec<String> = (edge.samples.iter())
            .map(|(a, b)| match b {
                Some(b) => format!("{} -> {}", self.place(a), self.place(b)),
                None => self.place(a),
            })
            .collect();
        attrs.set_item("samples", samples)?;
        if edge.kind == Kind::Hop {
            let via = PyDict::new(py);
            for (node, n) in edge.via.values() {
                via.set_item(node.id.as_str(), n)?;
            }
            attrs.set_item("via", via)?;
            let mut sorted: Vec<i64> = edge.latencies.iter().copied().collect();
            sorted.sort_unstable();
            attrs.set_item("p50_ms", percentile(&sorted, 0.5))?;
            attrs.set_item("p95_ms", percentile(&sorted, 0.95))?;
        }
        Ok(attrs)
    }
}

/// A node's name (its id without the kind).
fn name_of(node: &Node) -> String {
    node.id.split_once(':').map_or(node.id.as_str(), |(_, name)| name).to_owned()
}

/// `flow.percentile` of sorted values (nearest rank).
fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// `FlowEvents._remember`: the first sighting stays; the oldest out past `limit`.
fn remember<K: std::hash::Hash + Eq>(table: &mut Lru<K, Seen>, key: K, seen: Seen, limit: usize) {
    if table.contains(&key) {
        return;
    }
    table.push(key, seen);
    if table.len() > limit {
        table.pop_oldest();
    }
}
