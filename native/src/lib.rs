//! evtui's native hot path (`evtui._native`): per-record work over whole batches.
//!
//! Python keeps one specification of every semantics (`evtui/core/*.py`); each
//! function here is a second implementation of one of them, tested against it
//! differentially, and leaves to Python whatever it cannot read exactly alike.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PySet, PyString, PyTuple, PyType};
use pyo3::{ffi, intern};

pub mod checker;
pub mod checks;
pub mod collect;
pub mod flow;
pub mod ids;
pub mod json;
pub mod ordering;
pub mod render;
pub mod slab;
pub mod text;
pub mod trace;

use ids::{Found, Ids, Ignored};
use json::{Defer, R};

/// One header as read from the record: its name (None when not text) and bytes.
pub type Header<'a> = (&'a str, Option<&'a [u8]>);

/// How the Python side builds an `EventIds` and which one means "nothing found".
struct Make<'py> {
    cls: Bound<'py, PyAny>,
    empty: Bound<'py, PyAny>,
    tuple_new: Bound<'py, PyAny>,
    /// `cls` adds nothing to a tuple's layout: instances are allocated here directly.
    plain_tuple: bool,
    body: bool,
    ignored: Ignored,
}

impl<'py> Make<'py> {
    fn new(
        py: Python<'py>,
        cls: Bound<'py, PyAny>,
        empty: Bound<'py, PyAny>,
        body: bool,
        ignored: Vec<String>,
    ) -> PyResult<Self> {
        let tuple = py.get_type::<PyTuple>();
        let tuple_new = tuple.getattr(intern!(py, "__new__"))?;
        let plain_tuple = match cls.cast::<PyType>() {
            Ok(t) if t.is_subclass(&tuple)? => unsafe {
                let tp = t.as_ptr() as *mut ffi::PyTypeObject;
                let base = std::ptr::addr_of_mut!(ffi::PyTuple_Type);
                (*tp).tp_basicsize == (*base).tp_basicsize
                    && (*tp).tp_itemsize == (*base).tp_itemsize
                    && (*tp).tp_dictoffset == 0
            },
            _ => false,
        };
        Ok(Make { cls, empty, tuple_new, plain_tuple, body, ignored: Ignored(ignored) })
    }

    fn build(&self, py: Python<'py>, ids: Option<Ids>) -> PyResult<Bound<'py, PyAny>> {
        let Some(ids) = ids else {
            return Ok(self.empty.clone());
        };
        let text = |t: Option<std::borrow::Cow<str>>| -> Bound<'py, PyAny> {
            match t {
                Some(t) => PyString::new(py, &t).into_any(),
                None => py.None().into_bound(py),
            }
        };
        let causes = PyTuple::new(py, ids.causation_ids.iter().map(|c| PyString::new(py, c)))?;
        let items = [
            text(ids.event_id),
            text(ids.correlation_id),
            causes.into_any(),
            text(ids.trace_id),
            text(ids.span_id),
            text(ids.parent_span_id),
            text(ids.service),
            text(ids.event_type),
            text(ids.source),
        ];
        if self.plain_tuple {
            return self.alloc(py, items);
        }
        self.tuple_new.call1((&self.cls, PyTuple::new(py, items)?))
    }

    /// An instance of `cls` (a tuple subclass with no fields of its own, as a named tuple
    /// is) holding `items`: what `tuple.__new__(cls, items)` makes, without the call.
    fn alloc<const N: usize>(
        &self,
        py: Python<'py>,
        items: [Bound<'py, PyAny>; N],
    ) -> PyResult<Bound<'py, PyAny>> {
        let tp = self.cls.as_ptr() as *mut ffi::PyTypeObject;
        unsafe {
            let alloc = (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc);
            let obj = alloc(tp, N as ffi::Py_ssize_t);
            if obj.is_null() {
                return Err(PyErr::fetch(py));
            }
            for (i, item) in items.into_iter().enumerate() {
                ffi::PyTuple_SET_ITEM(obj, i as ffi::Py_ssize_t, item.into_ptr());
            }
            Ok(Bound::from_owned_ptr(py, obj))
        }
    }
}

/// A record's headers as borrowed text and bytes; Defer for anything but `(str, bytes|None)`.
pub fn read_headers<'a>(headers: &'a Bound<'_, PyAny>) -> R<Vec<Header<'a>>> {
    let seq = if let Ok(t) = headers.cast::<PyTuple>() {
        t.as_slice()
    } else {
        return Err(Defer);
    };
    let mut out = Vec::with_capacity(seq.len());
    for item in seq {
        let Ok(pair) = item.cast::<PyTuple>() else {
            return Err(Defer);
        };
        let pair = pair.as_slice();
        if pair.len() != 2 {
            return Err(Defer);
        }
        let Ok(name) = pair[0].cast::<PyString>() else {
            return Err(Defer);
        };
        let name = name.to_str().map_err(|_| Defer)?;
        let raw = if pair[1].is_none() {
            None
        } else if let Ok(b) = pair[1].cast::<PyBytes>() {
            Some(b.as_bytes())
        } else {
            return Err(Defer);
        };
        out.push((name, raw));
    }
    Ok(out)
}

/// `decode._content_type(headers)` says JSON (for the other modules).
pub fn content_type_json_of(headers: &[Header]) -> bool {
    content_type_json(headers)
}

/// `decode._content_type(headers)` says JSON.
fn content_type_json(headers: &[Header]) -> bool {
    // (no other letter lower-cases to one of these names' ASCII letters)
    let named = |name: &str| {
        ["content-type", "contenttype", "ce_datacontenttype"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
    };
    for (name, raw) in headers {
        let Some(raw) = raw else { continue };
        if named(name) {
            return raw.windows(4).any(|w| w.eq_ignore_ascii_case(b"json"));
        }
    }
    false
}

/// `f()`, with a panic (a bug of this crate on some input) read as "leave it to Python":
/// the record is then read by the specification instead of ending the scan.
pub fn guarded<T>(f: impl FnOnce() -> R<T>) -> R<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Err(Defer))
}

/// The built-in extraction of one record; Err(Defer) when Python must do it.
fn compute<'a>(
    headers: &'a Bound<'_, PyAny>,
    value: &'a Bound<'_, PyAny>,
    decoded: bool,
    make: &Make,
) -> R<Option<Ids<'a>>> {
    let headers = read_headers(headers)?;
    let value: Option<&[u8]> = if value.is_none() {
        None
    } else {
        Some(value.cast::<PyBytes>().map_err(|_| Defer)?.as_bytes())
    };
    compute_read(&headers, value, make.body && !decoded, &make.ignored)
}

/// `compute` of headers and a value read already; `body`: the value may be read here (the
/// built-in decoder chain, and no decoded value cached by Python).
pub fn compute_read<'a>(
    headers: &[Header<'a>],
    value: Option<&'a [u8]>,
    body: bool,
    ignored: &Ignored,
) -> R<Option<Ids<'a>>> {
    compute_with(headers, value, body, ignored, None)
}

/// `compute_read` with the body's members read already (`ids::body_members`), if they are.
pub fn compute_with<'a>(
    headers: &[Header<'a>],
    value: Option<&'a [u8]>,
    body: bool,
    ignored: &Ignored,
    members: Option<&R<Option<Vec<json::Member<'a>>>>>,
) -> R<Option<Ids<'a>>> {
    let mut found = Found::new();
    let mut cloudevent = false;
    let needs_body = if headers.is_empty() {
        true
    } else {
        for (name, raw) in headers {
            ids::scan_header(name, *raw, &mut found, ignored)?;
        }
        cloudevent = ids::is_cloudevent(&found);
        ids::needs_body(&found, cloudevent)
    };
    if needs_body {
        if !body {
            return Err(Defer); // another decoder chain, or a value decoded already
        }
        let read;
        let members = match members {
            Some(m) => m.as_ref().map_err(|_| Defer)?,
            None => {
                read = ids::body_members(value, || Ok(content_type_json(headers)))?;
                &read
            }
        };
        if let Some(members) = members {
            ids::scan_body(value.unwrap_or_default(), members, cloudevent, &mut found, ignored)?;
        }
    }
    Ok(ids::finish(found))
}

/// The ids of one record by the built-in conventions, or None when Python must read it.
///
/// For the differential tests: `fill_ids` does this for every event of a batch.
#[pyfunction]
#[pyo3(signature = (headers, value, event_ids, empty, body=true, ignored=Vec::new()))]
fn extract<'py>(
    py: Python<'py>,
    headers: Bound<'py, PyAny>,
    value: Bound<'py, PyAny>,
    event_ids: Bound<'py, PyAny>,
    empty: Bound<'py, PyAny>,
    body: bool,
    ignored: Vec<String>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let make = Make::new(py, event_ids, empty, body, ignored)?;
    match guarded(|| compute(&headers, &value, false, &make)) {
        Ok(ids) => Ok(Some(make.build(py, ids)?)),
        Err(Defer) => Ok(None),
    }
}

/// Fill `_ids` of every event of `events` whose ids are not known yet and that the built-in
/// conventions read here exactly as Python does; the others keep computing them lazily.
/// Returns how many were filled.
#[pyfunction]
#[pyo3(signature = (events, event_ids, empty, body=true, ignored=Vec::new()))]
fn fill_ids<'py>(
    py: Python<'py>,
    events: Bound<'py, PyList>,
    event_ids: Bound<'py, PyAny>,
    empty: Bound<'py, PyAny>,
    body: bool,
    ignored: Vec<String>,
) -> PyResult<usize> {
    let make = Make::new(py, event_ids, empty, body, ignored)?;
    let (ids_name, headers_name) = (intern!(py, "_ids"), intern!(py, "headers"));
    let (value_name, decoded_name) = (intern!(py, "value"), intern!(py, "_decoded"));
    let mut filled = 0;
    for event in events.iter() {
        if !event.getattr(ids_name)?.is_none() {
            continue;
        }
        let headers = event.getattr(headers_name)?;
        let value = event.getattr(value_name)?;
        let decoded = !event.getattr(decoded_name)?.is_none();
        let Ok(ids) = guarded(|| compute(&headers, &value, decoded, &make)) else {
            continue;
        };
        let ids = make.build(py, ids)?;
        // Event.__setattr__ refuses every write: set the slot as object.__setattr__ does
        let status = unsafe {
            ffi::PyObject_GenericSetAttr(event.as_ptr(), ids_name.as_ptr(), ids.as_ptr())
        };
        if status != 0 {
            return Err(PyErr::take(py).unwrap_or_else(|| PyTypeError::new_err("cannot set _ids")));
        }
        filled += 1;
    }
    Ok(filled)
}

const TS_LABELS: [&str; 3] = ["NotAvailable", "CreateTime", "LogAppendTime"];

/// What one event's JSON line is written from: read with the GIL held, written without it.
struct Line<'a> {
    topic: &'a str,
    partition: i64,
    offset: i64,
    timestamp: i64,
    label: &'static str,
    key: Option<&'a [u8]>,
    headers: Vec<Header<'a>>,
    value: Option<&'a [u8]>,
}

/// An event's fields as Python objects (held while their bytes are borrowed).
struct LineObjects<'py> {
    topic: Bound<'py, PyAny>,
    ints: [i64; 3],
    label: &'static str,
    key: Bound<'py, PyAny>,
    headers: Bound<'py, PyAny>,
    value: Bound<'py, PyAny>,
}

fn line_objects<'py>(event: &Bound<'py, PyAny>, names: &LineNames) -> R<LineObjects<'py>> {
    let py = event.py();
    let get = |name: &Py<PyString>| event.getattr(name.bind(py)).map_err(|_| Defer);
    if !get(&names.decoded)?.is_none() {
        return Err(Defer); // decoded already (a filter did): Python shows what it decoded
    }
    let int = |name: &Py<PyString>| -> R<i64> { get(name)?.extract::<i64>().map_err(|_| Defer) };
    let label = usize::try_from(int(&names.timestamp_type)?)
        .ok()
        .and_then(|i| TS_LABELS.get(i))
        .ok_or(Defer)?;
    Ok(LineObjects {
        topic: get(&names.topic)?,
        ints: [int(&names.partition)?, int(&names.offset)?, int(&names.timestamp)?],
        label,
        key: get(&names.key)?,
        headers: get(&names.headers)?,
        value: get(&names.value)?,
    })
}

fn bytes_of<'a>(object: &'a Bound<'_, PyAny>) -> R<Option<&'a [u8]>> {
    if object.is_none() {
        return Ok(None);
    }
    Ok(Some(object.cast::<PyBytes>().map_err(|_| Defer)?.as_bytes()))
}

fn line<'a>(o: &'a LineObjects<'_>, body: bool) -> R<Line<'a>> {
    let topic = o.topic.cast::<PyString>().map_err(|_| Defer)?.to_str().map_err(|_| Defer)?;
    let value = bytes_of(&o.value)?;
    if !body && value.is_some_and(|v| !v.is_empty()) {
        return Err(Defer); // another decoder chain reads the value
    }
    let [partition, offset, timestamp] = o.ints;
    let (key, headers) = (bytes_of(&o.key)?, read_headers(&o.headers)?);
    Ok(Line { topic, partition, offset, timestamp, label: o.label, key, headers, value })
}

/// One event's `json_line` (not raw) appended to `out`, or Defer (`out` then as it was).
fn write_line(out: &mut String, l: &Line) -> R<()> {
    let start = out.len();
    let written = guarded(|| {
        out.push_str(r#"{"topic":"#);
        render::string(out, l.topic);
        let (partition, offset, timestamp, label) = (l.partition, l.offset, l.timestamp, l.label);
        out.push_str(&format!(
            r#","partition":{partition},"offset":{offset},"timestamp":{timestamp},"timestamp_type":"{label}","#
        ));
        render::key_members(out, l.key);
        out.push(',');
        render::headers_member(out, &l.headers);
        out.push(',');
        render::value_members(out, l.value, content_type_json(&l.headers))?;
        out.push('}');
        Ok(())
    });
    if written.is_err() {
        out.truncate(start);
    }
    written
}

struct LineNames {
    topic: Py<PyString>,
    partition: Py<PyString>,
    offset: Py<PyString>,
    timestamp: Py<PyString>,
    timestamp_type: Py<PyString>,
    key: Py<PyString>,
    value: Py<PyString>,
    headers: Py<PyString>,
    decoded: Py<PyString>,
}

impl LineNames {
    fn new(py: Python<'_>) -> Self {
        let n = |s: &str| PyString::intern(py, s).unbind();
        LineNames {
            topic: n("topic"),
            partition: n("partition"),
            offset: n("offset"),
            timestamp: n("timestamp"),
            timestamp_type: n("timestamp_type"),
            key: n("key"),
            value: n("value"),
            headers: n("headers"),
            decoded: n("_decoded"),
        }
    }
}

/// `core.output.json_line(event)` of every event, or None where Python must write it.
#[pyfunction]
#[pyo3(signature = (events, body=true))]
fn json_lines<'py>(
    py: Python<'py>,
    events: Bound<'py, PyList>,
    body: bool,
) -> PyResult<Bound<'py, PyList>> {
    let names = LineNames::new(py);
    let out = PyList::empty(py);
    for event in events.iter() {
        let mut text = String::new();
        let written = line_objects(&event, &names)
            .and_then(|o| line(&o, body).and_then(|l| write_line(&mut text, &l)));
        match written {
            Ok(()) => out.append(PyString::new(py, &text))?,
            Err(Defer) => out.append(py.None())?,
        }
    }
    Ok(out)
}

/// `"\n".join(json_lines(events))`, or None where Python must write one of them. The
/// fields are read with the GIL held, the text written without it (a reader thread reads
/// on meanwhile).
#[pyfunction]
#[pyo3(signature = (events, body=true))]
fn json_text(py: Python<'_>, events: Bound<'_, PyList>, body: bool) -> Option<String> {
    let names = LineNames::new(py);
    let objects: R<Vec<LineObjects>> = events.iter().map(|e| line_objects(&e, &names)).collect();
    let objects = objects.ok()?;
    let lines: R<Vec<Line>> = objects.iter().map(|o| line(o, body)).collect();
    let lines = lines.ok()?;
    let size: usize = lines.iter().map(|l| 160 + l.value.map_or(0, <[u8]>::len) * 2).sum();
    py.detach(|| {
        let mut out = String::with_capacity(size);
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            write_line(&mut out, l).ok()?;
        }
        Some(out)
    })
}

/// `TraceCollector.offer` of `events[start:]` until one joins: (its index or the length,
/// the indexes whose ids hit the prefix `starts`, events dropped from `held`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn collector_scan<'py>(
    events: Bound<'py, PyList>,
    start: usize,
    keys: Bound<'py, PyAny>,
    wanted: Bound<'py, PyString>,
    ids: Bound<'py, PySet>,
    causes: Bound<'py, PySet>,
    spans: Bound<'py, PySet>,
    parents: Bound<'py, PySet>,
    starts: Option<Bound<'py, PyTuple>>,
    held: Bound<'py, PyAny>,
    max_pending: usize,
) -> PyResult<(usize, Vec<usize>, usize)> {
    let sets = collect::Sets { keys, wanted, ids, causes, spans, parents };
    let done = collect::scan(&events, start, &sets, starts.as_ref(), &held, max_pending)?;
    Ok((done.stop, done.hits, done.dropped))
}

/// Leave Schema Registry wire-format values to Python (a plugin decodes them) or not.
#[pyfunction]
fn set_wire_to_python(on: bool) {
    json::set_wire_to_python(on);
}

/// Take the events of `events` whose type is exactly `event_type`, and their ids of type
/// exactly `ids_type`, off the cyclic garbage collector's lists; returns how many objects.
///
/// A console keeps a window of hundreds of thousands of events. None of them can be part
/// of a reference cycle (an event holds text, numbers, bytes, tuples of them and its decoded
/// value, which refers to nothing of its own), so reference counting frees each as it is
/// evicted; but CPython's full collection walks every tracked object and took 0.3-6 s over a
/// full 200,000-event window (bench/soak). Untracked, they are never walked. Only those two
/// exact types are touched: anything a subclass or a plugin adds keeps the usual care.
#[pyfunction]
fn untrack(
    py: Python<'_>,
    events: Bound<'_, PyList>,
    event_type: Bound<'_, PyType>,
    ids_type: Bound<'_, PyType>,
) -> usize {
    let ids_name = intern!(py, "_ids");
    let mut untracked = 0;
    for event in events.iter() {
        if !event.get_type().is(&event_type) {
            continue;
        }
        untracked += usize::from(untrack_one(&event));
        if let Ok(ids) = event.getattr(ids_name) {
            if ids.get_type().is(&ids_type) {
                untracked += usize::from(untrack_one(&ids));
            }
        }
    }
    untracked
}

/// Take one list (a window's ring of events) off the collector's lists: a full collection
/// would otherwise visit every slot of it. True if it was tracked.
#[pyfunction]
fn untrack_list(ring: Bound<'_, PyList>) -> bool {
    untrack_one(ring.as_any())
}

/// Take the objects of exactly type `kind` in `objects` off the collector's lists (the
/// caller's promise: an object of that type refers to nothing that refers back to it).
/// Returns how many were untracked.
#[pyfunction]
fn untrack_exact(objects: Bound<'_, PyList>, kind: Bound<'_, PyType>) -> usize {
    objects
        .iter()
        .filter(|obj| obj.get_type().is(&kind))
        .map(|obj| usize::from(untrack_one(&obj)))
        .sum()
}

fn untrack_one(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: the GIL is held (`obj` is bound) and the object is alive; untracking a
    // tracked GC object is what its own deallocator does, and it checks first.
    unsafe {
        if ffi::PyObject_GC_IsTracked(obj.as_ptr()) == 1 {
            ffi::PyObject_GC_UnTrack(obj.as_ptr().cast());
            return true;
        }
    }
    false
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(extract, m)?)?;
    m.add_function(wrap_pyfunction!(set_wire_to_python, m)?)?;
    m.add_function(wrap_pyfunction!(fill_ids, m)?)?;
    m.add_function(wrap_pyfunction!(json_lines, m)?)?;
    m.add_function(wrap_pyfunction!(json_text, m)?)?;
    m.add_function(wrap_pyfunction!(collector_scan, m)?)?;
    m.add_function(wrap_pyfunction!(untrack, m)?)?;
    m.add_function(wrap_pyfunction!(untrack_list, m)?)?;
    m.add_function(wrap_pyfunction!(untrack_exact, m)?)?;
    m.add_class::<checker::Checks>()?;
    m.add_class::<flow::Flow>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
