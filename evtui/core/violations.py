"""Ordering violations found live: every detector over a running stream, findings grouped.

Pure: no Textual, no confluent-kafka. :class:`LiveCheck` feeds the events a
view reads to a :class:`~evtui.core.ordering.Checker`; :class:`ViolationBoard`
groups what it finds by kind, topic and key, with counts and when each group
was first and last seen (record time), keeping a bounded number of findings.

A stream with a hole in it (events the view dropped to keep up, or a seek)
would make the detectors see gaps and regressions that are not there. So when
events are skipped the detectors start again from what follows, as for a
range read from mid-stream, and the skipped events are counted as not checked.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from evtui.core import native
from evtui.core.event import Event
from evtui.core.ordering import WARNING, Checker, Finding, kind_rank
from evtui.core.problems import RecordProblems

SEVERITY_ORDER = {WARNING: 0, "info": 1}
GroupKey = tuple[str, str, str | None]  # kind, topic, key


@dataclass
class ViolationGroup:
    """The findings of one kind for one key of one topic."""

    kind: str
    severity: str
    topic: str
    key: str | None
    count: int = 0
    first_ms: int = 0
    last_ms: int = 0
    findings: deque[Finding] = field(default_factory=deque)  # the newest, bounded

    @property
    def ident(self) -> str:
        """A stable text id (for table rows)."""
        return f"{self.kind}\x1f{self.topic}\x1f{self.key}"


class ViolationBoard:
    """Findings grouped by (kind, topic, key); each finding counted once, memory bounded."""

    def __init__(
        self, max_groups: int = 5_000, per_group: int = 100, max_remembered: int = 200_000
    ) -> None:
        self.groups: OrderedDict[GroupKey, ViolationGroup] = OrderedDict()
        self._infos: OrderedDict[GroupKey, None] = OrderedDict()  # the groups not warnings
        self.max_groups = max_groups
        self.per_group = per_group
        self._said: OrderedDict[tuple[str, tuple[str, ...]], None] = OrderedDict()
        self.max_remembered = max_remembered
        self.warnings = 0
        self.infos = 0
        self.groups_dropped = 0  # groups forgotten at the bound (their counts stay in totals)
        self.version = 0  # changes whenever something was added

    def add(self, findings: Iterable[Finding], at_ms: int) -> int:
        """Record findings seen at record time ``at_ms``; returns how many were new."""
        kept: list[Finding] = []
        for finding in findings:
            if self._seen_before(finding):
                continue  # the same records judged again (a seek back, a restarted check)
            self._group(finding, at_ms).findings.append(finding)
            if finding.severity == WARNING:
                self.warnings += 1
            else:
                self.infos += 1
            kept.append(finding)
        if kept:
            self.version += 1
            native.untrack_acyclic(kept, Finding)  # plain data: see _group
        return len(kept)

    def _seen_before(self, finding: Finding) -> bool:
        said = (finding.kind, finding.refs)
        if said in self._said:
            return True
        self._said[said] = None
        if len(self._said) > self.max_remembered:
            self._said.popitem(last=False)
        return False

    def _group(self, finding: Finding, at_ms: int) -> ViolationGroup:
        key = (finding.kind, finding.topic, finding.key)
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= self.max_groups:
                self._drop_a_group()
            group = ViolationGroup(
                finding.kind, finding.severity, finding.topic, finding.key,
                first_ms=at_ms, findings=deque(maxlen=self.per_group),
            )  # fmt: skip
            # A board keeps thousands of groups and findings (plain data: no cycles) for
            # as long as the console runs: full collections need not walk them.
            native.untrack_acyclic([group], ViolationGroup)
            native.untrack_acyclic([group.findings], deque)
            self.groups[key] = group
            if group.severity != WARNING:
                self._infos[key] = None
        group.count += 1
        group.first_ms = min(group.first_ms, at_ms)
        group.last_ms = max(group.last_ms, at_ms)
        return group

    def _drop_a_group(self) -> None:
        """Forget the oldest information-only group, else the oldest group."""
        if self._infos:  # kept in order beside the groups: no walk over thousands of them
            victim, _ = self._infos.popitem(last=False)
        else:
            victim = next(iter(self.groups))
        del self.groups[victim]
        self.groups_dropped += 1

    def sorted_groups(self, needle: str = "") -> list[ViolationGroup]:
        """Warnings first, then by kind, topic and key; ``needle`` filters (any field)."""
        needle = needle.lower()
        shown = [
            g
            for g in self.groups.values()
            if not needle or needle in f"{g.kind} {g.topic} {g.key}".lower()
        ]
        ranks = {kind: kind_rank(kind) for kind in {g.kind for g in shown}}
        return sorted(
            shown,
            key=lambda g: (SEVERITY_ORDER.get(g.severity, 2), ranks[g.kind], g.topic,
                           g.key or ""),
        )  # fmt: skip

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for group in self.groups.values():
            counts[group.kind] = counts.get(group.kind, 0) + group.count
        return dict(sorted(counts.items()))

    def findings(self) -> list[Finding]:
        """Every finding still kept (in groups), oldest group first."""
        return [f for g in self.groups.values() for f in g.findings]


class LiveCheck:
    """A :class:`Checker` over a live stream that may have holes; findings go to a board."""

    def __init__(
        self,
        make_checker: Callable[[bool, frozenset[str]], Checker] | None = None,
        board: ViolationBoard | None = None,
    ) -> None:
        self.make_checker = make_checker or (
            lambda mid_stream, compacted: Checker(mid_stream=mid_stream, compacted=compacted)
        )
        self.compacted: frozenset[str] = frozenset()  # topics whose cleanup.policy compacts
        self.board = board or ViolationBoard()
        self.checker: Checker | None = None
        self.checked = 0
        self.not_checked = 0  # events skipped (the view dropped them, or they were evicted)
        self.restarts = 0
        self.finished = False
        self._last_ms = 0
        self.problems = RecordProblems()  # records the checks failed on (counted, skipped)

    def begin(
        self,
        from_start: bool,
        compacted: frozenset[str] | None = None,
        partitions: Iterable[tuple[str, int]] = (),
    ) -> None:
        """A new stream (topics opened, a seek): detectors start again; the board stays.

        ``partitions``: those the stream reads (orphans wait for each, see
        :meth:`rest`). What was learnt of the topics' sequence fields is kept;
        which kinds of effect have their causes read is not (other topics now).
        """
        if compacted is not None:
            self.compacted = compacted
        old, self.checker = self.checker, self.make_checker(not from_start, self.compacted)
        if old is not None:
            self.checker.sequences.carry(old.sequences)
        self.checker.expect(partitions)
        self.finished = False

    def rest(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Partitions read to their end (for now): orphans need not wait for them."""
        if self.checker is not None:
            self.checker.rest(partitions)

    def skip(self, count: int) -> None:
        """``count`` events of the stream will never be offered: start again after them."""
        if count <= 0:
            return
        self.not_checked += count
        self.restarts += 1
        old = self.checker
        self.checker = self.make_checker(True, self.compacted)
        if old is not None:
            self.checker.carry(old)  # the same stream: its partitions, what was learnt
        self.finished = False

    def offer(self, event: Event) -> None:
        checker = self.checker
        if checker is None:
            checker = self.checker = self.make_checker(True, self.compacted)
        before = len(checker.findings)
        checker.offer(event)
        self.checked += 1
        self._last_ms = max(self._last_ms, event.timestamp)
        if len(checker.findings) > before:
            self.board.add(checker.findings[before:], event.timestamp)
            del checker.findings[:]  # the board keeps them

    def offer_batch(self, events: list[Event]) -> tuple[int, BaseException | None]:
        """:meth:`offer` events in order until one raises: how many were offered (the one
        that raised included), and what it raised (None: every one went through)."""
        checker = self.checker
        if checker is None:
            checker = self.checker = self.make_checker(True, self.compacted)
        kept, done, exc = checker.offer_until_failure(events, self.problems.failed)
        self.checked += done
        if done:
            self._last_ms = max(self._last_ms, max(e.timestamp for e in events[:done]))
        for index, finding in kept:
            self.board.add([finding], events[index].timestamp)
        del checker.findings[:]  # the board keeps them
        return done, exc

    def finish(self) -> None:
        """The stream ended: what only the end can tell (gaps still open, orphans)."""
        if self.finished or self.checker is None:
            return
        self.finished = True
        self.board.add(self.checker.finish(), self._last_ms)
        del self.checker.findings[:]

    @property
    def unjudged(self) -> int:
        if self.checker is None:
            return 0
        causes = self.checker.causes
        return causes.unjudged + causes.compacted_away + causes.forgotten + causes.not_read

    @property
    def outside(self) -> int:
        """Effects not judged: their causes are likely on topics not read."""
        return 0 if self.checker is None else self.checker.causes.not_read

    def notes(self) -> list[str]:
        return [] if self.checker is None else self.checker.notes()
