"""evtui trace's --format: plugin formats are valid, used, and fail in one line."""

from __future__ import annotations

import io
import json

import pytest

from evtui import plugins
from evtui.commands.trace import check_format, emit
from evtui.core import decode
from evtui.core.event import Event
from evtui.core.ordering import set_plugin_detectors
from evtui.core.traces import build_trace
from evtui.errors import EvtuiError, UsageError
from evtui.plugins import Registry


def a_trace():
    value = json.dumps({"eventId": "e1", "correlationId": "c-1"}).encode()
    return build_trace("c-1", [Event("t", 0, 0, 1_767_225_600_000, 1, None, value)])


def fake_registry():
    registry = Registry()
    registry.current = "fake"
    registry.add_exporter("refs", "trace", lambda t, out: out.write(f"{t.events[0].ref}\n"))

    def broken(t, out):
        out.write("half a docu")
        raise RuntimeError("boom\nsecond line")

    registry.add_exporter("broken", "trace", broken)
    return registry


def test_an_unknown_format_is_one_usage_error_naming_builtins_and_plugins():
    with pytest.raises(UsageError) as info:
        check_format("yaml", fake_registry())
    message = str(info.value)
    assert "\n" not in message
    assert "yaml" in message
    for name in ("tree", "json", "dot", "mermaid", "refs", "broken"):
        assert name in message


def test_plugin_and_builtin_formats_are_valid():
    registry = fake_registry()
    assert check_format("refs", registry) == "refs"
    assert check_format("json", registry) == "json"


def test_the_active_registry_is_the_default(monkeypatch):
    monkeypatch.setattr(plugins, "_loaded", fake_registry())
    assert check_format("refs") == "refs"
    out = io.StringIO()
    emit(a_trace(), "refs", out)
    assert out.getvalue() == "t[0]@0\n"


def test_a_plugin_format_writes_the_trace_object():
    out = io.StringIO()
    emit(a_trace(), "refs", out, registry=fake_registry())
    assert out.getvalue() == "t[0]@0\n"


def test_a_builtin_format_still_renders():
    out = io.StringIO()
    emit(a_trace(), "json", out, registry=fake_registry())
    assert json.loads(out.getvalue())["correlation_id"] == "c-1"


def test_a_failing_exporter_is_one_error_line_and_no_half_document():
    out = io.StringIO()
    with pytest.raises(EvtuiError) as info:
        emit(a_trace(), "broken", out, registry=fake_registry())
    assert not isinstance(info.value, UsageError)
    assert str(info.value) == "format broken (plugin fake) failed: RuntimeError: boom"
    assert out.getvalue() == ""


def test_the_otlp_plugin_is_loaded_through_its_entry_point():
    registry = plugins.load_plugins(files=False)
    try:
        assert "otlp" in registry.formats("trace")
        out = io.StringIO()
        emit(a_trace(), "otlp", out, registry=registry)
        assert json.loads(out.getvalue())["resourceSpans"]
    finally:
        plugins._loaded = None
        decode.set_active_chain(decode.builtin_decoders())
        set_plugin_detectors(())
