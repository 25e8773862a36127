"""``evtui trace`` in several processes: each reads a share of the partitions.

Reading ids out of every record is CPU-bound Python, so one process tops out
near one core (bench/trace_scan). With ``--jobs N`` (by default one per core
for a range of at least :data:`PARALLEL_MIN` records) the planned partitions
are split into N shares balanced by record count, and each share is scanned by
a worker process with its own consumer (assigned, never in a group) and its own
:class:`~evtui.core.traces.TraceCollector`.

A transaction's events may sit on partitions of different workers, and an
event one worker holds as a possible cause may belong only because of a member
another worker found. So when every scan is done the parent passes each
worker the ids of the members the others found (``TraceCollector.adopt``) and
repeats with the ids of whatever joined, until nothing joins: the union of the
members is then exactly what one collector reading everything keeps. Finally
each worker sends its members. Each also sends, with its scan, the ids it saw
starting with the wanted one (``TraceCollector.candidates``): when no worker
found the id whole, the parent decides what a prefix stands for from them all.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import signal
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import Any

from evtui.config import ClientConfig
from evtui.core.event import Event, problems_reported_to
from evtui.core.ids import EventIds, IdRules
from evtui.core.idsearch import Candidates
from evtui.core.positions import Position
from evtui.core.problems import RecordProblems
from evtui.errors import EvtuiError
from evtui.sources.kafka import PartitionPlan

PARALLEL_MIN = 200_000  # records in range before --jobs defaults to the cores
POLL_S = 0.2


@dataclass(frozen=True)
class Share:
    """What one worker scans, and how."""

    config: ClientConfig
    plans: tuple[PartitionPlan, ...]
    until: Position | None
    wanted: str
    max_events: int
    max_pending: int
    max_scan: int | None
    rules: IdRules
    timeout: float


@dataclass
class Outcome:
    """What the workers found together."""

    events: list[Event]
    scanned: int
    reason: str
    not_kept: int
    dropped: int
    candidates: Candidates  # ids starting with the wanted one, from every worker
    problems: RecordProblems = field(default_factory=RecordProblems)  # records not read whole


def records(plan: PartitionPlan) -> int:
    """Records a plan covers (to its stop offset, or to the end for a time bound)."""
    if plan.empty:
        return 0
    stop = plan.stop if plan.stop is not None else plan.high
    return max(0, stop - plan.start)


def choose_jobs(requested: int | None, plans: list[PartitionPlan]) -> int:
    """``requested``, or one per core when the range is large; never more than partitions."""
    busy = sum(1 for plan in plans if records(plan) > 0)
    if requested is None:
        if sum(records(plan) for plan in plans) < PARALLEL_MIN:
            return 1
        requested = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return max(1, min(requested, busy))


def split(plans: list[PartitionPlan], jobs: int) -> list[tuple[PartitionPlan, ...]]:
    """``jobs`` shares with about the same number of records (largest partitions first)."""
    shares: list[list[PartitionPlan]] = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for plan in sorted(plans, key=records, reverse=True):
        if plan.empty:
            continue
        least = loads.index(min(loads))
        shares[least].append(plan)
        loads[least] += records(plan)
    return [tuple(share) for share in shares if share]


# -- the parent -------------------------------------------------------------------------------


class _Worker:
    def __init__(self, ctx: Any, share: Share, counter: Any, index: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=work, args=(child, share, counter, index), name=f"evtui-trace-{index}"
        )
        self.process.daemon = True
        self.process.start()
        child.close()

    def send(self, message: tuple) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise self._died() from None

    def receive(self, expected: str) -> tuple:
        try:
            message = self.conn.recv()
        except (EOFError, ConnectionResetError):
            raise self._died() from None
        if message[0] == "error":
            raise EvtuiError(message[1])
        if message[0] != expected:
            raise EvtuiError(f"a scan worker answered {message[0]!r}, not {expected!r}")
        return message

    def _died(self) -> EvtuiError:
        self.process.join(timeout=1)
        return EvtuiError(f"a scan worker stopped unexpectedly (exit code {self.process.exitcode})")

    def close(self) -> None:
        self.conn.close()
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=2)


def scan_in_parallel(template: Share, jobs: int, show: Any = None) -> Outcome:
    """Scan ``template.plans`` in ``jobs`` worker processes; ``show(scanned, done, total)``."""
    ctx = mp.get_context("spawn")  # librdkafka's threads do not survive a fork
    shares = split(list(template.plans), jobs)
    counter = ctx.Array("q", 2 * len(shares), lock=False)  # per worker: scanned, partitions done
    workers: list[_Worker] = []
    try:
        for index, plans in enumerate(shares):
            workers.append(_Worker(ctx, replace(template, plans=plans), counter, index))
        scans = _await_scans(workers, counter, show, len(template.plans))
        _close_links(workers, [scan[3] for scan in scans])
        return _gather(workers, scans)
    finally:
        for worker in workers:
            worker.close()


def _await_scans(workers: list[_Worker], counter: Any, show: Any, total: int) -> list[tuple]:
    """Each worker's ("scanned", count, reason, member ids, (candidates, more), (problems,
    the first named)), with progress meanwhile."""
    results: dict[int, tuple] = {}
    waiting = {worker.conn: i for i, worker in enumerate(workers)}
    while waiting:
        for conn in wait(list(waiting), timeout=POLL_S):
            index = waiting.pop(conn)  # type: ignore[call-overload]
            results[index] = workers[index].receive("scanned")
        if show is not None:
            scanned = sum(counter[0::2])
            show(scanned, sum(counter[1::2]), total)
    return [results[i] for i in range(len(workers))]


def _close_links(workers: list[_Worker], found: list[list[EventIds]]) -> None:
    """Swap members' ids between workers until no held event joins anywhere."""
    while any(found):
        for i, worker in enumerate(workers):
            foreign = [ids for j, batch in enumerate(found) if j != i for ids in batch]
            worker.send(("adopt", foreign))
        found = [worker.receive("adopted")[1] for worker in workers]


def _gather(workers: list[_Worker], scans: list[tuple]) -> Outcome:
    events: list[Event] = []
    not_kept = dropped = 0
    for worker in workers:
        worker.send(("finish",))
        _, members, worker_not_kept, worker_dropped = worker.receive("members")
        events.extend(members)
        not_kept += worker_not_kept
        dropped += worker_dropped
    limited = [scan[2] for scan in scans if scan[2] != REACHED_END]
    candidates = Candidates()
    for scan in scans:
        ids, more = scan[4]
        candidates.update(ids)
        candidates.more = candidates.more or more
    problems = RecordProblems()
    for scan in scans:
        problems.merge(*scan[5])
    return Outcome(
        events=events,
        scanned=sum(scan[1] for scan in scans),
        reason=limited[0] if limited else REACHED_END,
        not_kept=not_kept,
        dropped=dropped,
        candidates=candidates,
        problems=problems,
    )


REACHED_END = "reached the end bound"


# -- a worker ---------------------------------------------------------------------------------


def work(conn: Connection, share: Share, counter: Any, index: int) -> None:
    """A worker process: scan the share, then answer the parent until it says finish."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        collector, scanned, reason, problems = _scan_share(share, counter, index)
        found = collector.candidates
        candidates, named = (list(found.ids), found.more), (problems.count, problems.first)
        conn.send(("scanned", scanned, reason, collector.admitted(), candidates, named))
        while True:
            message = conn.recv()
            if message[0] == "adopt":
                conn.send(("adopted", collector.adopt(message[1])))
            else:
                conn.send(("members", collector.result(), collector.not_kept, collector.dropped))
                conn.close()
                # Freeing what the scan holds (up to a million events) one by one
                # takes seconds the user would wait for; the process ends anyway.
                os._exit(0)
    except EvtuiError as exc:
        _send_quietly(conn, ("error", share.config.scrub(str(exc))))
    except (EOFError, BrokenPipeError):
        return  # the parent is gone
    except Exception as exc:  # reported by the parent as one line
        text = f"internal error in a scan worker: {type(exc).__name__}: {exc}"
        _send_quietly(conn, ("error", share.config.scrub(text)))


def _send_quietly(conn: Connection, message: tuple) -> None:
    with contextlib.suppress(OSError, EOFError):
        conn.send(message)


def _scan_share(share: Share, counter: Any, index: int) -> tuple[Any, int, str, RecordProblems]:
    from evtui.core.ids import set_rules
    from evtui.core.traces import TraceCollector
    from evtui.plugins import load_plugins
    from evtui.sources.kafka import KafkaSource

    load_plugins()  # the parent printed any warning already
    set_rules(share.rules)
    gc.disable()  # as in the parent's own scans: no cycles among the events held
    collector = TraceCollector(
        share.wanted, max_events=share.max_events, max_pending=share.max_pending
    )
    topics = sorted({plan.topic for plan in share.plans})
    source = KafkaSource(
        share.config, topics, until=share.until, timeout=share.timeout, plans=share.plans
    )
    state = {"scanned": 0, "reason": REACHED_END, "error": None}
    problems = RecordProblems()

    def take(batch: list[Event]) -> bool:
        collector.offer_batch(batch, problems)  # one bad record is its problem, not the scan's
        state["scanned"] += len(batch)
        counter[2 * index] = state["scanned"]
        counter[2 * index + 1] = source.stats.partitions_done
        if share.max_scan is not None and state["scanned"] >= share.max_scan:
            state["reason"] = f"scan limit of {share.max_scan:,} events reached"
            return False
        for problem in source.problems():
            if problem.level == "error":
                state["error"] = problem.message
                return False
        return True

    try:
        with problems_reported_to(problems.add):
            source.read_inline(take)
    finally:
        source.stop()
    for problem in source.problems():
        if problem.level == "error" and state["error"] is None:
            state["error"] = problem.message
    if state["error"] is not None:
        raise EvtuiError(str(state["error"]))
    return collector, int(state["scanned"]), str(state["reason"]), problems
