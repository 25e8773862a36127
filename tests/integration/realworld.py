"""Patterns of data evtui did not write (issue 14), produced to the real broker with exact truth.

Each case writes ordinary real-world records (causes on other topics and
partitions, keyless records, schema-version envelopes, numeric epoch times,
several producers, spans of other tracers) and, in most, a few planted
anomalies. Its truth is every warning ``evtui check`` must report (kind, the
record it names, key) and nothing else. The checks run with the defaults, as a
new user would run them.

Run as a script, it writes every case and prints the precision and recall of
an ``evtui`` command over them::

    python -m tests.integration.realworld 127.0.0.1:19092 [EVTUI COMMAND...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.integration.scenarios import Expected, Rec, truth_of, write

MakeTopic = Callable[..., str]
STEP_MS = 1_000


@dataclass
class Case:
    """Topics written, the ``evtui check`` arguments, and the warnings it must report."""

    name: str
    args: list[str]  # topics and options
    truth: list[Expected]
    written: int = 0
    fields: dict[str, str | None] = field(default_factory=dict)  # sequence field per topic


def base_ms() -> int:
    """Record times ten minutes ago: well inside the broker's retention."""
    return int(time.time() * 1000) - 600_000


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def hdrs(**headers: str) -> tuple[tuple[str, bytes], ...]:
    return tuple((name.replace("_", "-"), value.encode()) for name, value in headers.items())


def put(bootstrap: str, records: dict[str, list[Rec]]) -> tuple[list[Expected], int]:
    """Write each topic's records; the truth over all of them and how many were written."""
    truth: list[Expected] = []
    count = 0
    for topic, recs in records.items():
        refs = write(bootstrap, topic, recs)
        truth += truth_of(recs, refs)
        count += len(refs)
    return sorted(truth), count


# -- 1. causes in partitions and topics read later ---------------------------------------------


def cross_topic(bootstrap: str, make_topic: MakeTopic) -> tuple[str, str, list[Expected], int]:
    """Payments (A) caused by orders (B) half a second earlier, A running minutes further.

    Planted: one payment naming an order that was never written (an orphan: causes of
    payments are read, so a missing one is a finding).
    """
    a, b = make_topic(1, "payments"), make_topic(1, "orders")
    t0, run = base_ms(), uuid.uuid4().hex[:6]
    orders, payments = [], []
    for i in range(30):
        at = t0 + i * 3 * STEP_MS
        orders.append(Rec(f"o{i}", body(type="OrderPlaced", n=i), hdrs(event_id=f"{run}-c{i}"), at))
        payments.append(
            Rec(
                f"o{i}",
                body(type="PaymentRequested", n=i),
                hdrs(event_id=f"{run}-e{i}", causation_id=f"{run}-c{i}"),
                at + 500,
            )
        )
    payments.append(
        Rec(
            "o99",
            body(type="PaymentRequested"),
            hdrs(event_id=f"{run}-e99", causation_id=f"{run}-never"),
            t0 + 95_000,
            expect=("orphan",),
        )
    )
    payments += [Rec(f"later{i}", body(type="Heartbeat"), hdrs(event_id=f"{run}-l{i}"),
                     t0 + 100_000 + i * 10_000) for i in range(12)]  # fmt: skip
    truth, count = put(bootstrap, {a: payments, b: orders})
    return a, b, truth, count


def cause_in_another_partition(bootstrap: str, make_topic: MakeTopic) -> Case:
    """One topic: causes in partition 2, effects in partition 0 whose time runs 2 min on;
    a duplicate whose first copy is in partition 1 and later copy in partition 0."""
    topic, t0, run = make_topic(3), base_ms(), uuid.uuid4().hex[:6]
    records = []
    for i in range(20):
        at = t0 + i * STEP_MS
        records.append(Rec(f"k{i}", body(type="Reserved"), hdrs(event_id=f"{run}-c{i}"), at, 2))
        records.append(
            Rec(
                f"k{i}",
                body(type="Shipped"),
                hdrs(event_id=f"{run}-e{i}", causation_id=f"{run}-c{i}"),
                at + 500,
                0,
            )
        )
    records += [Rec(f"z{i}", body(type="Tick"), hdrs(event_id=f"{run}-z{i}"),
                    t0 + 30_000 + i * 10_000, 0) for i in range(10)]  # fmt: skip
    records.append(Rec("d", body(type="Paid"), hdrs(event_id=f"{run}-dup"), t0 + 1_000, 1))
    records.append(
        Rec(
            "d",
            body(type="Paid"),
            hdrs(event_id=f"{run}-dup"),
            t0 + 90_000,
            0,
            expect=("duplicate_event",),
        )
    )
    truth, count = put(bootstrap, {topic: records})
    return Case("cause in another partition", [topic], truth, count)


# -- 3. keyless records ------------------------------------------------------------------------


def keyless(bootstrap: str, make_topic: MakeTopic) -> Case:
    """90 keyless records with seq 1..90 round-robin on 3 partitions (no sequence), and keyed
    records beside them with one planted regression."""
    topic, t0 = make_topic(3), base_ms()
    records = [Rec(None, body(seq=i + 1, type="Metric"), (), t0 + i * 10, i % 3) for i in range(90)]
    for i, seq in enumerate([1, 2, 3, 4, 5, 3, 6]):
        expect = ("sequence_regression",) if i == 5 else ()
        records.append(Rec("acct-1", body(seq=seq, type="Entry"), (), t0 + 1_000 + i, 1, expect))
    truth, count = put(bootstrap, {topic: records})
    return Case("keyless records", [topic], truth, count, {topic: "seq"})


# -- 4. fields that are no sequence ------------------------------------------------------------


def schema_versions(bootstrap: str, make_topic: MakeTopic) -> Case:
    """An envelope with a constant ``version: 1`` on every record (no sequence), and a topic
    whose ``version`` is the aggregate's version (a sequence) with one planted duplicate."""
    envelope, aggregate, t0 = make_topic(2, "envelope"), make_topic(2, "aggregate"), base_ms()
    plain = [Rec(f"user-{i % 20}", body(version=1, type="UserSeen", data={"n": i}), (),
                 t0 + i * 10, i % 2) for i in range(200)]  # fmt: skip
    versions: dict[str, int] = {}
    counted = []
    for i in range(120):
        key = f"cart-{i % 6}"
        versions[key] = versions.get(key, 0) + 1
        counted.append(Rec(key, body(version=versions[key], schemaVersion=3), (), t0 + i * 10, 0))
    counted.append(Rec("cart-2", body(version=versions["cart-2"], schemaVersion=3), (),
                       t0 + 2_000, 0, expect=("sequence_duplicate",)))  # fmt: skip
    truth, count = put(bootstrap, {envelope: plain, aggregate: counted})
    fields = {envelope: None, aggregate: "version"}
    return Case("schema versions", [envelope, aggregate], truth, count, fields)


# -- 5. numeric epoch times --------------------------------------------------------------------


def numeric_times(bootstrap: str, make_topic: MakeTopic) -> Case:
    """``timestamp`` as epoch ms, s and us, with jitter under the lateness (not a finding)
    and one event 5 s late per unit; a ``time`` field that is a duration is no time."""
    topic, t0 = make_topic(1), base_ms()
    scale = {"ms": lambda ms: ms, "s": lambda ms: ms // 1000, "us": lambda ms: ms * 1000}
    records = []
    for unit, to_unit in scale.items():
        for i, offset_ms in enumerate((0, 2_000, 1_400, 4_000, 8_000, 3_000, 9_000)):
            late = offset_ms == 3_000
            at = t0 + offset_ms
            records.append(
                Rec(
                    f"{unit}-key",
                    body(timestamp=to_unit(at), time=250 + i),
                    (),
                    t0 + i * 10,
                    expect=("event_time_regression",) if late else (),
                )
            )
    truth, count = put(bootstrap, {topic: records})
    return Case("numeric times", [topic], truth, count)


# -- ordinary data that must raise nothing ----------------------------------------------------


def several_producers(bootstrap: str, make_topic: MakeTopic) -> Case:
    """Two producers numbering their own writes to the same keys (``producer-id``), and
    records spanned by other tracers (W3C, B3, Jaeger) whose parent spans are no events."""
    topic, t0 = make_topic(2), base_ms()
    records = []
    trace = uuid.uuid4().hex
    for i in range(60):
        producer, n = ("p-a", i // 2 + 1) if i % 2 == 0 else ("p-b", i // 2 + 1)
        span = f"{i + 1:016x}"
        tracing = [
            ("traceparent", f"00-{trace}-{span}-01"),
            ("b3", f"{trace[16:]}-{span}-1-{'f' * 16}"),
            ("uber-trace-id", f"{trace}:{span}:{'e' * 16}:1"),
        ][i % 3]
        records.append(Rec("shared", body(seq=n, type="Moved"),
                           (("producer-id", producer.encode()), (tracing[0], tracing[1].encode())),
                           t0 + i * 10, 1))  # fmt: skip
    truth, count = put(bootstrap, {topic: records})
    return Case("several producers, other tracers", [topic], truth, count, {topic: "seq"})


CASES = (cause_in_another_partition, keyless, schema_versions, numeric_times, several_producers)


def all_cases(bootstrap: str, make_topic: MakeTopic) -> list[Case]:
    """Every case, the cross-topic one in both argument orders."""
    a, b, truth, count = cross_topic(bootstrap, make_topic)
    cases = [
        Case("cause on a topic read later (A B)", [a, b], truth, count),
        Case("cause on a topic read later (B A)", [b, a], truth, count),
        Case("cause on a topic not read (A only)", [a], [], count),
    ]
    return cases + [make(bootstrap, make_topic) for make in CASES]


def warnings(report: dict) -> list[Expected]:
    return sorted(
        (v["kind"], f"{v['topic']}/{v['partition']}/{v['offset']}", v["key"])
        for v in report["violations"]
        if v["severity"] == "warning"
    )


def score(results: list[tuple[Case, list[Expected]]]) -> tuple[int, int, int]:
    """True positives, false positives, missed: over every case."""
    tp = fp = missed = 0
    for case, found in results:
        truth = set(case.truth)
        tp += len(truth & set(found))
        fp += len(set(found) - truth)
        missed += len(truth - set(found))
    return tp, fp, missed


def _main(bootstrap: str, command: list[str]) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})

    def make_topic(partitions: int = 1, suffix: str = "") -> str:
        name = f"realworld-{suffix or 't'}-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
        return name

    results = []
    for case in all_cases(bootstrap, make_topic):
        done = subprocess.run([*command, "check", *case.args, "-b", bootstrap, "-F", "json"],
                              capture_output=True, check=False)  # fmt: skip
        found = warnings(json.loads(done.stdout)) if done.stdout.strip() else []
        results.append((case, found))
        print(f"{case.name:40} planted {len(case.truth):2}  reported {len(found):3}")
    tp, fp, missed = score(results)
    precision = tp / (tp + fp) if tp + fp else 1.0
    print(f"precision {precision:.2f} ({tp} true, {fp} false); recall "
          f"{tp / (tp + missed) if tp + missed else 1.0:.2f} ({missed} missed)")  # fmt: skip


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2:] or [sys.executable, "-m", "evtui"])
