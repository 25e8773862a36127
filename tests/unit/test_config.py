import pytest

from evtui.config import REDACTED, Secret, parse_x_options, resolve_client_config
from evtui.errors import ConfigError, UsageError

PROFILES = """
[clusters.local]
bootstrap = "127.0.0.1:19092"

[clusters.sasl]
bootstrap = "127.0.0.1:19093"
security_protocol = "SASL_PLAINTEXT"
sasl_mechanism = "SCRAM-SHA-256"
username = "bob"
password = "bob-secret"

[clusters.fromenv]
bootstrap = "h:1"
username = "u"
password_env = "EVTUI_TEST_PW"

[clusters.fromenv.properties]
"ssl.key.password" = "keypw"
"socket.timeout.ms" = 5000
"""


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(PROFILES)
    return path


def test_profile_builds_librdkafka_properties(cfg):
    c = resolve_client_config(cluster="sasl", config=cfg)
    props = c.to_librdkafka()
    assert props == {
        "bootstrap.servers": "127.0.0.1:19093",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "bob",
        "sasl.password": "bob-secret",
    }
    assert c.redacted()["sasl.password"] == REDACTED
    assert "bob-secret" not in repr(c) and "bob-secret" not in str(c.properties)


def test_precedence_profile_then_bootstrap_then_x(cfg):
    c = resolve_client_config(
        cluster="local",
        bootstrap="other:9092",
        x_options=["bootstrap.servers=x:1", "client.id=me"],
        config=cfg,
    )
    assert c.to_librdkafka() == {"bootstrap.servers": "x:1", "client.id": "me"}


def test_config_path_from_environment(cfg, monkeypatch):
    monkeypatch.setenv("EVTUI_CONFIG", str(cfg))
    assert resolve_client_config(cluster="local").bootstrap == "127.0.0.1:19092"


def test_password_from_environment_and_secret_properties(cfg, monkeypatch):
    monkeypatch.setenv("EVTUI_TEST_PW", "pw-from-env")
    c = resolve_client_config(cluster="fromenv", config=cfg)
    props = c.to_librdkafka()
    assert props["sasl.password"] == "pw-from-env"
    assert props["ssl.key.password"] == "keypw"
    assert props["socket.timeout.ms"] == "5000"
    assert c.scrub("bad value pw-from-env and keypw") == f"bad value {REDACTED} and {REDACTED}"


def test_missing_password_env_is_clear(cfg, monkeypatch):
    monkeypatch.delenv("EVTUI_TEST_PW", raising=False)
    with pytest.raises(ConfigError, match=r"EVTUI_TEST_PW .* is not set"):
        resolve_client_config(cluster="fromenv", config=cfg)


def test_unknown_cluster_lists_profiles(cfg):
    with pytest.raises(
        ConfigError, match=r"unknown cluster 'prod'.*profiles: fromenv, local, sasl"
    ):
        resolve_client_config(cluster="prod", config=cfg)


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[clusters.x\nbootstrap=1")
    with pytest.raises(ConfigError, match="invalid TOML"):
        resolve_client_config(cluster="x", config=bad)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_client_config(cluster="x", config=tmp_path / "nope.toml")
    typo = tmp_path / "typo.toml"
    typo.write_text('[clusters.x]\nbootstrap = "h:1"\npasword = "oops"\n')
    with pytest.raises(ConfigError, match="unknown field pasword"):
        resolve_client_config(cluster="x", config=typo)


def test_x_options():
    props = parse_x_options(["a=b", "c=d=e", "sasl.password=s3cret"])
    assert props["a"] == "b" and props["c"] == "d=e"
    assert isinstance(props["sasl.password"], Secret)
    with pytest.raises(UsageError) as err:
        parse_x_options(["sasl.password"])
    assert "expected key=value" in str(err.value)
    with pytest.raises(UsageError) as err:
        parse_x_options(["=x"])


def test_no_cluster_given():
    with pytest.raises(UsageError, match="no cluster given"):
        resolve_client_config()


def test_secret_never_formats():
    s = Secret("hunter2")
    assert "hunter2" not in f"{s} {s!r} {s:>20}" + str([s])
    assert s.reveal() == "hunter2"
