from __future__ import annotations

import itertools

import pytest

from evtui.config import parse_registry_url
from evtui.core import decode
from evtui.core.ordering import set_plugin_detectors
from evtui.plugins import Settings, load_plugins

_names = itertools.count()


@pytest.fixture
def registry_url():
    """A fresh in-memory registry (confluent-kafka's mock), with the plugin loaded on it."""
    url = f"mock://evtui-test-{next(_names)}"
    load_plugins(files=False, settings=Settings(schema_registry=parse_registry_url(url)))
    yield url
    decode.set_active_chain(decode.builtin_decoders())
    set_plugin_detectors(())


@pytest.fixture
def client(registry_url):
    from evtui_schema_registry.store import new_client

    return new_client({"url": registry_url})
