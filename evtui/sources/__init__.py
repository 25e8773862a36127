"""Sources adapt the outside world (Kafka, files, the demo simulator) to Events.

A source yields batches of :class:`~evtui.core.event.Event` (``base.Source``); a poller
reads something on a timer off the UI thread (``cluster``, ``lag``). ``kafka_client`` is
the one place the Kafka clients are configured; ``target`` is the only writer (a replay's
target). A new source (another broker, another file format) is a module here that yields
Events; the application layer (:mod:`evtui.application.backends`) opens it for the
console and the commands.
"""
