"""What the simulator emits and what it knows it did (the ground truth)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

Headers = tuple[tuple[str, bytes], ...]

FAULT_KINDS = ("out_of_order", "duplicate", "orphan", "cause_after_effect", "time_backwards")


@dataclass(frozen=True)
class TopicNames:
    orders: str = "orders"
    payments: str = "payments"
    inventory: str = "inventory"
    shipments: str = "shipments"
    notifications: str = "notifications"

    def all(self) -> list[str]:
        return [self.orders, self.payments, self.inventory, self.shipments, self.notifications]


@dataclass(frozen=True)
class FaultRates:
    """Probability per opportunity of each injected fault (all on, low, by default)."""

    out_of_order: float = 0.02
    duplicate: float = 0.01
    orphan: float = 0.01
    cause_after_effect: float = 0.01
    time_backwards: float = 0.01

    @classmethod
    def none(cls) -> FaultRates:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class SimRecord:
    """One record to produce, at ``at_ms`` on the simulation's own timeline."""

    at_ms: int
    topic: str
    key: bytes
    value: bytes
    headers: Headers
    event_id: str
    event_type: str
    service: str
    correlation_id: str
    causation_id: str | None
    event_time_ms: int  # the time the event itself claims (may run backwards: a fault)
    sequence: int | None = None  # per-key sequence, where the service keeps one


@dataclass(frozen=True)
class Fault:
    kind: str
    topic: str
    key: str
    event_ids: tuple[str, ...]
    detail: str


class FaultTally(list):  # type: ignore[type-arg]
    """Where a run that keeps no truth puts its faults: counted by kind, not kept."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: Counter[str] = Counter()

    def append(self, fault: Fault) -> None:  # type: ignore[override]
        self.kinds[fault.kind] += 1

    def extend(self, faults: Iterable[Fault]) -> None:  # type: ignore[override]
        for fault in faults:
            self.append(fault)


@dataclass
class GroundTruth:
    """Everything the simulator emitted and injected, for exact checks.

    With ``kept`` False (a long `evtui demo` without --truth: 5,000 records/s would
    keep gigabytes within minutes), only counts are kept: ``emitted``, ``flow_count``
    and the faults by kind; ``events`` and ``flows`` stay empty.
    """

    events: dict[str, SimRecord] = field(default_factory=dict)  # by event id (first emission)
    flows: dict[str, list[str]] = field(default_factory=dict)  # correlation id -> event ids
    faults: list[Fault] = field(default_factory=list)
    emitted: int = 0  # records emitted, duplicates included
    run_id: str = ""  # the namespace of the run's ids and keys ("" for none)
    kept: bool = True
    flow_count: int = 0  # flows whose first event was emitted (when not kept)

    def __post_init__(self) -> None:
        if not self.kept:
            self.faults = FaultTally()

    @property
    def flows_emitted(self) -> int:
        return len(self.flows) if self.kept else self.flow_count

    def fault_kinds(self) -> Counter[str]:
        """How many faults of each kind were injected."""
        if isinstance(self.faults, FaultTally):
            return Counter(self.faults.kinds)
        return Counter(f.kind for f in self.faults)

    def to_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "emitted": self.emitted,
            "flows": self.flows,
            "events": {
                eid: {
                    "topic": r.topic,
                    "key": r.key.decode(),
                    "type": r.event_type,
                    "service": r.service,
                    "correlation_id": r.correlation_id,
                    "causation_id": r.causation_id,
                    "sequence": r.sequence,
                }
                for eid, r in self.events.items()
            },
            "faults": [
                {
                    "kind": f.kind,
                    "topic": f.topic,
                    "key": f.key,
                    "event_ids": list(f.event_ids),
                    "detail": f.detail,
                }
                for f in self.faults
            ],
        }


@dataclass(frozen=True)
class GroupSpec:
    """A service's consumer group: what it reads and how it behaves."""

    name: str
    topics: tuple[str, ...]
    per_record_ms: float = 0.0  # processing time per record (slow consumers)
    slow: bool = False  # lag grows, then recovers, in waves
    stoppable: bool = False  # stops consuming partway (lag grows, status stopped)
