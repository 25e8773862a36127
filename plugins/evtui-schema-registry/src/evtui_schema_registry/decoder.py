"""The decoder: wire-format values read through the registry's schemas."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence

from evtui.core.decode import JSON, SCHEMA_REGISTRY, Decoded, may_block

from .formats import DECODER_NAMES
from .store import Entry, Failure, LookupFailed, SchemaStore
from .wire import Frame, frame

NAME = "schema-registry"


class RegistryDecoder:
    """Claims Confluent wire-format values (magic 0 + id, magic 1 + GUID).

    A decoded value is JSON-like and has format ``json``, so tail, filters, ids,
    traces, checks and the flow read it as any JSON value; ``schema_id`` and
    ``schema`` say what it was written with. A value it cannot read keeps its
    bytes, with one problem naming the schema id and the reason.
    """

    name = NAME
    wire_format_only = True

    def __init__(self, store: SchemaStore | None) -> None:
        self.store = store
        self._asking: set[int | str] = set()
        self._asking_lock = threading.Lock()

    def prepare(self, values: Sequence[bytes | None]) -> None:
        """Fetch the schemas of a batch's values (called in a source's reader thread)."""
        store = self.store
        if store is None:
            return
        keys = {}
        for data in values:
            if data and data[0] <= 1:
                found = frame(data)
                if found is not None:
                    keys[found.key] = None
        for key in keys:
            if store.cached(key) is None:
                with contextlib.suppress(LookupFailed):  # remembered: decoding says why
                    store.lookup(key)

    def decode(self, data: bytes, headers: object) -> Decoded | None:
        store = self.store
        if store is None or data[0] > 1:
            return None
        found = frame(data)
        if found is None:
            return None
        entry = store.cached(found.key)
        if entry is None:
            entry = self._fetch(found)
        if isinstance(entry, Failure):
            if found.guid is not None and entry.unknown:
                return None  # magic 1 that no schema claims: maybe just bytes beginning 0x01
            return _failed(data, found, entry.reason)
        try:
            value, message = entry.read(data, found.body_at)
        except Exception as exc:
            reason = f"{_where(entry)}: the value does not decode: {type(exc).__name__}: {exc}"
            return _failed(data, found, reason[:300])
        info = entry.info if message is None else entry.info._replace(message=message)
        return Decoded(JSON, value, DECODER_NAMES[info.schema_type], found.schema_id, None, info)

    def _fetch(self, found: Frame) -> Entry | Failure:
        store = self.store
        assert store is not None
        if not may_block():  # the console's thread: ask in the background, say so now
            self._ask_later(found.key)
            return Failure("its schema is being fetched from the registry")
        try:
            return store.lookup(found.key)
        except LookupFailed as exc:
            return exc.failure

    def _ask_later(self, key: int | str) -> None:
        with self._asking_lock:
            if key in self._asking:
                return
            self._asking.add(key)

        def ask() -> None:
            try:
                self.store.lookup(key)  # type: ignore[union-attr]
            except LookupFailed:
                pass
            finally:
                with self._asking_lock:
                    self._asking.discard(key)

        threading.Thread(target=ask, name="evtui-schema-fetch", daemon=True).start()


def _where(entry: Entry) -> str:
    return entry.info.describe()


def _failed(data: bytes, found: Frame, reason: str) -> Decoded:
    return Decoded(
        SCHEMA_REGISTRY,
        bytes(data[found.body_at :]),
        NAME,
        schema_id=found.schema_id,
        error=f"{found.label()}: {reason}",
    )
