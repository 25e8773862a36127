"""The bench's order events: realistic ~300-byte JSON events with correlation headers.

Five steps per order (OrderPlaced .. OrderShipped), WINDOW orders interleaved, each step
naming the one before as its cause; one order in FAULT_EVERY carries each planted fault
(``fault_of``), and ``expected_findings`` says what `evtui check` must find. bench/ingest
produces them; bench/ui's producer, bench/trace_scan and the native checks' tests use them.
"""

from __future__ import annotations

import random
import time
import uuid

TYPES = ["OrderPlaced", "PaymentAuthorized", "StockReserved", "ShipmentCreated", "OrderShipped"]
SERVICES = ["storefront", "payment", "inventory", "shipping", "notification"]
WINDOW = 1_000  # orders in flight: the events of one order lie WINDOW records apart
FAULT_EVERY = 1_000  # one order in this many carries each fault (see fault_of)
SKEW_MS = 60_000  # how early a skewed producer clock stamps a record
_MIX = 0x9E3779B97F4A7C15F39CC0605CEDC835  # odd: i -> i * _MIX mod 2**128 is one-to-one
_LOST = 1 << 127  # causes that were never produced live above every event's number
# fault -> (the order's number mod FAULT_EVERY, the step it hits), the finding it must give
FAULTS = {
    "orphan": (11, 3),  # names a cause that was never produced
    "event_time_regression": (23, 2),  # occurredAt 5 s early (the order's step 1 was 1 s early)
    "sequence_gap": (37, 2),  # sequence 3 skipped: steps 2.. carry 4, 5, ...
    "duplicate_event": (41, 4),  # reuses the id of the record before it (another order's)
    "causal_inversion": (59, 1),  # record stamped SKEW_MS early: before its cause
}


def flow_of(i: int) -> tuple[int, int]:
    """Event ``i``'s order and step: WINDOW orders of five steps each, interleaved."""
    rounds, slot = divmod(i, WINDOW)
    return rounds // len(TYPES) * WINDOW + slot, rounds % len(TYPES)


def fault_of(i: int) -> str | None:
    """The finding event ``i`` was made to give (None for nearly every event)."""
    order, step = flow_of(i)
    for kind, (which, at) in FAULTS.items():
        if order % FAULT_EVERY == which and step == at:
            return kind
    return None


def expected_findings(count: int) -> dict[str, int]:
    """What `evtui check` must find on the first ``count`` events, by kind."""
    found: dict[str, int] = {}
    for i in range(count):
        kind = fault_of(i)
        if kind is not None:
            found[kind] = found.get(kind, 0) + 1
    return dict(sorted(found.items()))


def _uuid(n: int) -> str:
    """Event ``n``'s id: distinct for distinct ``n``, random-looking."""
    return str(uuid.UUID(int=(n + 1) * _MIX % 2**128))


def _occurred_at(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_795_687_200 + seconds)) + (
        f".{millis:03d}Z"
    )


def make_event(i: int, rng: random.Random) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Event ``i``: step ``i``'s of an order, caused by the order's step before (real ids).

    Per order: sequence 1..5, occurredAt one second apart, one correlation id;
    the first step names no cause. :func:`fault_of` says which events break a rule.
    """
    order, step = flow_of(i)
    fault = fault_of(i)
    correlation = uuid.UUID(int=(order + 1) * _MIX % 2**128 ^ _LOST).hex
    event_id = _uuid(i - 1 if fault == "duplicate_event" else i)
    sequence = step + 1 + (step >= 2 and order % FAULT_EVERY == FAULTS["sequence_gap"][0])
    late = 5_000 if fault == "event_time_regression" else 0
    service = SERVICES[step]
    value = (
        f'{{"eventId":"{event_id}","type":"{TYPES[step]}",'
        f'"occurredAt":"{_occurred_at(i - late)}",'
        f'"orderId":"order-{order:07d}","customerId":"cust-{rng.randrange(50_000)}",'
        f'"sequence":{sequence},"items":[{{"sku":"sku-{rng.randrange(9999):04d}","qty":{1 + i % 3},'
        f'"price":{rng.randrange(100, 99_999) / 100}}}],'
        f'"total":{rng.randrange(100, 500_000) / 100},'
        f'"currency":"EUR","source":"{service}"}}'
    ).encode()
    headers = [
        ("traceparent", f"00-{correlation}-{rng.getrandbits(64):016x}-01".encode()),
        ("correlation-id", correlation.encode()),
    ]
    if step:
        cause = _uuid(_LOST + i if fault == "orphan" else i - WINDOW)
        headers.append(("causation-id", cause.encode()))
    return f"order-{order:07d}".encode(), value, headers
