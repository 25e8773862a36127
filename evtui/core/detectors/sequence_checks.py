"""Which field is a topic's sequence: the default names judged from the data
(:class:`SequenceChecks`, one :class:`~evtui.core.detectors.sequences.SequenceDetector` per field).

The default names are used on a topic only once the data shows one rises per
key; names the user gives are used as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evtui.core.detectors.common import Compaction, Finding, KeyState
from evtui.core.detectors.sequences import PRODUCER_NAMES, SEQUENCE_NAMES, SequenceDetector
from evtui.core.event import Event

LEARN_STEPS = 8  # steps (a key's number after its last one) before a default field is judged
MIN_RISING = 0.5  # the share of steps that go up for a field to be a sequence
MAX_HELD = 10_000  # findings held per topic and field while the field is being judged


@dataclass
class _Trial:
    """A default field on one topic while it is judged: its steps, and findings held back."""

    steps: int = 0
    rising: int = 0
    held: list[Finding] = field(default_factory=list)
    rejected: bool = False

    def verdict(self, final: bool) -> bool | None:
        """True: a sequence; False: not one; None: too few steps yet."""
        if self.steps < (1 if final else LEARN_STEPS):
            return None
        return self.rising >= MIN_RISING * self.steps


class SequenceChecks:
    """Sequence checks of every topic, on the field that is a sequence there.

    Fields the user names are used as given. The default names (``seq``,
    ``sequence``, ``version``) are judged per topic from the data: a field is
    a sequence on a topic when, over its first :data:`LEARN_STEPS` steps (a
    key's number after its previous one), at least half go up. A schema
    version that stays ``1`` never goes up, so it is not one and raises
    nothing. Findings are held until the field is judged; the first default
    found to be a sequence is the topic's field (:meth:`fields`).
    """

    def __init__(
        self,
        max_keys: int = 100_000,
        names: tuple[str, ...] = SEQUENCE_NAMES,
        producers: tuple[str, ...] = PRODUCER_NAMES,
        compaction: Compaction | None = None,
        *,
        learn: bool = True,
        keyless: bool = False,
        max_held: int = MAX_HELD,
    ) -> None:
        self.learn = learn
        self.max_held = max_held  # findings held per topic and field while it is judged
        groups = [(n,) for n in names] if learn else [names]
        self.detectors = {
            ",".join(g): SequenceDetector(max_keys, g, producers, compaction, keyless)
            for g in groups
        }
        self.chosen: dict[str, str | None] = {}  # topic -> its field (None: no field is one)
        self.trials: dict[str, dict[str, _Trial]] = {}  # topics being judged
        self.held_over = 0  # findings not held (beyond max_held) while judging

    @property
    def keys(self) -> KeyState:
        """The per-key state of the field used most (for the memory notes)."""
        return max((d.keys for d in self.detectors.values()), key=lambda k: k.evicted)

    @property
    def compacted_jumps(self) -> int:
        return sum(d.compacted_jumps for d in self.detectors.values())

    def offer(self, event: Event) -> list[Finding]:
        if not self.learn:
            return next(iter(self.detectors.values())).offer(event)
        topic = event.topic
        if topic in self.chosen:
            name = self.chosen[topic]
            return [] if name is None else self.detectors[name].offer(event)
        trials = self.trials.setdefault(topic, {})
        for name, detector in self.detectors.items():
            trial = trials.get(name)
            if trial is not None and trial.rejected:
                continue
            found = detector.offer(event)
            if detector.rose is None and not found:
                continue
            if trial is None:
                trial = trials[name] = _Trial()
            if detector.rose is not None:
                trial.steps += 1
                trial.rising += detector.rose
            self._hold(trial, found)
        return self._judge(topic, final=False)

    def _hold(self, trial: _Trial, found: list[Finding]) -> None:
        room = self.max_held - len(trial.held)
        trial.held += found[:room]
        self.held_over += max(0, len(found) - room)

    def _judge(self, topic: str, final: bool) -> list[Finding]:
        """Choose the topic's field once one is a sequence (or none can be); its findings."""
        trials = self.trials[topic]
        verdicts = {name: t.verdict(final) for name, t in trials.items()}
        for name in self.detectors:  # the order the names were given
            if verdicts.get(name):
                return self._choose(topic, name)
            if verdicts.get(name) is False and not trials[name].rejected:
                trials[name].rejected = True
                trials[name].held = []
        undecided = [n for n in self.detectors if verdicts.get(n) is None]
        if final or (trials and not undecided and len(trials) == len(self.detectors)):
            return self._choose(topic, None)
        return []

    def _choose(self, topic: str, name: str | None) -> list[Finding]:
        self.chosen[topic] = name
        trials = self.trials.pop(topic)
        return [] if name is None else trials[name].held

    def flush(self) -> list[Finding]:
        found = []
        for topic in list(self.trials):
            found += self._judge(topic, final=True)
        for name, detector in self.detectors.items():
            topics = [t for t, chosen in self.chosen.items() if chosen == name]
            found += detector.flush(None if not self.learn else topics)
        return found

    def fields(self) -> dict[str, str | None]:
        """Per topic, the field its sequence check used (None: no field was a sequence)."""
        if not self.learn:
            return {}
        return dict(sorted(self.chosen.items()))

    def carry(self, other: SequenceChecks) -> None:
        """Keep the fields ``other`` chose (after a restart)."""
        self.chosen.update(other.chosen)
