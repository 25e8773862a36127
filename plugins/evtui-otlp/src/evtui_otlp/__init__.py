"""evtui plugin: ``evtui trace ID --format otlp`` writes the trace as OTLP/JSON.

The document is an ``ExportTraceServiceRequest`` in the OTLP protobuf JSON
mapping, ready to be POSTed to an OTLP/HTTP collector's ``/v1/traces``. See
:mod:`evtui_otlp.export` for the mapping and the README for the choices.
"""

from __future__ import annotations

from typing import Any

from evtui_otlp.export import to_otlp, write

__all__ = ["register", "to_otlp", "write"]

HELP = "OTLP/JSON (ExportTraceServiceRequest) for an OTLP/HTTP collector's /v1/traces"


def register(registry: Any) -> None:
    registry.add_exporter("otlp", "trace", write, help=HELP)
