//! The ordering detectors that `checks.rs` does not hold: per-key sequences (with the per-topic
//! judgement of the default fields), causes (inversions and orphans, on a watermark over the
//! partitions read) and offset gaps.
//!
//! The specification is `core/ordering.py` (`SequenceChecks`, `SequenceDetector`,
//! `Compaction`, `Watermark`, `CausalDetector`, `OffsetGapDetector`); this keeps the same
//! bounded state, in the same order (Python's `OrderedDict`s are `slab::Ordered` maps: `peek`
//! never moves a key to the end), and gives the same findings, pinned by differential tests
//! (tests/unit/test_native_checks.py). Topics are interned (`Topics`) and a record is named by
//! `Ref` (topic id, partition, offset) until a finding spells it out as `topic/partition/offset`.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

use indexmap::IndexMap;

use crate::checks::{key_text, Found};

/// The hasher of every map here: fast, and seeded per process (keys come from the data).
pub type S = foldhash::quality::RandomState;
pub type Map<K, V> = std::collections::HashMap<K, V, S>;
pub type Set<K> = std::collections::HashSet<K, S>;
pub type Lru<K, V> = crate::slab::Ordered<K, V, S>;

/// An id as a compact key: lowercase hex (up to 32 digits) and canonical lowercase UUIDs packed
/// into 16 bytes, other text kept. Each text has one form, so two `Id`s are equal exactly when
/// their texts are: no collisions.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Id {
    Hex(u8, [u8; 16]),
    Uuid([u8; 16]),
    Text(Box<str>),
}

impl Hash for Id {
    /// One or two words per id (the derived hash fed the array byte by byte, length first).
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Id::Hex(n, packed) => {
                state.write_u8(*n);
                state.write_u128(u128::from_ne_bytes(*packed));
            }
            Id::Uuid(packed) => state.write_u128(u128::from_ne_bytes(*packed)),
            Id::Text(text) => text.hash(state),
        }
    }
}

/// Hex digit values (lowercase only), 0xff for every other byte.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Up to 32 hex digits packed two to a byte, from `out[at / 2]` on (false: another character).
fn pack(digits: &[u8], out: &mut [u8; 16], at: usize) -> bool {
    let mut bad = 0u8;
    for (i, &b) in digits.iter().enumerate() {
        let v = HEX[b as usize];
        bad |= v;
        let j = at + i;
        out[j / 2] |= (v & 0x0f) << (4 - 4 * (j % 2));
    }
    bad & 0xf0 == 0
}

impl Id {
    pub fn new(text: &str) -> Id {
        let b = text.as_bytes();
        let n = b.len();
        let mut packed = [0u8; 16];
        if n == 36 && b[8] == b'-' && b[13] == b'-' && b[18] == b'-' && b[23] == b'-' {
            let groups = [(0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20)];
            if groups.iter().all(|&(from, to, at)| pack(&b[from..to], &mut packed, at)) {
                return Id::Uuid(packed);
            }
        } else if n > 0 && n <= 32 && pack(b, &mut packed, 0) {
            return Id::Hex(n as u8, packed);
        }
        Id::Text(text.into())
    }
}

pub const GAP_GRACE: i64 = 50;
pub const MAX_GAPS: usize = 16;
pub const LEARN_STEPS: i64 = 8;
pub const ORPHAN_GRACE_MS: i64 = 60_000;
const EVIDENCE_LIMIT: usize = 10_000;

/// Topic names, each given a small number once.
#[derive(Default)]
pub struct Topics {
    ids: Map<String, u32>,
    pub names: Vec<String>,
}

impl Topics {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// A topic (id) and partition.
pub type Tp = (u32, i64);

/// A record: topic id, partition, offset (`ordering.ref` once spelled out).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ref {
    pub topic: u32,
    pub partition: i32,
    pub offset: i64,
}

impl Ref {
    pub fn text(&self, topics: &Topics) -> String {
        format!("{}/{}/{}", topics.name(self.topic), self.partition, self.offset)
    }

    /// `ordering.place`: `topic[partition]@offset`.
    fn place(&self, topics: &Topics) -> String {
        format!("{}[{}]@{}", topics.name(self.topic), self.partition, self.offset)
    }
}

/// `f"{n:,}"` of an integer.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn shown(key: &Option<String>) -> &str {
    key.as_deref().unwrap_or("None")
}

/// `ordering.KeyState`: at most `limit` entries, the oldest out first (counted).
pub struct Bounded<K: Hash + Eq, V> {
    pub map: Lru<K, V>,
    pub limit: usize,
    pub evicted: usize,
}

impl<K: Hash + Eq, V> Bounded<K, V> {
    pub fn new(limit: usize) -> Self {
        Bounded { map: Lru::default(), limit, evicted: 0 }
    }

    /// `KeyState.put` of a key not held.
    pub fn put(&mut self, key: K, value: V) {
        let len = self.map.len();
        if len == self.limit / 16 && len >= 4096 {
            // a long stream: room for the whole bound at once, where doubling would hash every
            // key again at each step (the table's memory is what the bound takes anyway)
            self.map.reserve(self.limit - len);
        }
        if len >= self.limit {
            if self.evicted == 0 {
                // full from now on: one key out for each in. A removed key leaves a tombstone
                // in the table, and a table with little room left rehashes itself in place
                // every few thousand keys (each key's hash again); room for a quarter of the
                // bound more makes that rare (a few bytes a key)
                self.map.reserve(self.limit / 4);
            }
            self.map.pop_oldest();
            self.evicted += 1;
        }
        self.map.push(key, value);
    }
}

/// One record as these detectors read it.
pub struct Event<'a> {
    pub index: usize,
    pub at: Ref,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub has_value: bool,
    pub event_id: Option<&'a str>,
    /// `event_id` as a key.
    pub eid_key: Option<&'a Id>,
    pub causes: &'a [std::borrow::Cow<'a, str>],
    pub trace_id: Option<&'a str>,
    pub span_id: Option<&'a str>,
    pub parent_span_id: Option<&'a str>,
    pub event_type: Option<&'a str>,
}

/// A finding's texts: what was expected, what was seen, the explanation.
type Texts = [String; 3];

fn finding(
    topics: &Topics,
    index: usize,
    kind: &'static str,
    at: Ref,
    key: Option<String>,
    refs: Vec<String>,
    [expected, seen, explanation]: Texts,
) -> Found {
    let topic = topics.name(at.topic).to_owned();
    let (partition, offset) = (i64::from(at.partition), at.offset);
    (index, kind, topic, partition, offset, key, refs, expected, seen, explanation)
}

// -- compaction -------------------------------------------------------------------------------

/// `ordering.Compaction`.
#[derive(Default)]
pub struct Compaction {
    pub topics: Set<u32>,
    last: Map<Tp, i64>,
    missing: Map<Tp, i64>,
    pub removed: i64,
}

impl Compaction {
    /// `Compaction.see`: True when the record's topic is compacted.
    pub fn see(&mut self, at: Ref) -> bool {
        if !self.topics.contains(&at.topic) {
            return false;
        }
        let tp = (at.topic, i64::from(at.partition));
        let last = self.last.get(&tp).copied().unwrap_or(-1);
        if at.offset > last {
            self.last.insert(tp, at.offset);
            if at.offset > last + 1 {
                let skipped = at.offset - last - 1;
                *self.missing.entry(tp).or_insert(0) += skipped;
                self.removed += skipped;
            }
        }
        true
    }

    fn missing_before(&self, at: Ref) -> i64 {
        self.missing.get(&(at.topic, i64::from(at.partition))).copied().unwrap_or(0)
    }
}

// -- sequences --------------------------------------------------------------------------------

/// A sequence number (Python's ints are unbounded: one beyond this is asked of Python and
/// fails there, a record problem).
pub type Num = i128;

/// A run of missing numbers: first, last, the record that jumped over them, the number before
/// it, and the number of the record that jumped.
#[derive(Clone)]
struct Gap {
    first: Num,
    last: Num,
    jumped: Ref,
    before: Num,
    higher: Num,
}

pub struct Seq {
    last: Num,
    last_ref: Ref,
    last_id: Option<Id>,
    seen_since: i64,
    missing: Option<i64>,
    gaps: Vec<Gap>,
}

impl Seq {
    pub fn open_gaps(&self) -> usize {
        self.gaps.len()
    }

    fn fill(&mut self, seq: Num) -> Option<Gap> {
        let i = self.gaps.iter().position(|g| g.first <= seq && seq <= g.last)?;
        let gap = self.gaps[i].clone();
        let mut rest = Vec::with_capacity(2);
        if gap.first < seq {
            rest.push(Gap { last: seq - 1, ..gap.clone() });
        }
        if seq < gap.last {
            rest.push(Gap { first: seq + 1, ..gap.clone() });
        }
        self.gaps.splice(i..=i, rest);
        Some(gap)
    }
}

/// Topic, partition, key, producer as one byte string (see `SeqDetector::key`).
type SeqKey = Box<[u8]>;

/// The topic and key of a `SeqKey`.
fn seq_key_parts(k: &[u8]) -> (u32, Option<&[u8]>) {
    let topic = u32::from_le_bytes(k[0..4].try_into().expect("4 bytes"));
    if k[8] == 0 {
        return (topic, None);
    }
    let len = u32::from_le_bytes(k[9..13].try_into().expect("4 bytes")) as usize;
    (topic, Some(&k[13..13 + len]))
}

/// `ordering.SequenceDetector` of one field (or one list of fields).
pub struct SeqDetector {
    keyless: bool,
    pub rose: Option<bool>,
    pub keys: Bounded<SeqKey, Seq>,
    pub compacted_jumps: usize,
    scratch: Vec<u8>,
}

/// What the sequence detectors are offered a record with: the topics' names, the compaction
/// seen so far, and whether the record's topic is compacted (`Compaction.see`).
pub struct Where<'a> {
    pub topics: &'a Topics,
    pub compaction: &'a Compaction,
    pub compacted: bool,
}

/// The sequence of a record for a detector, and its producer, as read for it.
pub struct SeqRead<'a> {
    pub seq: Option<Num>,
    pub producer: Option<&'a str>,
}

impl SeqDetector {
    pub fn new(max_keys: usize, keyless: bool) -> Self {
        SeqDetector {
            keyless,
            rose: None,
            keys: Bounded::new(max_keys),
            compacted_jumps: 0,
            scratch: Vec::new(),
        }
    }

    /// The record's key (`_key`: topic, key, producer, partition) into `scratch`: topic id and
    /// partition (4 bytes each), then 0, or 1 and the key's length (4 bytes) and bytes, then
    /// 0, or 1 and the producer's bytes.
    fn key(&mut self, e: &Event, producer: Option<&str>) {
        let k = &mut self.scratch;
        k.clear();
        k.extend_from_slice(&e.at.topic.to_le_bytes());
        k.extend_from_slice(&e.at.partition.to_le_bytes());
        match e.key {
            None => k.push(0),
            Some(key) => {
                k.push(1);
                k.extend_from_slice(&(key.len() as u32).to_le_bytes());
                k.extend_from_slice(key);
            }
        }
        match producer {
            None => k.push(0),
            Some(p) => {
                k.push(1);
                k.extend_from_slice(p.as_bytes());
            }
        }
    }

    /// `SequenceDetector.offer`.
    pub fn offer(&mut self, at: &Where, e: &Event, read: &SeqRead, out: &mut Vec<Found>) {
        let (t, comp, compacted) = (at.topics, at.compaction, at.compacted);
        if compacted && !e.has_value {
            // a tombstone ends the key's sequence; its open gaps are reported
            self.key(e, read.producer);
            if let Some(state) = self.keys.map.pop(self.scratch.as_slice()) {
                report(t, e.index, state.gaps, key_text(e.key), out);
            }
            return;
        }
        self.rose = None;
        if e.key.is_none() && !self.keyless {
            return;
        }
        let Some(seq) = read.seq else { return };
        self.key(e, read.producer);
        let (here, eid) = (e.at, e.event_id);
        if let Some(state) = self.keys.map.get_mut(self.scratch.as_slice()) {
            // (promoted: `move_to_end`)
            if seq != state.last || eid.is_none() || e.eid_key != state.last_id.as_ref() {
                self.rose = Some(seq > state.last);
            }
            let jumps = &mut self.compacted_jumps;
            compare(t, comp, jumps, state, seq, e, out);
            overdue(t, state, e, out);
            if compacted && state.last_ref == here {
                state.missing = Some(comp.missing_before(e.at));
            }
            return;
        }
        if self.keys.map.len() >= self.keys.limit {
            if let Some((k, state)) = self.keys.map.pop_oldest() {
                self.keys.evicted += 1;
                report(t, e.index, state.gaps, key_text(seq_key_parts(&k).1), out);
            }
        }
        let missing = compacted.then(|| comp.missing_before(e.at));
        let state = Seq {
            last: seq,
            last_ref: here,
            last_id: e.eid_key.cloned(),
            seen_since: 0,
            missing,
            gaps: Vec::new(),
        };
        self.keys.map.push(Box::from(self.scratch.as_slice()), state);
    }

    /// `SequenceDetector.flush`: every gap still open, of `topics` when given.
    pub fn flush(&mut self, t: &Topics, topics: Option<&Set<u32>>, out: &mut Vec<Found>) {
        self.keys.map.for_each_mut(|k, state| {
            let (topic, key) = seq_key_parts(k);
            if !state.gaps.is_empty() && topics.is_none_or(|w| w.contains(&topic)) {
                let gaps = std::mem::take(&mut state.gaps);
                report(t, usize::MAX, gaps, key_text(key), out);
            }
        });
    }
}

/// `SequenceDetector._compare`.
fn compare(
    t: &Topics,
    comp: &Compaction,
    jumps: &mut usize,
    state: &mut Seq,
    seq: Num,
    e: &Event,
    out: &mut Vec<Found>,
) {
    let (last, here, eid) = (state.last, e.at, e.event_id);
    if seq == last + 1 {
        (state.last, state.last_ref) = (seq, here);
        state.last_id = e.eid_key.cloned();
        return;
    }
    if seq > last {
        let removed = state.missing.is_some() && {
            // the cleaner may have removed the numbers jumped over (counted)
            let gone = comp.missing_before(e.at) - state.missing.unwrap_or(0);
            let yes = Num::from(gone) >= seq - last - 1;
            *jumps += usize::from(yes);
            yes
        };
        if !removed {
            state.gaps.push(Gap {
                first: last + 1,
                last: seq - 1,
                jumped: here,
                before: last,
                higher: seq,
            });
        }
        (state.last, state.last_ref) = (seq, here);
        state.last_id = e.eid_key.cloned();
        if state.gaps.len() > MAX_GAPS {
            let oldest = state.gaps.remove(0);
            report(t, e.index, vec![oldest], key_text(e.key), out);
        }
        return;
    }
    let key = key_text(e.key);
    if seq == last {
        if eid.is_some() && e.eid_key == state.last_id.as_ref() {
            return; // the same event again: duplicate_event reports it
        }
        let explanation = format!(
            "sequence {seq} of key {} was used by two different events (two producers, or a \
             retried write given a new id)",
            shown(&key)
        );
        let refs = vec![state.last_ref.text(t), here.text(t)];
        let expected = format!("sequence {}", last + 1);
        let seen = format!("sequence {seq} again");
        let texts = [expected, seen, explanation];
        out.push(finding(t, e.index, "sequence_duplicate", here, key, refs, texts));
        return;
    }
    if let Some(gap) = state.fill(seq) {
        let (after, higher) = (gap.jumped.place(t), gap.higher);
        let refs = vec![gap.jumped.text(t), here.text(t)];
        let expected = format!("sequence {seq} before sequence {higher} at {after}");
        let seen = format!("sequence {seq} after sequence {higher} at {after}");
        let explanation = "adjacent records swapped: the later one was written first (producer \
                           retries without idempotence, or max.in.flight > 1)"
            .to_owned();
        let texts = [expected, seen, explanation];
        out.push(finding(t, e.index, "sequence_regression", here, key, refs, texts));
        return;
    }
    let refs = vec![state.last_ref.text(t), here.text(t)];
    let expected = format!("sequence above {last}");
    let seen = format!("sequence {seq} after sequence {last} at {}", state.last_ref.place(t));
    let explanation = format!(
        "sequence went back from {last} to {seq} (a replay, a reset producer, or a stale write)"
    );
    let texts = [expected, seen, explanation];
    out.push(finding(t, e.index, "sequence_regression", here, key, refs, texts));
}

/// `SequenceDetector._overdue`.
fn overdue(t: &Topics, state: &mut Seq, e: &Event, out: &mut Vec<Found>) {
    if state.gaps.is_empty() {
        state.seen_since = 0;
        return;
    }
    state.seen_since += 1;
    if state.seen_since < GAP_GRACE {
        return;
    }
    state.seen_since = 0;
    let gaps = std::mem::take(&mut state.gaps);
    report(t, e.index, gaps, key_text(e.key), out);
}

/// `SequenceDetector._report`: one finding per run of missing numbers.
fn report(t: &Topics, index: usize, gaps: Vec<Gap>, key: Option<String>, out: &mut Vec<Found>) {
    for gap in gaps {
        let what = if gap.first == gap.last {
            gap.first.to_string()
        } else {
            format!("{}..{}", gap.first, gap.last)
        };
        let explanation = format!(
            "sequence {what} of key {} never arrived (lost, filtered out, or written to another \
             topic or partition)",
            shown(&key)
        );
        let expected = format!("sequence {what} after {}", gap.before);
        let refs = vec![gap.jumped.text(t)];
        let texts = [expected, "never".to_owned(), explanation];
        let f = finding(t, index, "sequence_gap", gap.jumped, key.clone(), refs, texts);
        out.push(f);
    }
}

/// `ordering._Trial`.
#[derive(Default)]
struct Trial {
    steps: i64,
    rising: i64,
    held: Vec<Found>,
    rejected: bool,
}

impl Trial {
    fn verdict(&self, last: bool) -> Option<bool> {
        if self.steps < if last { 1 } else { LEARN_STEPS } {
            return None;
        }
        Some(self.rising as f64 >= 0.5 * self.steps as f64)
    }
}

/// `ordering.SequenceChecks`: detector `i` reads the `i`th field (the `i`th group of names).
pub struct SeqChecks {
    pub learn: bool,
    pub names: Vec<String>,
    pub detectors: Vec<SeqDetector>,
    pub chosen: Map<u32, Option<usize>>,
    trials: IndexMap<u32, Vec<Option<Trial>>>,
    pub held_over: usize,
    max_held: usize,
}

impl SeqChecks {
    /// `max_held`: findings held per topic and field while the field is judged.
    pub fn new(
        names: Vec<String>,
        max_keys: usize,
        max_held: usize,
        learn: bool,
        keyless: bool,
    ) -> Self {
        let detectors = names.iter().map(|_| SeqDetector::new(max_keys, keyless)).collect();
        SeqChecks {
            learn,
            names,
            detectors,
            chosen: Map::default(),
            trials: IndexMap::new(),
            held_over: 0,
            max_held,
        }
    }

    /// Which detectors want this record's fields read (none: the topic has no sequence).
    pub fn wanted(&self, topic: u32) -> bool {
        !self.learn || self.chosen.get(&topic).is_none_or(Option::is_some)
    }

    /// `SequenceChecks.offer`; `reads[i]` is what detector `i` reads of the record.
    pub fn offer(&mut self, at: &Where, e: &Event, reads: &[SeqRead], out: &mut Vec<Found>) {
        if !self.learn {
            self.detectors[0].offer(at, e, &reads[0], out);
            return;
        }
        let topic = e.at.topic;
        if let Some(name) = self.chosen.get(&topic) {
            if let Some(i) = *name {
                self.detectors[i].offer(at, e, &reads[i], out);
            }
            return;
        }
        let n = self.detectors.len();
        let trials = self.trials.entry(topic).or_insert_with(|| (0..n).map(|_| None).collect());
        let mut found = Vec::new();
        for (i, detector) in self.detectors.iter_mut().enumerate() {
            if trials[i].as_ref().is_some_and(|t| t.rejected) {
                continue;
            }
            found.clear();
            detector.offer(at, e, &reads[i], &mut found);
            if detector.rose.is_none() && found.is_empty() {
                continue;
            }
            let trial = trials[i].get_or_insert_with(Trial::default);
            if let Some(rose) = detector.rose {
                trial.steps += 1;
                trial.rising += i64::from(rose);
            }
            let room = self.max_held.saturating_sub(trial.held.len());
            self.held_over += found.len().saturating_sub(room);
            trial.held.extend(found.drain(..).take(room));
        }
        self.judge(topic, false, e.index, out);
    }

    /// `SequenceChecks._judge`.
    /// `index`: the record being offered (the held findings are said with it).
    fn judge(&mut self, topic: u32, last: bool, index: usize, out: &mut Vec<Found>) {
        let n = self.detectors.len();
        let trials = self.trials.get_mut(&topic).expect("judged topics are tried");
        if let Some(name) = decide(trials, n, last) {
            self.choose(topic, name, index, out);
        }
    }

    fn choose(&mut self, topic: u32, name: Option<usize>, index: usize, out: &mut Vec<Found>) {
        self.chosen.insert(topic, name);
        let mut trials = self.trials.shift_remove(&topic).expect("tried");
        if let Some(i) = name {
            if let Some(trial) = trials[i].take() {
                out.extend(trial.held.into_iter().map(|mut f| {
                    f.0 = index;
                    f
                }));
            }
        }
    }

    /// `SequenceChecks.flush`.
    pub fn flush(&mut self, t: &Topics, out: &mut Vec<Found>) {
        let topics: Vec<u32> = self.trials.keys().copied().collect();
        for topic in topics {
            self.judge(topic, true, usize::MAX, out);
        }
        for i in 0..self.detectors.len() {
            if !self.learn {
                self.detectors[i].flush(t, None, out);
                continue;
            }
            let mine: Set<u32> = (self.chosen.iter())
                .filter(|(_, c)| **c == Some(i))
                .map(|(topic, _)| *topic)
                .collect();
            self.detectors[i].flush(t, Some(&mine), out);
        }
    }

    /// `SequenceChecks.keys.evicted`: the detector that forgot most.
    pub fn evicted(&self) -> usize {
        self.detectors.iter().map(|d| d.keys.evicted).max().unwrap_or(0)
    }

    pub fn compacted_jumps(&self) -> usize {
        self.detectors.iter().map(|d| d.compacted_jumps).sum()
    }
}

/// `_judge`'s choice: Some(the field, or None for no field), or None while undecided.
fn decide(trials: &mut [Option<Trial>], n: usize, last: bool) -> Option<Option<usize>> {
    let verdicts: Vec<Option<bool>> =
        trials.iter().map(|t| t.as_ref().and_then(|t| t.verdict(last))).collect();
    for (i, verdict) in verdicts.iter().enumerate() {
        if *verdict == Some(true) {
            return Some(Some(i));
        }
        if let (Some(false), Some(trial)) = (verdict, trials[i].as_mut()) {
            if !trial.rejected {
                trial.rejected = true;
                trial.held = Vec::new();
            }
        }
    }
    let tried = trials.iter().filter(|t| t.is_some()).count();
    let undecided = verdicts.iter().any(Option::is_none);
    (last || (tried > 0 && !undecided && tried == n)).then_some(None)
}

// -- the watermark ----------------------------------------------------------------------------

/// `ordering.Watermark`.
#[derive(Default)]
pub struct Watermark {
    pub progress: Map<Tp, i64>,
    pub unread: Set<Tp>,
    pub resting: Set<Tp>,
    latest: Option<i64>,
    value: Option<i64>,
    low: Option<Tp>,
    stale: bool,
}

impl Watermark {
    pub fn new() -> Self {
        Watermark { stale: true, ..Default::default() }
    }

    pub fn expect(&mut self, partitions: impl IntoIterator<Item = Tp>) {
        for tp in partitions {
            if !self.progress.contains_key(&tp) && !self.resting.contains(&tp) {
                self.unread.insert(tp);
            }
        }
        self.stale = true;
    }

    pub fn rest(&mut self, partitions: impl IntoIterator<Item = Tp>) {
        for tp in partitions {
            self.resting.insert(tp);
            self.unread.remove(&tp);
        }
        self.stale = true;
    }

    fn see(&mut self, tp: Tp, at: i64) {
        if !self.resting.is_empty() && self.resting.remove(&tp) {
            self.stale = true;
        }
        if !self.unread.is_empty() && self.unread.remove(&tp) {
            self.stale = true;
        }
        match self.progress.get_mut(&tp) {
            None => {
                self.progress.insert(tp, at);
                self.stale = true;
            }
            Some(last) if at > *last => {
                *last = at;
                if Some(tp) == self.low {
                    self.stale = true;
                }
            }
            Some(_) => {}
        }
        if self.latest.is_none_or(|l| at > l) {
            self.latest = Some(at);
        }
    }

    pub fn value(&mut self) -> Option<i64> {
        if self.stale {
            self.stale = false;
            (self.value, self.low) = self.compute();
        }
        self.value
    }

    fn compute(&self) -> (Option<i64>, Option<Tp>) {
        if !self.unread.is_empty() {
            return (None, None);
        }
        let low = (self.progress.iter())
            .filter(|(tp, _)| !self.resting.contains(tp))
            .map(|(tp, at)| (*at, *tp))
            .min();
        match low {
            None => (self.latest, None),
            Some((at, tp)) => (Some(at), Some(tp)),
        }
    }

    /// `Watermark.carry`: what `other` knew of the partitions (not their progress).
    pub fn carry(&mut self, other: &Watermark, map: &[u32]) {
        let mine = |(t, p): &Tp| (map[*t as usize], *p);
        let known: Vec<Tp> = other.unread.iter().chain(other.progress.keys()).map(mine).collect();
        self.expect(known);
        self.rest(other.resting.iter().map(mine).collect::<Vec<_>>());
    }
}

/// Why an effect is produced before its cause.
const INVERTED: &str =
    "an effect was written before the event that caused it: clocks that disagree, or a cause \
     re-sent late";

// -- causes -----------------------------------------------------------------------------------

/// An effect whose cause has not been seen yet (`ordering._Waiting`).
#[derive(Clone)]
struct Waiting {
    cause: String,
    effect: Ref,
    effect_ms: i64,
    key: Option<String>,
    kind: Kind,
}

/// The effect's topic (none for a span's wait) and event type.
type Kind = (Option<u32>, Option<String>);

/// `ordering.CausalDetector`.
pub struct Causes {
    tolerance_ms: i64,
    grace_ms: i64,
    pub mark: Watermark,
    strict: bool,
    evidence: Bounded<Kind, ()>,
    pub outside: usize,
    undecided: VecDeque<Waiting>,
    mid_stream: bool,
    pub unjudged: usize,
    pub compacted_away: usize,
    pub forgotten: usize,
    first_ms: Option<i64>,
    pub known: Bounded<Id, (i64, Ref)>,
    waiting: Lru<Id, Vec<Waiting>>,
    max_waiting: usize,
    pub dropped: usize,
    said: Bounded<(Id, Id), ()>,
    spans: Bounded<(Id, Id), (i64, Ref)>,
    span_waiting: Lru<(Id, Id), Vec<Waiting>>,
    inverted: Bounded<(Ref, Ref), ()>,
}

impl Causes {
    pub fn new(
        tolerance_ms: i64,
        max_events: usize,
        max_waiting: usize,
        mid_stream: bool,
        strict: bool,
    ) -> Self {
        Causes {
            tolerance_ms,
            grace_ms: ORPHAN_GRACE_MS,
            mark: Watermark::new(),
            strict,
            evidence: Bounded::new(EVIDENCE_LIMIT),
            outside: 0,
            undecided: VecDeque::new(),
            mid_stream,
            unjudged: 0,
            compacted_away: 0,
            forgotten: 0,
            first_ms: None,
            known: Bounded::new(max_events),
            waiting: Lru::default(),
            max_waiting,
            dropped: 0,
            said: Bounded::new(max_waiting),
            spans: Bounded::new(max_events),
            span_waiting: Lru::default(),
            inverted: Bounded::new(max_waiting),
        }
    }

    /// `CausalDetector.offer` (the compaction already saw the record).
    pub fn offer(&mut self, t: &Topics, comp: &Compaction, e: &Event, out: &mut Vec<Found>) {
        let (here, at) = (e.at, e.timestamp);
        self.mark.see((here.topic, i64::from(here.partition)), at);
        if self.first_ms.is_none_or(|f| at < f) {
            self.first_ms = Some(at);
        }
        if let Some(eid) = e.event_id {
            let id = e.eid_key.expect("with the id");
            self.arrived(t, (eid, id), at, here, e.index, out);
        }
        // the effect's name among the pairs looked at: its id, else its ref (Python's `or`)
        let me = match e.event_id {
            Some(eid) if !eid.is_empty() => e.eid_key.expect("with the id").clone(),
            _ if e.causes.is_empty() && e.parent_span_id.is_none() => Id::Hex(0, [0; 16]),
            _ => Id::new(&here.text(t)),
        };
        for cause in e.causes {
            let cause_id = Id::new(cause);
            if !self.first((me.clone(), cause_id.clone())) {
                continue; // this effect and cause were looked at (the effect delivered again)
            }
            let Some(&(cause_ms, cause_ref)) = self.known.map.peek(&cause_id) else {
                let kind = (Some(here.topic), e.event_type.map(str::to_owned));
                self.wait(cause_id, cause.to_string(), e, kind);
                continue;
            };
            self.found_cause((Some(here.topic), e.event_type.map(str::to_owned)));
            if at < cause_ms - self.tolerance_ms {
                self.inversion(t, e, cause_ms, cause_ref, out);
            }
        }
        let truthy = |s: Option<&str>| s.is_some_and(|s| !s.is_empty());
        if let Some(trace) = e.trace_id {
            if truthy(e.span_id) || truthy(e.parent_span_id) {
                self.spans_of(t, e, trace, &me, out);
            }
        }
        if !self.waiting.is_empty() {
            self.overdue(t, e.index, comp, out);
        }
    }

    fn spans_of(&mut self, t: &Topics, e: &Event, trace: &str, me: &Id, out: &mut Vec<Found>) {
        let (here, at) = (e.at, e.timestamp);
        if let Some(span) = e.span_id {
            let name = format!("span {span}");
            let span = (Id::new(trace), Id::new(span));
            if !self.spans.map.contains(&span) {
                self.spans.put(span.clone(), (at, here));
            }
            for wait in self.span_waiting.pop(&span).unwrap_or_default() {
                self.late_cause(t, e.index, &wait, here, at, &name, out);
            }
        }
        let Some(parent) = e.parent_span_id else {
            return;
        };
        if !self.first((me.clone(), Id::new(&format!("span {trace} {parent}")))) {
            return;
        }
        let pair = (Id::new(trace), Id::new(parent));
        if let Some(&(cause_ms, cause_ref)) = self.spans.map.peek(&pair) {
            if at < cause_ms - self.tolerance_ms {
                self.inversion(t, e, cause_ms, cause_ref, out);
            }
            return;
        }
        let wait = Waiting {
            cause: parent.to_owned(),
            effect: here,
            effect_ms: at,
            key: key_text(e.key),
            kind: (None, None),
        };
        push_wait(&mut self.span_waiting, pair, wait);
        if self.span_waiting.len() > self.max_waiting {
            self.span_waiting.pop_oldest(); // not an orphan: just forgotten
            self.dropped += 1;
        }
    }

    fn first(&mut self, pair: (Id, Id)) -> bool {
        if self.said.map.contains(&pair) {
            return false;
        }
        self.said.put(pair, ());
        true
    }

    fn arrived(
        &mut self,
        t: &Topics,
        (eid, id): (&str, &Id),
        at: i64,
        here: Ref,
        index: usize,
        out: &mut Vec<Found>,
    ) {
        if !self.known.map.contains(id) {
            self.known.put(id.clone(), (at, here));
        }
        for wait in self.waiting.pop(id).unwrap_or_default() {
            self.found_cause(wait.kind.clone());
            self.late_cause(t, index, &wait, here, at, eid, out);
        }
    }

    fn found_cause(&mut self, kind: Kind) {
        if !self.evidence.map.contains(&kind) {
            self.evidence.put(kind, ());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn late_cause(
        &mut self,
        t: &Topics,
        index: usize,
        wait: &Waiting,
        here: Ref,
        at: i64,
        name: &str,
        out: &mut Vec<Found>,
    ) {
        if wait.effect_ms >= at - self.tolerance_ms || !self.newly_inverted(here, wait.effect) {
            return;
        }
        let refs = vec![here.text(t), wait.effect.text(t)];
        let expected = format!("the effect produced after its cause {name}");
        let seen = format!("produced {} ms before it", thousands(at - wait.effect_ms));
        let texts = [expected, seen, INVERTED.to_owned()];
        let f = finding(t, index, "causal_inversion", wait.effect, wait.key.clone(), refs, texts);
        out.push(f);
    }

    fn inversion(
        &mut self,
        t: &Topics,
        e: &Event,
        cause_ms: i64,
        cause_ref: Ref,
        out: &mut Vec<Found>,
    ) {
        if !self.newly_inverted(cause_ref, e.at) {
            return; // the same pair linked twice (a causation id and a parent span)
        }
        let cause_text = cause_ref.text(t);
        let refs = vec![cause_text.clone(), e.at.text(t)];
        let expected = format!("produced at or after its cause ({cause_text})");
        let seen = format!("produced {} ms before it", thousands(cause_ms - e.timestamp));
        let texts = [expected, seen, INVERTED.to_owned()];
        let f = finding(t, e.index, "causal_inversion", e.at, key_text(e.key), refs, texts);
        out.push(f);
    }

    fn newly_inverted(&mut self, cause: Ref, effect: Ref) -> bool {
        let pair = (cause, effect);
        if self.inverted.map.contains(&pair) {
            return false;
        }
        self.inverted.put(pair, ());
        true
    }

    fn wait(&mut self, id: Id, cause: String, e: &Event, kind: Kind) {
        let wait =
            Waiting { cause, effect: e.at, effect_ms: e.timestamp, key: key_text(e.key), kind };
        push_wait(&mut self.waiting, id, wait);
        if self.waiting.len() > self.max_waiting {
            self.waiting.pop_oldest();
            self.dropped += 1;
        }
    }

    fn overdue(&mut self, t: &Topics, index: usize, comp: &Compaction, out: &mut Vec<Found>) {
        let Some(now) = self.mark.value() else {
            return; // a partition of the range is not read yet: its records may be causes
        };
        while let Some((_, waits)) = self.waiting.peek_oldest() {
            let oldest = waits.iter().map(|w| w.effect_ms).min().unwrap_or(i64::MAX);
            if waits.is_empty() || now - oldest <= self.grace_ms {
                break;
            }
            let (_, waits) = self.waiting.pop_oldest().expect("peeked");
            self.orphans(t, index, comp, waits, false, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn orphans(
        &mut self,
        t: &Topics,
        index: usize,
        comp: &Compaction,
        waits: Vec<Waiting>,
        last: bool,
        out: &mut Vec<Found>,
    ) {
        let total = waits.len();
        let judged: Vec<Waiting> = waits.into_iter().filter(|w| !self.near_start(w)).collect();
        self.unjudged += total - judged.len();
        if !judged.is_empty() && comp.removed != 0 {
            self.compacted_away += judged.len();
            return;
        }
        if !judged.is_empty() && self.known.evicted != 0 {
            self.forgotten += judged.len();
            return;
        }
        for wait in judged {
            if self.could_be_read(&wait, last) {
                out.push(orphan(t, index, wait));
            }
        }
    }

    fn could_be_read(&mut self, wait: &Waiting, last: bool) -> bool {
        if self.strict || self.evidence.map.contains(&wait.kind) {
            return true;
        }
        if last {
            self.outside += 1;
            return false;
        }
        self.undecided.push_back(wait.clone());
        if self.undecided.len() > self.max_waiting {
            self.undecided.pop_front();
            self.outside += 1;
        }
        false
    }

    fn near_start(&self, wait: &Waiting) -> bool {
        self.mid_stream && self.first_ms.is_some_and(|f| wait.effect_ms < f + self.grace_ms)
    }

    /// bench/ordering's rows (see `Checks.sizes`).
    #[allow(clippy::type_complexity)]
    pub fn sizes(&self) -> Vec<(&'static str, usize, usize, Option<usize>, &'static str)> {
        let w = self.max_waiting;
        vec![
            (
                "CausalDetector.known",
                self.known.map.len(),
                self.known.limit,
                Some(self.known.evicted),
                "ids",
            ),
            ("CausalDetector.waiting", self.waiting.len(), w, Some(self.dropped), "causes"),
            (
                "CausalDetector._said",
                self.said.map.len(),
                self.said.limit,
                Some(self.said.evicted),
                "pairs",
            ),
            (
                "CausalDetector.spans",
                self.spans.map.len(),
                self.spans.limit,
                Some(self.spans.evicted),
                "spans",
            ),
            ("CausalDetector.span_waiting", self.span_waiting.len(), w, None, "spans"),
            (
                "CausalDetector._inverted",
                self.inverted.map.len(),
                self.inverted.limit,
                Some(self.inverted.evicted),
                "pairs",
            ),
        ]
    }

    pub fn not_read(&self) -> usize {
        self.outside + self.undecided.len()
    }

    /// `CausalDetector.flush`.
    pub fn flush(&mut self, t: &Topics, comp: &Compaction, out: &mut Vec<Found>) {
        let mut all = Vec::new();
        while let Some((_, waits)) = self.waiting.pop_oldest() {
            all.push(waits);
        }
        for waits in all {
            self.orphans(t, usize::MAX, comp, waits, true, out);
        }
        let undecided = std::mem::take(&mut self.undecided);
        for wait in undecided {
            if self.could_be_read(&wait, true) {
                out.push(orphan(t, usize::MAX, wait));
            }
        }
    }

    /// `CausalDetector.carry`; `map[i]` is this detector's id of `other`'s topic `i`.
    pub fn carry(&mut self, other: &Causes, map: &[u32]) {
        self.mark.carry(&other.mark, map);
        for ((topic, kind), _) in other.evidence.map.iter() {
            self.found_cause((topic.map(|t| map[t as usize]), kind.clone()));
        }
        self.outside += other.outside + other.undecided.len();
    }
}

fn push_wait<K: Hash + Eq>(map: &mut Lru<K, Vec<Waiting>>, key: K, wait: Waiting) {
    match map.peek_mut(&key) {
        Some(waits) => waits.push(wait),
        None => {
            map.push(key, vec![wait]);
        }
    }
}

/// `ordering._orphan`.
fn orphan(t: &Topics, index: usize, wait: Waiting) -> Found {
    let explanation = format!(
        "the event names cause {}, which was not seen (lost, not produced, or outside the range \
         read)",
        wait.cause
    );
    let refs = vec![wait.effect.text(t)];
    let expected = format!("its cause {}", wait.cause);
    let texts = [expected, "never".to_owned(), explanation];
    finding(t, index, "orphan", wait.effect, wait.key, refs, texts)
}

// -- offsets ----------------------------------------------------------------------------------

/// `ordering.OffsetGapDetector`.
#[derive(Default)]
pub struct Offsets {
    last: Map<Tp, i64>,
}

impl Offsets {
    pub fn partitions(&self) -> usize {
        self.last.len()
    }

    pub fn offer(&mut self, t: &Topics, e: &Event, out: &mut Vec<Found>) {
        let here = e.at;
        let Some(last) = self.last.insert((here.topic, i64::from(here.partition)), here.offset)
        else {
            return;
        };
        if here.offset <= last + 1 {
            return;
        }
        let skipped = here.offset - last - 1;
        let before = Ref { offset: last, ..here };
        let refs = vec![before.text(t), here.text(t)];
        let expected = format!("offset {}", last + 1);
        let seen = format!("offset {} ({} skipped)", here.offset, thousands(skipped));
        let explanation = "offsets without records: transaction markers, aborted transactions or \
                           compaction (usually harmless)"
            .to_owned();
        let texts = [expected, seen, explanation];
        out.push(finding(t, e.index, "offset_gap", here, key_text(e.key), refs, texts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_equal_exactly_when_their_texts_are() {
        let texts = [
            "",
            "a",
            "0a",
            "a0",
            "00",
            "0",
            "abcdef0123456789abcdef0123456789",
            "abcdef0123456789abcdef01234567890",
            "ABCDEF",
            "0g",
            "123e4567-e89b-12d3-a456-426614174000",
            "123e4567e89b12d3a456426614174000",
            "123e4567-e89b-12d3-a456-42661417400g",
            "123e4567-e89b-12d3-a456-426614174001",
            "023e4567-e89b-12d3-a456-426614174000",
            "123e4567-e89c-12d3-a456-426614174000",
            "123e4567-e89b-12d4-a456-426614174000",
            "123e4567-e89b-12d3-b456-426614174000",
            "123e4567+e89b-12d3-a456-426614174000",
            "123E4567-e89b-12d3-a456-426614174000",
            "span 1 2",
            "ü",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(Id::new(a) == Id::new(b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn thousands_as_python_prints_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }
}
