"""Findings about schemas: ``schema_regression`` and ``schema_unknown``.

``schema_regression``: a record written with an older version of a subject after a
newer version was already in use on that topic (a producer that was not
upgraded). "Already in use" is judged on record time, not read order: a
partition read late must not make an old record look new. A newer version counts
as in use from its first record's time plus ``grace_ms`` (a rolling upgrade
writes both for a moment). Reported once per topic, subject, old version and
producer. Only versions of one subject are compared, and only for schema ids
the registry names one subject for: a topic holding several event types
(a subject each) never compares across them.

``schema_unknown``: a wire-format value whose schema id the registry does not
have (it answered 404), once per topic and id. A registry that is unreachable,
or refuses the credentials, is a decode problem of the records, not a finding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from evtui.core.event import Event
from evtui.core.ordering import WARNING, Finding, key_text

from . import KINDS  # noqa: F401 (the kinds this module finds)
from .decoder import NAME
from .store import Failure, SchemaStore
from .wire import frame

GRACE_MS = int(os.environ.get("EVTUI_SCHEMA_GRACE_MS", "30000"))
MAX_SUBJECTS = 10_000  # (topic, subject) pairs followed; past it, new ones are not


@dataclass
class _Seen:
    """One version of one subject on one topic: its first and latest record."""

    first_ts: int
    last_ts: int
    last: Event
    producer: str | None


@dataclass
class EvolutionDetector:
    store: SchemaStore | None
    grace_ms: int = GRACE_MS
    versions: dict[tuple[str, str], dict[int, _Seen]] = field(default_factory=dict)
    reported: set[tuple] = field(default_factory=set)
    skipped: int = 0

    def offer(self, event: Event) -> list[Finding]:
        data = event.value
        if not data or data[0] > 1:
            return []
        decoded = event.peek_decoded()
        if decoded.decoder != NAME and decoded.schema is None:
            return []
        if decoded.error is not None:
            return self._unknown(event)
        schema = decoded.schema
        if schema is None or schema.subject is None or schema.version is None:
            return []
        return self._version(event, schema.subject, schema.version, decoded.schema_id)

    def finish(self) -> list[Finding]:
        return []

    def _unknown(self, event: Event) -> list[Finding]:
        found = frame(event.value or b"")
        if found is None or self.store is None:
            return []
        known = self.store.cached(found.key)
        if not (isinstance(known, Failure) and known.unknown):
            return []  # unreachable, refused, or a value that does not decode: not this
        mark = ("unknown", event.topic, found.key)
        if mark in self.reported:
            return []
        self.reported.add(mark)
        return [
            Finding(
                "schema_unknown", WARNING, event.topic, event.partition, event.offset,
                key_text(event), (event.ref,), f"{found.label()} in the registry",
                f"{found.label()}: the registry has no such schema",
                f"A record on {event.topic} names {found.label()}, which the registry "
                f"at {self.store.url} does not have (HTTP 404): it was deleted, or the "
                "producer wrote through another registry. Its value cannot be decoded.",
            )
        ]  # fmt: skip

    def _version(
        self, event: Event, subject: str, version: int, schema_id: int | None
    ) -> list[Finding]:
        seen = self.versions.get((event.topic, subject))
        if seen is None:
            if len(self.versions) >= MAX_SUBJECTS:
                self.skipped += 1
                return []
            seen = self.versions[(event.topic, subject)] = {}
        ts = event.timestamp
        producer = _producer(event)
        mine = seen.get(version)
        first_of_version = mine is None or ts < mine.first_ts
        if mine is None:
            mine = seen[version] = _Seen(ts, ts, event.identity(), producer)
        else:
            mine.first_ts = min(mine.first_ts, ts)
            if ts >= mine.last_ts:
                mine.last_ts, mine.last, mine.producer = ts, event.identity(), producer
        found = []
        for newer, other in seen.items():  # this record is older than a version in use
            if newer > version and ts > other.first_ts + self.grace_ms:
                found += self._regression(event, subject, version, newer, other, producer)
                break
        if first_of_version:  # records of older versions read before, written after this
            for older, other in seen.items():
                if older < version and other.last_ts > ts + self.grace_ms:
                    found += self._regression(
                        other.last, subject, older, version, mine, other.producer
                    )
        return found

    def _regression(
        self,
        event: Event,
        subject: str,
        version: int,
        newer: int,
        newer_seen: _Seen,
        producer: str | None,
    ) -> list[Finding]:
        mark = ("regression", event.topic, subject, version, producer)
        if mark in self.reported:
            return []
        self.reported.add(mark)
        since = _iso(newer_seen.first_ts)
        by = f" by {producer}" if producer else ""
        return [
            Finding(
                "schema_regression", WARNING, event.topic, event.partition, event.offset,
                key_text(event), (event.ref, newer_seen.last.ref),
                f"{subject} v{newer} or newer (in use since {since})",
                f"{subject} v{version}{by}",
                f"A record on {event.topic} was written{by} with {subject} v{version} at "
                f"{_iso(event.timestamp)}, after v{newer} was in use on the topic (since "
                f"{since}, {newer_seen.last.ref}): a producer that was not upgraded.",
            )
        ]  # fmt: skip


def _producer(event: Event) -> str | None:
    ids = event.ids
    return ids.service or ids.source


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
