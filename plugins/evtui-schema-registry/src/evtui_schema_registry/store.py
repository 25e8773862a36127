"""Schemas fetched from the registry: cached (bounded), failures remembered, never a stall.

A lookup that misses asks the registry once; what it learns is kept:
- a schema (its reader, subject and version): in a bounded LRU;
- an id the registry does not have: "unknown" for ``unknown_ttl_s``;
- the registry unreachable, or refusing the credentials: every lookup that misses
  fails at once with that reason for ``retry_s``, then one asks again.
So a registry that is down costs one timeout per ``retry_s``, not one per record.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from evtui.core.decode import SchemaInfo

from .formats import AVRO, JSON, PROTOBUF, Reader, avro_reader, json_reader, protobuf_reader
from .proto import ProtoError, ProtoSchema

MAX_REFERENCE_DEPTH = 32


@dataclass(frozen=True)
class Entry:
    """A schema ready to read values with."""

    info: SchemaInfo
    read: Reader


@dataclass(frozen=True)
class Failure:
    """Why a schema cannot be had; ``unknown``: the registry says it has no such schema."""

    reason: str
    unknown: bool = False


_mocks: dict[str, Any] = {}


def new_client(conf: dict[str, Any]) -> Any:
    """A registry client; ``mock://NAME`` is confluent-kafka's in-memory registry, one per
    NAME in this process (the in-process demo writes through it, the decoder reads)."""
    url = conf["url"]
    if url.startswith("mock://"):
        if url not in _mocks:
            _mocks[url] = SchemaRegistryClient.new_client({"url": url})
        return _mocks[url]
    return SchemaRegistryClient(conf)


class LookupFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class SchemaStore:
    def __init__(
        self,
        conf: dict[str, str],
        *,
        scrub: Callable[[str], str] = lambda s: s,
        max_schemas: int = 1000,
        unknown_ttl_s: float = 300.0,
        retry_s: float = 10.0,
        timeout_s: float = 5.0,
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = conf["url"]
        conf = {**conf, "timeout": timeout_s, "max.retries": 0, "cache.capacity": max_schemas}
        self.client = client if client is not None else new_client(conf)
        self.scrub = scrub
        self.max_schemas = max_schemas
        self.unknown_ttl_s = unknown_ttl_s
        self.retry_s = retry_s
        self.clock = clock
        self._entries: OrderedDict[int | str, Entry | tuple[Failure, float]] = OrderedDict()
        self._down: tuple[Failure, float] | None = None  # the registry's trouble, until when
        self._lock = threading.Lock()  # the cache only: held for a moment, never over a fetch
        self._fetching = threading.Lock()  # one fetch at a time
        self.fetches = 0
        self.evicted = 0

    # -- lookups ----------------------------------------------------------------------------

    def cached(self, key: int | str) -> Entry | Failure | None:
        """What is known of ``key`` without asking the registry (None: nothing yet)."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if isinstance(found, Entry):
                self._entries.move_to_end(key)
                return found
            failure, until = found
            if self.clock() >= until:
                del self._entries[key]
                return None
            return failure

    def lookup(self, key: int | str) -> Entry:
        """The schema of ``key`` (an id, or ``guid:...``); raises :class:`LookupFailed`."""
        found = self.cached(key)
        if isinstance(found, Entry):
            return found
        if isinstance(found, Failure):
            raise LookupFailed(found)
        with self._fetching:  # one fetch at a time: a second asker finds it cached after
            found = self.cached(key)
            if isinstance(found, Entry):
                return found
            if isinstance(found, Failure):
                raise LookupFailed(found)
            down = self._down
            if down is not None and self.clock() < down[1]:
                left = down[1] - self.clock()
                raise LookupFailed(Failure(f"{down[0].reason} (asking again in {left:.0f} s)"))
            return self._fetch(key)

    def _fetch(self, key: int | str) -> Entry:
        self.fetches += 1
        try:
            entry = self._build(key)
        except SchemaRegistryError as exc:
            failure = self._registry_failure(key, exc)
        except ProtoError as exc:
            failure = Failure(f"its Protobuf schema does not compile: {exc}")
            self._remember(key, (failure, self.clock() + self.unknown_ttl_s))
            raise LookupFailed(failure) from None
        except (ValueError, KeyError, TypeError) as exc:  # a schema fastavro or json refuses
            failure = Failure(f"its schema cannot be read: {type(exc).__name__}: {exc}"[:300])
            self._remember(key, (failure, self.clock() + self.unknown_ttl_s))
            raise LookupFailed(failure) from None
        except Exception as exc:  # the network: refused, timed out, TLS, DNS
            failure = Failure(f"registry unreachable at {self.url}: {_short(exc)}")
            failure = Failure(self.scrub(failure.reason))
            self._down = (failure, self.clock() + self.retry_s)
            raise LookupFailed(failure) from None
        else:
            self._down = None
            self._remember(key, entry)
            return entry
        raise LookupFailed(failure)

    def _registry_failure(self, key: int | str, exc: SchemaRegistryError) -> Failure:
        status = exc.http_status_code
        if status == 404:
            failure = Failure("the registry has no such schema", unknown=True)
            self._remember(key, (failure, self.clock() + self.unknown_ttl_s))
        elif status in (401, 403):
            what = "refused the credentials" if status == 401 else "denied access"
            failure = Failure(f"the registry {what} (HTTP {status})")
            self._down = (failure, self.clock() + self.retry_s)
        else:
            message = self.scrub(str(exc.error_message))[:200]
            failure = Failure(f"the registry answered HTTP {status}: {message}")
            self._down = (failure, self.clock() + self.retry_s)
        return failure

    def _remember(self, key: int | str, value: Entry | tuple[Failure, float]) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_schemas:
                self._entries.popitem(last=False)
                self.evicted += 1

    # -- building a schema ------------------------------------------------------------------

    def _build(self, key: int | str) -> Entry:
        if isinstance(key, str):
            schema = self.client.get_schema_by_guid(key.removeprefix("guid:"))
            subject = version = None
        else:
            schema = self.client.get_schema(key)
            subject, version = self._subject_version(key)
        kind = (schema.schema_type or AVRO).upper()
        text = schema.schema_str or ""
        if kind == AVRO:
            named: dict[str, Any] = {}
            self._avro_references(schema.references or [], named, 0)
            read = avro_reader(text, named)
        elif kind == PROTOBUF:
            imports: dict[str, str] = {}
            self._proto_references(schema.references or [], imports, 0)
            read = protobuf_reader(ProtoSchema(text, imports))
        elif kind == JSON:
            read = json_reader()
        else:
            raise ValueError(f"schema type {kind} is not one evtui reads")
        return Entry(SchemaInfo(kind, subject, version, text), read)

    def _subject_version(self, schema_id: int) -> tuple[str | None, int | None]:
        """The one subject and version the id is registered as (None, None when not one)."""
        if self.url.startswith("mock://"):  # the in-memory registry has no such call
            found = self._scan_subjects(schema_id)
        else:
            try:
                pairs = self.client.get_schema_versions(schema_id)
            except SchemaRegistryError:
                return None, None
            found = {(p.subject, p.version) for p in pairs if p.subject is not None}
        if len(found) != 1:
            return None, None
        subject, version = found.pop()
        return subject, int(version) if version is not None else None

    def _scan_subjects(self, schema_id: int) -> set[tuple[str, int]]:
        found = set()
        for subject in self.client.get_subjects():
            for version in self.client.get_versions(subject):
                if self.client.get_version(subject, version).schema_id == schema_id:
                    found.add((subject, version))
        return found

    def _referenced(self, ref: Any, depth: int) -> Any:
        if depth > MAX_REFERENCE_DEPTH:
            raise ValueError(f"references nested deeper than {MAX_REFERENCE_DEPTH}")
        return self.client.get_version(ref.subject, ref.version).schema

    def _avro_references(self, refs: list, named: dict[str, Any], depth: int) -> None:
        import json

        import fastavro

        for ref in refs:
            if ref.name in named:
                continue
            schema = self._referenced(ref, depth)
            self._avro_references(schema.references or [], named, depth + 1)
            fastavro.parse_schema(json.loads(schema.schema_str), named_schemas=named)

    def _proto_references(self, refs: list, imports: dict[str, str], depth: int) -> None:
        for ref in refs:
            if ref.name in imports:
                continue
            schema = self._referenced(ref, depth)
            imports[ref.name] = schema.schema_str or ""
            self._proto_references(schema.references or [], imports, depth + 1)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__
