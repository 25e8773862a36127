//! The trace collector's hot path (`TraceCollector.offer`), over a whole batch.
//!
//! The specification is `core/trace_collect.py`: an event joins when its correlation or
//! trace id is a wanted key or it links to a member; otherwise ids that start with
//! the wanted prefix are gathered, and an event that may still link to a later
//! member is held (as `(ids, topic, partition, offset, timestamp, timestamp_type,
//! key)`). The member sets stay the Python collector's: this reads them, and stops
//! at the first event that joins so that Python admits it (which grows the sets)
//! before the scan goes on.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PySet, PyString, PyTuple};

/// The collector's sets and settings, as `TraceCollector` holds them.
pub struct Sets<'py> {
    pub keys: Bound<'py, PyAny>,
    pub wanted: Bound<'py, PyString>,
    pub ids: Bound<'py, PySet>,
    pub causes: Bound<'py, PySet>,
    pub spans: Bound<'py, PySet>,
    pub parents: Bound<'py, PySet>,
}

fn item<'py>(ids: &Bound<'py, PyTuple>, i: usize) -> PyResult<Bound<'py, PyAny>> {
    ids.get_item(i)
}

fn some(v: &Bound<'_, PyAny>) -> bool {
    !v.is_none()
}

/// `bool(v)` for a str or None.
fn truthy(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    v.is_truthy()
}

fn pair_in(set: &Bound<'_, PySet>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    if set.is_empty() {
        return Ok(false);
    }
    set.contains(PyTuple::new(set.py(), [a, b])?)
}

/// `ids.correlation_id in keys or ids.trace_id in keys or self._linked(ids)`.
pub fn joins(ids: &Bound<'_, PyTuple>, s: &Sets) -> PyResult<bool> {
    let (eid, corr, causes, trace) = (item(ids, 0)?, item(ids, 1)?, item(ids, 2)?, item(ids, 3)?);
    if s.keys.contains(&corr)? || s.keys.contains(&trace)? {
        return Ok(true);
    }
    if some(&eid) && (eid.eq(&s.wanted)? || (!s.causes.is_empty() && s.causes.contains(&eid)?)) {
        return Ok(true);
    }
    let causes = causes.cast_into::<PyTuple>()?;
    if !causes.is_empty() && !s.ids.is_empty() {
        for cause in causes.iter() {
            if s.ids.contains(&cause)? {
                return Ok(true);
            }
        }
    }
    if !some(&trace) {
        return Ok(false);
    }
    let (span, parent) = (item(ids, 4)?, item(ids, 5)?);
    Ok((some(&parent) && pair_in(&s.spans, &trace, &parent)?)
        || (some(&span) && pair_in(&s.parents, &trace, &span)?))
}

/// `_gather`'s cheap test: an id of the event starts with one of `starts`.
fn hits(
    ids: &Bound<'_, PyTuple>,
    starts: &Option<Vec<String>>,
    tuple: &Bound<'_, PyTuple>,
) -> PyResult<bool> {
    let starts_with = |v: &Bound<'_, PyAny>| -> PyResult<bool> {
        let Ok(text) = v.cast::<PyString>() else {
            return Ok(false);
        };
        match (text.to_str(), starts) {
            (Ok(text), Some(starts)) => Ok(starts.iter().any(|s| text.starts_with(s.as_str()))),
            // not UTF-8 (a lone surrogate): as Python compares it
            _ => text.call_method1(intern!(v.py(), "startswith"), (tuple,))?.is_truthy(),
        }
    };
    if starts_with(&item(ids, 0)?)? || starts_with(&item(ids, 1)?)? || starts_with(&item(ids, 3)?)?
    {
        return Ok(true);
    }
    for cause in item(ids, 2)?.cast_into::<PyTuple>()?.iter() {
        if starts_with(&cause)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The event may link to a later member: it has an event id, causes, or a span.
fn holdable(ids: &Bound<'_, PyTuple>) -> PyResult<bool> {
    if some(&item(ids, 0)?) || truthy(&item(ids, 2)?)? {
        return Ok(true);
    }
    Ok(truthy(&item(ids, 3)?)? && (truthy(&item(ids, 4)?)? || truthy(&item(ids, 5)?)?))
}

/// What a scan of a batch from `start` did: where it stopped (the index of the event that
/// joins, or the batch's length), the indexes whose ids hit the prefix, events dropped.
pub struct Scanned {
    pub stop: usize,
    pub hits: Vec<usize>,
    pub dropped: usize,
}

#[allow(clippy::too_many_arguments)]
pub fn scan<'py>(
    events: &Bound<'py, PyList>,
    start: usize,
    sets: &Sets<'py>,
    starts: Option<&Bound<'py, PyTuple>>,
    held: &Bound<'py, PyAny>,
    max_pending: usize,
) -> PyResult<Scanned> {
    let py = events.py();
    let mut out = Scanned { stop: events.len(), hits: Vec::new(), dropped: 0 };
    let (ids_name, ids_prop) = (intern!(py, "_ids"), intern!(py, "ids"));
    let mut held_len = held.len()?;
    // the prefixes as Rust text (None when one is not UTF-8: Python compares then)
    let wanted_starts = starts
        .map(|t| (t.iter().map(|s| s.extract::<String>()).collect::<PyResult<Vec<_>>>().ok(), t));
    for i in start..events.len() {
        let event = events.get_item(i)?;
        let mut ids = event.getattr(ids_name)?;
        if ids.is_none() {
            ids = event.getattr(ids_prop)?; // extracted by Python (and reported there)
        }
        let ids = ids.cast_into::<PyTuple>()?;
        if joins(&ids, sets)? {
            out.stop = i;
            return Ok(out);
        }
        if let Some((starts, tuple)) = &wanted_starts {
            if hits(&ids, starts, tuple)? {
                out.hits.push(i);
            }
        }
        if holdable(&ids)? {
            if held_len >= max_pending {
                held.call_method0(intern!(py, "popleft"))?;
                out.dropped += 1;
                held_len -= 1;
            }
            let entry = PyTuple::new(
                py,
                [
                    ids.into_any(),
                    event.getattr(intern!(py, "topic"))?,
                    event.getattr(intern!(py, "partition"))?,
                    event.getattr(intern!(py, "offset"))?,
                    event.getattr(intern!(py, "timestamp"))?,
                    event.getattr(intern!(py, "timestamp_type"))?,
                    event.getattr(intern!(py, "key"))?,
                ],
            )?;
            held.call_method1(intern!(py, "append"), (entry,))?;
            held_len += 1;
        }
    }
    Ok(out)
}
