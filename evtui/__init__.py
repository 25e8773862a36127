"""evtui: a terminal console for event-driven systems on Apache Kafka.

The packages, bottom to top (each imports only those below it; ``tests/unit/test_layers.py``
holds the rules):

- :mod:`evtui.core`: the pure core (events, identity, decoding, traces, detectors, lag,
  flow, replay plans, recordings): no Textual, no Kafka client.
- :mod:`evtui.sim`: the demo's simulated shop (pure, deterministic for a seed).
- :mod:`evtui.sources`: the outside world (Kafka, files, the demo) as events and polls.
- :mod:`evtui.application`: what both faces do (open sources and pollers, plan and run a
  replay, build the demo, connection options).
- the two faces: :mod:`evtui.commands` with :mod:`evtui.cli` (headless, for scripts and
  CI), and :mod:`evtui.tui` (the console). They never import each other;
  ``evtui.commands.console`` launches the console.

Beside them: :mod:`evtui.plugins` (the registry every decoder, identity rule, detector,
exporter and command comes through, evtui's own in :mod:`evtui.builtins` included),
:mod:`evtui.config` (profiles and client settings), :mod:`evtui.errors`,
:mod:`evtui.paths`, :mod:`evtui.runtime` (process tuning).
"""

__version__ = "0.1.0"
