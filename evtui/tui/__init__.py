"""The Textual console: a thin layer that renders state and pulls batches on timers.

``app`` wires the tabs, keys and timers; ``feed`` pulls the tail's batches off the
reading thread into the bounded window; ``backend`` is the protocol the console reads a
cluster, the demo or a recording through (opened by :mod:`evtui.application.backends`);
``widgets/`` holds the tabs' panes and tables, ``screens/`` the screens pushed over them
(detail, trace, help, prompt, replay). A new tab is a pane in ``widgets/`` added in
``app.compose``; a new screen goes in ``screens/``. Kafka work never runs here, only in
sources and pollers on their own threads.
"""
