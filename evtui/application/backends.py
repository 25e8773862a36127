"""Where the console's data comes from: a Kafka cluster, the in-process demo simulator or a file.

Each backend gives the same two things: cluster pollers (the overview, the header, the
lag tab) and ``open_tail(topics, start)``, which returns a started source; a cluster's
also plans and runs a replay. The console reads them through
:class:`evtui.tui.backend.Backend`; the CLI picks and builds one (``evtui``, ``evtui
open FILE``, ``evtui demo``) and hands it to the console. No Textual here; opening runs
in a worker thread because it talks to the network.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from evtui.application.demo import DemoOptions, demo_source, make_simulator
from evtui.config import ClientConfig
from evtui.core.positions import Position
from evtui.errors import EvtuiError
from evtui.sources.base import Source
from evtui.sources.demo import DemoSource

if TYPE_CHECKING:
    from collections.abc import Callable

    from evtui.application.replay import Copier, ReplayReport, ReplayRequest
    from evtui.core.lag import LagReport
    from evtui.core.recording import Recording
    from evtui.core.replay import ReplayPlan, Selection
    from evtui.sim.kafka_load import DemoLoad
    from evtui.sources.cluster import ClusterPoller, DemoClusterPoller
    from evtui.sources.lag import DemoLagPoller, LagPoller
    from evtui.sources.recording import RecordingLagPoller, RecordingPoller


class KafkaBackend:
    """A real cluster, read-only: assign-only consumers and admin metadata polls."""

    cluster_hints = True

    def __init__(
        self, config: ClientConfig, *, timeout: float = 10.0, poll_interval: float = 2.0
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.name = config.bootstrap
        self.default_topics: list[str] = []
        self.load: DemoLoad | None = None  # set when `evtui demo` produces to this cluster

    def make_poller(self) -> ClusterPoller:
        from evtui.sources.cluster import ClusterPoller

        return ClusterPoller(self.config, interval=self.poll_interval, timeout=self.timeout)

    def make_lag_poller(self) -> LagPoller:
        from evtui.sources.lag import LagPoller

        return LagPoller(self.config, interval=self.poll_interval, timeout=self.timeout)

    def read_exact(self, report: LagReport, group: str) -> dict[tuple[str, int], int]:
        """Timestamps of the records at ``group``'s committed offsets (a worker thread)."""
        from evtui.sources.lag import record_times

        wanted = {
            (p.topic, p.partition): max(p.committed, p.start)
            for g in report.groups
            if g.group == group
            for p in g.partitions
            if p.lag and p.committed is not None
        }
        return record_times(self.config, wanted, self.timeout)

    def open_tail(self, topics: list[str], start: Position) -> Source:
        from evtui.sources.kafka import KafkaSource

        source = KafkaSource(self.config, topics, start, timeout=self.timeout).open()
        try:  # the ordering checks must know them: compaction removes records legitimately
            source.compacted = source.compacted_topics()
        except EvtuiError:
            source.compacted = frozenset()  # not allowed to tell: read as if none compacted
        source.start()
        return source

    def plan_replay(self, selection: Selection, request: ReplayRequest) -> ReplayPlan:
        """The plan of a replay within this cluster (a worker thread; writes nothing)."""
        # lazy: the replay engine loads confluent_kafka, which a file or demo never needs
        from evtui.application.replay import plan_selection

        return plan_selection(self.config, selection, request, self.timeout)

    def run_replay(
        self,
        selection: Selection,
        request: ReplayRequest,
        on_start: Callable[[Copier], None],
        replay_id: str | None = None,
    ) -> ReplayReport:
        """Copy a slice within this cluster (a worker thread), as the plan ``replay_id``."""
        from evtui.application.replay import execute_selection

        return execute_selection(
            self.config, selection, request, on_start, self.timeout, replay_id=replay_id
        )

    def close(self) -> None:
        if self.load is not None:
            self.load.stop()


class DemoBackend:
    """The simulated shop in-process: a clock source keeps the sim and its groups going."""

    cluster_hints = False  # no cluster holds its events: never suggest a cluster command

    def __init__(
        self,
        options: DemoOptions,
        *,
        start_ms: int | None = None,
        elapsed_ms: int = 0,
        poll_interval: float = 2.0,
    ) -> None:
        """``elapsed_ms``: the simulation has already run this long (its history is there)."""
        self.options = options
        self.poll_interval = poll_interval
        sim = make_simulator(options, start_ms)
        self.start_ms = sim.start_ms
        self.name = f"demo (seed {options.seed}, {options.rate:g} ev/s)"
        self.default_topics = sim.topics.all()
        self.clock: DemoSource = demo_source(options, sim, elapsed_ms)
        self._stop = threading.Event()
        self.clock.start()
        threading.Thread(target=self._drain_clock, name="evtui-demo-clock", daemon=True).start()

    def _drain_clock(self) -> None:
        while not self._stop.is_set() and self.clock.get_batch(0.2) is not None:
            pass

    def make_poller(self) -> DemoClusterPoller:
        from evtui.sources.cluster import DemoClusterPoller

        return DemoClusterPoller(self.clock, interval=self.poll_interval)

    def make_lag_poller(self) -> DemoLagPoller:
        from evtui.sources.lag import DemoLagPoller

        return DemoLagPoller(self.clock, interval=self.poll_interval)

    read_exact = None  # the simulator keeps no records at offsets

    def open_tail(self, topics: list[str], start: Position) -> Source:
        source = self.clock.reopen(start, topics=topics)
        source.start()
        return source

    def close(self) -> None:
        self._stop.set()
        self.clock.stop()


class FileBackend:
    """A recording (``evtui open FILE``): the tail reads the file; no cluster, no groups."""

    cluster_hints = False

    def __init__(self, path: str | Path, *, recording: Recording | None = None) -> None:
        from evtui.core.recording import inspect_recording

        self.path = Path(path)
        self.recording = recording or inspect_recording(self.path)
        header = self.recording.header
        self.name = f"{self.path.name} (recorded from {header.source or '?'}, {header.created})"
        self.default_topics = self.recording.topics

    def make_poller(self) -> RecordingPoller:
        from evtui.sources.recording import RecordingPoller

        return RecordingPoller(self.recording)

    def make_lag_poller(self) -> RecordingLagPoller:
        from evtui.sources.recording import RecordingLagPoller

        return RecordingLagPoller()

    read_exact = None  # no cluster to read committed offsets' records from

    def open_tail(self, topics: list[str], start: Position) -> Source:
        from evtui.sources.recording import FileSource

        source = FileSource(self.path, topics, start, recording=self.recording)
        source.start()
        return source

    def close(self) -> None:
        pass
