from evtui.core import decode
from evtui.core.event import Event
from evtui.plugins import list_plugins, load_plugins

UPPER = """
from evtui.core.decode import Decoded

class UpperDecoder:
    name = "upper"

    def decode(self, data, headers):
        if not data.startswith(b"UPPER:"):
            return None
        return Decoded("text", data[6:].decode().upper(), self.name)

def register(registry):
    registry.add_decoder(UpperDecoder(), priority=50)
"""


def test_file_plugins_load_and_broken_ones_only_warn(tmp_path, monkeypatch):
    (tmp_path / "upper.py").write_text(UPPER)
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "noregister.py").write_text("x = 1\n")
    monkeypatch.setenv("EVTUI_PLUGIN_PATH", str(tmp_path))
    try:
        listed = {p.name for p in list_plugins()}
        assert {"builtin", "upper", "broken", "noregister"} <= listed
        registry = load_plugins()
        assert registry.decoders[0].name == "upper"
        assert [d.name for d in registry.decoders[1:]] == [
            "schema-registry",
            "json",
            "text",
            "binary",
        ]
        assert any("broken" in w and "boom at import" in w for w in registry.warnings)
        assert any("noregister" in w and "no register" in w for w in registry.warnings)
        event = Event("t", 0, 0, 0, 1, None, b"UPPER:hello")
        assert event.decoded.value == "HELLO"
        assert Event("t", 0, 0, 0, 1, None, b'{"a":1}').decoded.format == "json"
    finally:
        decode.set_active_chain(decode.builtin_decoders())


def test_listing_plugins_imports_nothing(tmp_path, monkeypatch):
    (tmp_path / "explodes.py").write_text("raise SystemExit('imported!')\n")
    monkeypatch.setenv("EVTUI_PLUGIN_PATH", str(tmp_path))
    assert "explodes" in {p.name for p in list_plugins()}
