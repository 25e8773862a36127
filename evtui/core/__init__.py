"""The pure core of evtui: no Textual, no confluent-kafka imports here.

Everything here is data in, data out, and is tested without a broker. The modules:

- events and what is read from them, one direction: ``event`` (the record) below
  ``decode`` (payload decoders) below ``ids`` (correlation, causation and trace identity);
- the live window: ``store``, ``tailview``, ``filters``, ``positions``, ``text``, ``output``;
- traces: ``traces`` (the public names) over ``trace_links``, ``trace_collect`` (who belongs
  to a trace), ``trace_index`` (the console's index), ``trace_graph``, ``trace_render``;
- ordering: ``ordering`` (the Checker) over ``detectors/`` (one detector per module) and
  ``violations`` (findings grouped for people);
- ``lag`` (over ``lag_commits``, the commit records read), ``lag_text``, ``cluster``, the
  flow model (``flow``, ``flow_declared``, ``flow_lanes``, ``flow_render``), ``replay``
  (plans and checkpoints), ``recording*`` (the file format), ``schemas``, ``native`` (the
  compiled hot path, with the same semantics in Python).

A new decoder is a :class:`~evtui.core.decode.Decoder` registered by a plugin (evtui's own
in ``evtui/builtins.py``); a new detector is a module in ``detectors/`` run by the Checker,
or a plugin's detector factory.
"""

# Events read their values and ids through the layers above them (event -> decode -> ids):
# importing ids (and so decode) installs those readers before any event is read.
from evtui.core import ids as _ids  # noqa: F401
