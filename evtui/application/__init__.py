"""The application layer: what evtui does, for both of its faces.

The CLI commands (:mod:`evtui.commands`, :mod:`evtui.cli`) and the console
(:mod:`evtui.tui`) are two faces over the same work, and that work lives here:
opening sources and pollers (:mod:`.backends`: a cluster, the in-process demo, a
recording), planning and running a replay (:mod:`.replay`), building the demo's
simulator and its load on a cluster (:mod:`.demo`), and the connection options
every command shares (:mod:`.connection`).

Below it are the pure core (:mod:`evtui.core`), the simulator (:mod:`evtui.sim`)
and the sources (:mod:`evtui.sources`: the Kafka clients, files, the demo). It
imports neither :mod:`evtui.commands` nor :mod:`evtui.tui`, and prints nothing:
each face shows the results its own way (the CLI prints, the console renders).
A use case that both faces need goes here; what only one shows (options,
progress bars, screens) stays in that face.
"""
