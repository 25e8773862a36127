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

KINDS = ("schema_regression", "schema_unknown")
__all__ = ["KINDS", "register"]
__version__ = "0.1.0"

_stores: dict[tuple, Any] = {}


def store_for(settings: Any) -> Any:
    """One store per registry settings (commands load plugins once; tests many times)."""
    from .store import SchemaStore

    conf = settings.client_conf()
    key = tuple(sorted(conf.items()))
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = SchemaStore(conf, scrub=settings.scrub)
    return store


class _NoRegistry:
    """The detector without a registry: nothing is decoded, so nothing to find."""

    def offer(self, event: Any) -> list:
        return []

    def finish(self) -> list:
        return []


def register(registry: Any) -> None:
    settings = registry.settings.schema_registry
    if settings is None:  # the registry client (a second of imports) is not needed
        registry.add_detector(KINDS, _NoRegistry)
        return
    from .decoder import RegistryDecoder
    from .evolution import EvolutionDetector

    store = store_for(settings)
    registry.add_decoder(RegistryDecoder(store), priority=90)  # before the built-ins (100)
    registry.add_detector(KINDS, lambda: EvolutionDetector(store))
