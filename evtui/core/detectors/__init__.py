"""The ordering detectors, one per module, behind :class:`evtui.core.ordering.Checker`.

Pure: no Textual, no confluent-kafka. Each detector sees every event in stream
order (``offer``), keeps bounded per-key state (least recently used keys go
first, and are counted) and returns :class:`~evtui.core.detectors.common.Finding` s
that name the events involved, what was expected and what was seen, and the
likely cause where the pattern is known.

- ``common``: the finding, record references, bounded key state, field reading, compaction;
- ``sequences`` / ``sequence_checks``: per-key sequence numbers, and which field is one;
- ``duplicates``: the same event at two offsets;
- ``event_time``: event time going backwards;
- ``watermark`` / ``causes``: effects before their causes, and orphans;
- ``offsets``: offsets skipped (information only);
- ``kinds``: the finding kinds, the built-ins' and the plugins' detectors;
- ``extension``: the native extension's state seen as these detectors.

A new built-in detector goes in a module of its own here, is added to
``kinds.KINDS`` and run by the ``Checker`` (and by the extension,
``native/src/checker.rs``, which must give the same findings). A plugin's
detector is registered through ``evtui.plugins`` instead.
"""
