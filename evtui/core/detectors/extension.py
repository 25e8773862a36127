"""The extension's side of the checks seen as the Python detectors: its findings
as :class:`Finding` s, the fields it asks of records it does not read itself,
and views of its state shaped as :class:`SequenceChecks` and :class:`CausalDetector`
(what callers read of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from evtui.core.detectors.causes import CausalDetector
from evtui.core.detectors.common import INFO, WARNING, Finding, field_spec, read_field
from evtui.core.detectors.sequence_checks import SequenceChecks
from evtui.core.detectors.sequences import as_producer, as_sequence
from evtui.core.event import Event


def native_findings(found: list[tuple]) -> Iterator[Finding]:
    """The extension's findings (each with its event's index first) as :class:`Finding` s."""
    for _, kind, topic, partition, offset, key, refs, *texts in found:
        severity = INFO if kind == "offset_gap" else WARNING
        yield Finding(kind, severity, topic, partition, offset, key, tuple(refs), *texts)


def sequence_fields(groups: list[tuple[str, ...]], producers: tuple[str, ...]) -> Any:
    """What the extension asks of a record it does not read itself: each group's sequence
    (as :class:`SequenceDetector` reads it) and the producer."""
    specs = [field_spec(g) for g in groups]
    producer_spec = field_spec(producers) if producers else None

    def read(event: Event) -> tuple[tuple[int | None, ...], str | None]:
        seqs = tuple(as_sequence(read_field(event, spec)) for spec in specs)
        if producer_spec is None:
            return seqs, None
        return seqs, as_producer(read_field(event, producer_spec))

    return read


class _Bound(NamedTuple):
    limit: int
    evicted: int


class NativeSequences:
    """:class:`SequenceChecks`' view of the extension's state (what callers read of it)."""

    def __init__(self, state: Any, spec: SequenceChecks) -> None:
        self._state, self.learn = state, spec.learn
        self._limit = spec.keys.limit

    @property
    def keys(self) -> _Bound:
        return _Bound(self._limit, self._state.counters()["sequences_evicted"])

    @property
    def compacted_jumps(self) -> int:
        return self._state.counters()["compacted_jumps"]

    @property
    def held_over(self) -> int:
        return self._state.counters()["held_over"]

    def fields(self) -> dict[str, str | None]:
        return self._state.fields() if self.learn else {}

    def carry(self, other: NativeSequences) -> None:
        self._state.carry_sequences(other._state)


class _NativeWatermark:
    def __init__(self, state: Any) -> None:
        self._state = state

    def value(self) -> int | None:
        return self._state.watermark()


class NativeCauses:
    """:class:`CausalDetector`'s view of the extension's state (what callers read of it)."""

    def __init__(self, state: Any, spec: CausalDetector) -> None:
        self._state, self._limit = state, spec.known.limit
        self.mark = _NativeWatermark(state)

    def __getattr__(self, name: str) -> int:
        if name in ("outside", "unjudged", "forgotten", "compacted_away", "not_read", "dropped"):
            return self._state.counters()[name]
        raise AttributeError(name)

    @property
    def known(self) -> _Bound:
        return _Bound(self._limit, self._state.counters()["known_evicted"])

    def carry(self, other: NativeCauses) -> None:
        self._state.carry_causes(other._state)
