"""evtui's built-in decoders, registered through the plugin registry like any plugin.

Reached only through the entry point ``builtin = "evtui.builtins:register"`` (group
``evtui.plugins``): the registry (:mod:`evtui.plugins`) names it, never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evtui.core.decode import BinaryDecoder, JsonDecoder, SchemaRegistryDecoder, TextDecoder

if TYPE_CHECKING:
    from evtui.plugins import Registry


def register(registry: Registry) -> None:
    registry.add_decoder(SchemaRegistryDecoder(), priority=100)
    registry.add_decoder(JsonDecoder(), priority=200)
    registry.add_decoder(TextDecoder(), priority=300)
    registry.add_decoder(BinaryDecoder(), priority=400)
