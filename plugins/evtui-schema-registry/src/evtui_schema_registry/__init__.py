"""evtui plugin: Avro, Protobuf and JSON Schema values decoded through a Schema Registry.

Registered through the ``evtui.plugins`` entry point like any third-party plugin.
It adds a decoder (ahead of the built-ins; it claims only wire-format values)
and a detector of ``schema_regression`` and ``schema_unknown`` findings. The
registry comes from ``--schema-registry`` / ``$EVTUI_SCHEMA_REGISTRY_URL`` or
the cluster profile's ``schema_registry`` table; without one, the plugin
decodes nothing and the built-ins show registry payloads as bytes.
"""

from __future__ import annotations

from typing import Any

from .decoder import RegistryDecoder
from .evolution import KINDS, EvolutionDetector
from .store import SchemaStore

__all__ = ["RegistryDecoder", "SchemaStore", "register"]
__version__ = "0.1.0"

_stores: dict[tuple, SchemaStore] = {}


def store_for(settings: Any) -> SchemaStore | None:
    """One store per registry settings (commands load plugins once; tests many times)."""
    if settings is None:
        return None
    conf = settings.client_conf()
    key = tuple(sorted(conf.items()))
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = SchemaStore(conf, scrub=settings.scrub)
    return store


def register(registry: Any) -> None:
    store = store_for(registry.settings.schema_registry)
    registry.add_decoder(RegistryDecoder(store), priority=90)  # before the built-ins (100)
    registry.add_detector(KINDS, lambda: EvolutionDetector(store))
