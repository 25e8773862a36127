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
        assert registry.decoders_of("builtin") == ["schema-registry", "json", "text", "binary"]
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


DETECTOR = """
from evtui.core.ordering import Finding, WARNING

class Big:
    def offer(self, event):
        if len(event.value or b"") > 10:
            return [Finding("big_value", WARNING, event.topic, event.partition, event.offset,
                            None, (event.ref,), "10 bytes or fewer", "more", "too big")]
        return []

    def finish(self):
        return []

def register(registry):
    registry.add_detector(("big_value",), Big)
    registry.add_exporter("upper", "trace", lambda trace, out: None, "test format")
"""

HALF = """
def register(registry):
    registry.add_detector(("half_kind",), object)
    registry.add_exporter("json", "trace", print)  # taken: the whole plugin is undone
"""


def test_detectors_exporters_and_a_half_registered_plugin_undone(tmp_path, monkeypatch):
    from evtui.core.ordering import Checker, all_kinds, set_plugin_detectors
    from evtui.core.problems import RecordProblems

    (tmp_path / "big.py").write_text(DETECTOR)
    (tmp_path / "half.py").write_text(HALF)
    monkeypatch.setenv("EVTUI_PLUGIN_PATH", str(tmp_path))
    try:
        registry = load_plugins()
        assert "big_value" in all_kinds() and "half_kind" not in all_kinds()
        assert registry.formats("trace")[-1] == "upper"
        assert any("half" in w and "format 'json' of evtui trace is taken" in w
                   for w in registry.warnings)  # fmt: skip
        assert str(tmp_path / "half.py") in registry.failed
        checker = Checker(("big_value",))
        events = [Event("t", 0, i, 0, 1, None, b"x" * (5 + 5 * i)) for i in range(3)]
        checker.offer_batch(events, RecordProblems())
        assert [(f.kind, f.offset) for f in checker.finish()] == [("big_value", 2)]
    finally:
        monkeypatch.delenv("EVTUI_PLUGIN_PATH")
        load_plugins(files=False)
        set_plugin_detectors(())


def test_disabled_plugins_are_not_loaded(tmp_path, monkeypatch):
    (tmp_path / "upper.py").write_text(UPPER)
    monkeypatch.setenv("EVTUI_PLUGIN_PATH", str(tmp_path))
    monkeypatch.setenv("EVTUI_DISABLE_PLUGINS", f"{tmp_path / 'upper.py'}")
    try:
        registry = load_plugins()
        assert registry.disabled == [str(tmp_path / "upper.py")]
        assert "upper" not in [d.name for d in registry.decoders]
    finally:
        monkeypatch.delenv("EVTUI_PLUGIN_PATH")
        monkeypatch.delenv("EVTUI_DISABLE_PLUGINS")
        load_plugins(files=False)


def test_registry_urls_and_profiles_keep_the_password_secret(tmp_path):
    import pytest

    from evtui.config import parse_registry_url, resolve_schema_registry
    from evtui.errors import ConfigError, UsageError

    s = parse_registry_url("https://svc:p%40ss@registry.example:8081/apis/ccompat/v7/")
    assert s.url == "https://registry.example:8081/apis/ccompat/v7"
    assert s.username == "svc" and s.password.reveal() == "p@ss"
    assert "p@ss" not in repr(s) and s.client_conf()["basic.auth.user.info"] == "svc:p@ss"
    with pytest.raises(UsageError) as bad:
        parse_registry_url("ftp://u:topsecret@host")
    assert "topsecret" not in str(bad.value)
    config = tmp_path / "c.toml"
    config.write_text(
        '[clusters.a]\nbootstrap = "b:9092"\n'
        '[clusters.a.schema_registry]\nurl = "http://r:8081"\nusername = "u"\n'
        'password = "pw"\nssl_ca = "/ca.pem"\n'
    )
    profile = resolve_schema_registry(None, "a", str(config))
    assert (profile.url, profile.username, profile.ssl_ca) == ("http://r:8081", "u", "/ca.pem")
    given = resolve_schema_registry("http://other:1", "a", str(config))  # the url only
    assert (given.url, given.username, given.password.reveal()) == ("http://other:1", "u", "pw")
    config.write_text('[clusters.a]\nbootstrap = "b"\n[clusters.a.schema_registry]\nuri = "x"\n')
    with pytest.raises(ConfigError, match="unknown key uri"):
        resolve_schema_registry(None, "a", str(config))


RULE = """
from evtui.core.ids import IdRule

def register(registry):
    registry.add_id_rule(IdRule(field="service", header="x-app-name"))
"""


def test_a_plugins_identity_rule_names_the_service(tmp_path, monkeypatch):
    from evtui.config import install_id_rules
    from evtui.core.ids import set_rules

    (tmp_path / "rule.py").write_text(RULE)
    monkeypatch.setenv("EVTUI_PLUGIN_PATH", str(tmp_path))
    try:
        registry = load_plugins()
        assert registry.contributions(str(tmp_path / "rule.py")) == ["id rule service"]
        install_id_rules(None, [rule for rule, _ in registry.id_rules])
        event = Event("t", 0, 0, 0, 1, None, b'{"a": 1}', (("x-app-name", b"billing"),))
        assert event.ids.service == "billing"
    finally:
        monkeypatch.delenv("EVTUI_PLUGIN_PATH")
        load_plugins(files=False)
        set_rules()
