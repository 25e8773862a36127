"""A simulated shop: orders flow through inventory, payment, shipping, notification.

Deterministic for a seed: the simulator runs on its own timeline (``at_ms``
since the start) and the runners map it to wall-clock time. Faults are
injected at the configured rates and recorded in :class:`GroundTruth`.

A run id puts the run's ids and keys in a namespace of their own: the same seed
gives the same flows and faults, and two runs with other run ids share no event,
correlation or span id and no key (so no per-key sequence). No run id: the plain
seeded names (``order-000001``), as the in-process demo shows them.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from evtui.sim.conventions import encode
from evtui.sim.model import Fault as _Fault
from evtui.sim.model import (
    FaultRates,
    GroundTruth,
    GroupSpec,
    SimRecord,
    TopicNames,
)

EVENTS_PER_FLOW = 5.6  # the average, for turning an event rate into a flow rate
LATENESS_MS = 600_000  # how far back a time_backwards fault moves the event time
SKUS = 40
SEQUENCED = {"storefront", "inventory"}  # services that number events per key
PER_FLOW = {"storefront"}  # of those, keyed by the flow's own order (no other flow's key)


def _id_mask(run_id: str) -> int:
    """128 bits mixed into every id of a run; 0 (the plain seeded ids) without a run id."""
    if not run_id:
        return 0
    return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:16], "big")


@dataclass(order=True)
class _Pending:
    at_ms: int
    order: int
    topic: str = field(compare=False)
    service: str = field(compare=False)
    key: str = field(compare=False)
    event_id: str = field(compare=False)
    event_type: str = field(compare=False)
    correlation_id: str = field(compare=False)
    causation_id: str | None = field(compare=False)
    data: dict = field(compare=False)
    produce: bool = field(compare=False, default=True)  # False: an orphan's missing cause
    # the flow's own per-key sequence, for a key no other flow uses (the storefront's
    # order): freed with the flow, where a map by key would keep every order of the run
    sequence: list[int] | None = field(compare=False, default=None)


def service_groups(topics: TopicNames, rate: float) -> list[GroupSpec]:
    """Each service consumes as its own group; shipping is slow, notification stoppable.

    Shipping reads ~one payment per flow; in its slow phases it needs four times
    as long per record as payments arrive, so its lag grows, then recovers.
    """
    payment_gap_ms = 1000.0 / (rate / EVENTS_PER_FLOW)
    return [
        GroupSpec("inventory-service", (topics.orders, topics.payments)),
        GroupSpec("payment-service", (topics.inventory,)),
        GroupSpec(
            "shipping-service", (topics.payments,), per_record_ms=4 * payment_gap_ms, slow=True
        ),
        GroupSpec("storefront-service", (topics.inventory, topics.shipments)),
        GroupSpec("notification-service", (topics.orders,), stoppable=True),
    ]


class ShopSimulator:
    """Yields the shop's records in time order, forever (take what you need)."""

    def __init__(
        self,
        seed: int = 0,
        rate: float = 50.0,
        faults: FaultRates | None = None,
        topics: TopicNames | None = None,
        start_ms: int = 1_767_225_600_000,  # 2026-01-01T00:00:00Z
        run_id: str = "",
        keep_truth: bool = True,
    ) -> None:
        """``keep_truth`` False: count what is emitted and injected, keep none of it (see
        :class:`GroundTruth`)."""
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rng = random.Random(seed)
        self.run_id = run_id
        self._id_mask = _id_mask(run_id)
        self.rate = rate
        self.faults = faults or FaultRates()
        self.topics = topics or TopicNames()
        self.start_ms = start_ms
        self.truth = GroundTruth(run_id=run_id, kept=keep_truth)
        self.groups = service_groups(self.topics, rate)
        self._heap: list[_Pending] = []
        self._order = 0
        self._flows = 0
        self._next_flow_ms = 0.0
        self._sequences: dict[tuple[str, str], int] = {}
        # faults decided when a flow is built count once the event completing them is emitted
        self._pending_faults: dict[str, list[_Fault]] = {}  # by the event that reveals them
        # re-encodes emitted records (the registry demo: Avro and Protobuf); None: JSON as is
        self.encoder: Callable[[SimRecord, GroundTruth], SimRecord] | None = None

    # -- ids ----------------------------------------------------------------------------------

    def _bits(self) -> int:
        """128 seeded bits, moved into the run's namespace (the same draws for any run id)."""
        return self.rng.getrandbits(128) ^ self._id_mask

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._bits(), version=4))

    def _hex32(self) -> str:
        return f"{self._bits():032x}"

    def _name(self, kind: str, number: str) -> str:
        """A key or business id: ``order-000001``, ``order-<run id>-000001`` in a run."""
        return f"{kind}-{self.run_id}-{number}" if self.run_id else f"{kind}-{number}"

    # -- the timeline -------------------------------------------------------------------------

    def records(self, until_ms: int | None = None) -> Iterator[SimRecord]:
        """Records in time order; with ``until_ms``, none scheduled after it."""
        flow_gap = 1000.0 / (self.rate / EVENTS_PER_FLOW)
        while True:
            while not self._heap or self._heap[0].at_ms > self._next_flow_ms:
                self._start_flow(int(self._next_flow_ms))
                self._next_flow_ms += flow_gap * self.rng.uniform(0.5, 1.5)
            if until_ms is not None and self._heap[0].at_ms > until_ms:
                self._cut()
                return  # stop before emitting: the truth counts only what was yielded
            encoder = self.encoder
            for record in self._emit(heapq.heappop(self._heap)):
                yield record if encoder is None else encoder(record, self.truth)

    def _cut(self) -> None:
        """The run ends: events that name a cause scheduled after the end are orphans now.

        (An effect moved before its cause by ``cause_after_effect`` near the end.)
        """
        if not self.truth.kept:
            return  # no events kept to judge (the counts need no orphan found at the end)
        cut = {p.event_id for p in self._heap}
        said = {f.event_ids for f in self.truth.faults if f.kind == "orphan"}
        for record in self.truth.events.values():
            cause = record.causation_id
            if cause in cut and (record.event_id, cause) not in said:
                self.truth.faults.append(
                    _Fault(
                        "orphan",
                        record.topic,
                        record.key.decode(),
                        (record.event_id, cause),
                        f"{record.event_type} names cause {cause}, which the end of the run "
                        "cut off",
                    )
                )

    def take(self, count: int) -> list[SimRecord]:
        it = self.records()
        return [next(it) for _ in range(count)]

    def _schedule(self, at_ms: int, **fields: object) -> _Pending:
        self._order += 1
        pending = _Pending(at_ms, self._order, **fields)  # type: ignore[arg-type]
        heapq.heappush(self._heap, pending)
        return pending

    # -- flows --------------------------------------------------------------------------------

    def _hop(self) -> int:
        return self.rng.randint(5, 80)

    def _start_flow(self, t0: int) -> None:
        self._flows += 1
        t = self.topics
        corr = self._hex32()
        order = self._name("order", f"{self._flows:06d}")
        customer = self._name("cust", f"{self.rng.randrange(500):04d}")
        sku = self._name("sku", f"{self.rng.randrange(SKUS):03d}")
        qty = self.rng.randint(1, 3)
        amount = round(self.rng.uniform(5, 500), 2)
        outcome = self.rng.random()
        reserved = (
            t.inventory,
            "inventory",
            sku,
            "StockReserved",
            {"sku": sku, "orderId": order, "quantity": qty},
        )
        steps: list[tuple[str, str, str, str, dict]] = [
            (
                t.orders,
                "storefront",
                order,
                "OrderPlaced",
                {
                    "orderId": order,
                    "customerId": customer,
                    "sku": sku,
                    "quantity": qty,
                    "amount": amount,
                    "currency": "EUR",
                },
            ),
        ]
        if outcome < 0.05:
            steps += [
                (t.inventory, "inventory", sku, "StockUnavailable", {"sku": sku, "orderId": order}),
                (
                    t.orders,
                    "storefront",
                    order,
                    "OrderCancelled",
                    {"orderId": order, "reason": "out of stock"},
                ),
            ]
        elif outcome < 0.15:
            steps += [
                reserved,
                (
                    t.payments,
                    "payment",
                    order,
                    "PaymentDeclined",
                    {
                        "orderId": order,
                        "amount": amount,
                        "currency": "EUR",
                        "reason": "card declined",
                    },
                ),
                (
                    t.inventory,
                    "inventory",
                    sku,
                    "StockReleased",
                    {"sku": sku, "orderId": order, "quantity": qty},
                ),
                (
                    t.orders,
                    "storefront",
                    order,
                    "OrderCancelled",
                    {"orderId": order, "reason": "payment declined"},
                ),
            ]
        else:
            steps += [
                reserved,
                (
                    t.payments,
                    "payment",
                    order,
                    "PaymentAuthorized",
                    {"orderId": order, "amount": amount, "currency": "EUR"},
                ),
                (
                    t.shipments,
                    "shipping",
                    order,
                    "ShipmentCreated",
                    {
                        "orderId": order,
                        "shipmentId": self._name("ship", f"{self._flows:06d}"),
                        "carrier": "DHL",
                    },
                ),
                (t.orders, "storefront", order, "OrderShipped", {"orderId": order}),
            ]
        steps.append(
            (
                t.notifications,
                "notification",
                customer,
                "NotificationSent",
                {"customerId": customer, "orderId": order, "channel": "email"},
            )
        )
        self._schedule_flow(t0, corr, steps)

    def _schedule_flow(self, t0: int, corr: str, steps: list) -> None:
        pendings: list[_Pending] = []
        at, cause = t0, None
        own: dict[tuple[str, str], list[int]] = {}  # per (topic, key) unique to this flow
        for topic, service, key, etype, data in steps:
            pendings.append(
                self._schedule(
                    at,
                    topic=topic,
                    service=service,
                    key=key,
                    event_id=self._uuid(),
                    event_type=etype,
                    correlation_id=corr,
                    causation_id=cause,
                    data=data,
                    sequence=own.setdefault((topic, key), [0]) if service in PER_FLOW else None,
                )
            )
            cause = pendings[-1].event_id
            at += self._hop()
        self._maybe_orphan(pendings)
        self._maybe_cause_after_effect(pendings)

    def _maybe_orphan(self, pendings: list[_Pending]) -> None:
        """Drop a middle event: its effect references a cause that never appears."""
        if len(pendings) < 4 or self.rng.random() >= self.faults.orphan:
            return
        missing = pendings[-3]
        missing.produce = False
        for effect in pendings:  # every event naming it is an orphan (a cause may fan out)
            if effect.causation_id != missing.event_id or not effect.produce:
                continue
            self._pending_faults.setdefault(effect.event_id, []).append(
                _Fault(
                    "orphan",
                    effect.topic,
                    effect.key,
                    (effect.event_id, missing.event_id),
                    f"{effect.event_type} names cause {missing.event_id}, which is never produced",
                )
            )

    def _maybe_cause_after_effect(self, pendings: list[_Pending]) -> None:
        """Produce an effect before its cause (the inventory -> payment hop)."""
        if len(pendings) < 4 or self.rng.random() >= self.faults.cause_after_effect:
            return
        cause, effect = pendings[1], pendings[2]
        if not (cause.produce and effect.produce):
            return
        root = pendings[0].at_ms  # stay after the flow's first event
        effect.at_ms = cause.at_ms - self.rng.randint(1, max(1, cause.at_ms - root))
        heapq.heapify(self._heap)
        self._pending_faults.setdefault(cause.event_id, []).append(
            _Fault(
                "cause_after_effect",
                effect.topic,
                effect.key,
                (effect.event_id, cause.event_id),
                f"{effect.event_type} produced {cause.at_ms - effect.at_ms} ms before its cause "
                f"{cause.event_type}",
            )
        )

    # -- emission: sequences, encoding, emission-time faults ---------------------------------

    def _emit(self, p: _Pending) -> Iterator[SimRecord]:
        if not p.produce:
            return
        if p.service == "inventory" and self.rng.random() < self.faults.out_of_order:
            yield from self._out_of_order_pair(p)
        record = self._record(p)
        if (
            p.service == "storefront"
            and (record.sequence or 0) >= 2
            and self.rng.random() < self.faults.time_backwards
        ):
            record = self._backwards(p, record)
        yield self._count(record)
        if self.rng.random() < self.faults.duplicate:
            self.truth.faults.append(
                _Fault(
                    "duplicate",
                    record.topic,
                    record.key.decode(),
                    (record.event_id,),
                    f"{record.event_type} produced twice",
                )
            )
            again = replace(record, at_ms=record.at_ms + self.rng.randint(1, 30))
            yield self._count(again, first=False)

    def _count(self, record: SimRecord, first: bool = True) -> SimRecord:
        """Count ``record`` in the truth (``first``: not a re-emission of an event)."""
        truth = self.truth
        truth.emitted += 1
        if not truth.kept:
            if first:
                truth.flow_count += record.causation_id is None  # a flow's first event
                truth.faults.extend(self._pending_faults.pop(record.event_id, ()))
        elif record.event_id not in truth.events:
            truth.events[record.event_id] = record
            truth.flows.setdefault(record.correlation_id, []).append(record.event_id)
            truth.faults.extend(self._pending_faults.pop(record.event_id, ()))
        return record

    def _next_sequence(self, topic: str, key: str) -> int:
        seq = self._sequences.get((topic, key), 0) + 1
        self._sequences[(topic, key)] = seq
        return seq

    def _record(
        self, p: _Pending, event_time_ms: int | None = None, sequence: int | None = None
    ) -> SimRecord:
        if sequence is None and p.sequence is not None:
            p.sequence[0] += 1
            sequence = p.sequence[0]
        elif sequence is None and p.service in SEQUENCED:
            sequence = self._next_sequence(p.topic, p.key)
        data = dict(p.data)
        if sequence is not None:
            data["sequence" if p.service == "storefront" else "version"] = sequence
        when = self.start_ms + (p.at_ms if event_time_ms is None else event_time_ms)
        value, headers = encode(
            p.service,
            event_id=p.event_id,
            event_type=p.event_type,
            correlation_id=p.correlation_id,
            causation_id=p.causation_id,
            event_time_ms=when,
            subject=p.key,
            data=data,
        )
        return SimRecord(
            p.at_ms,
            p.topic,
            p.key.encode(),
            value,
            headers,
            p.event_id,
            p.event_type,
            p.service,
            p.correlation_id,
            p.causation_id,
            when,
            sequence,
        )

    def _backwards(self, p: _Pending, record: SimRecord) -> SimRecord:
        moved = self._record(p, event_time_ms=p.at_ms - LATENESS_MS, sequence=record.sequence)
        self.truth.faults.append(
            _Fault(
                "time_backwards",
                record.topic,
                p.key,
                (p.event_id,),
                f"{p.event_type} claims a time {LATENESS_MS // 1000} s before its predecessor",
            )
        )
        return moved

    def _out_of_order_pair(self, p: _Pending) -> Iterator[SimRecord]:
        """Two stock adjustments of one SKU, the later version delivered first."""
        first, second = (
            _Pending(
                p.at_ms,
                0,
                p.topic,
                "inventory",
                p.key,
                self._uuid(),
                "StockAdjusted",
                self._hex32(),
                None,
                {"sku": p.key, "delta": self.rng.randint(1, 20)},
            )
            for _ in range(2)
        )
        v1 = self._next_sequence(p.topic, p.key)
        v2 = self._next_sequence(p.topic, p.key)
        late = self._record(second, sequence=v2)
        early = self._record(first, sequence=v1)
        self.truth.faults.append(
            _Fault(
                "out_of_order",
                p.topic,
                p.key,
                (late.event_id, early.event_id),
                f"version {v2} delivered before version {v1}",
            )
        )
        yield self._count(late)
        yield self._count(early)
