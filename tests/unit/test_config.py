import pytest

from evtui.config import (
    REDACTED,
    Secret,
    install_id_rules,
    load_id_rules,
    parse_x_options,
    resolve_client_config,
)
from evtui.core.ids import IdRule, IdRules, active_rules, set_rules
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


# -- identity rules ([ids]) -------------------------------------------------------------------

RULES = """
[clusters.local]
bootstrap = "127.0.0.1:19092"

[ids]
ignore = ["correlationId"]

[[ids.rules]]
field = "correlation_id"
header = "X-Request-Id"

[[ids.rules]]
field = "causation_ids"
json = "metadata.correlationId"
regex = "^msg:(?P<id>.+)$"
topics = "^axon\\\\."
override = true

[[ids.rules]]
field = "causation_ids"
header = "X-Parents"
split = ","
"""


@pytest.fixture
def no_rules_after():
    yield
    set_rules()


def test_id_rules_are_parsed(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(RULES)
    got = load_id_rules(path)
    assert got == IdRules(
        (
            IdRule("correlation_id", header="X-Request-Id"),
            IdRule(
                "causation_ids",
                json="metadata.correlationId",
                regex="^msg:(?P<id>.+)$",
                topics=r"^axon\.",
                override=True,
            ),
            IdRule("causation_ids", header="X-Parents", split=","),
        ),
        ("correlationId",),
    )
    assert resolve_client_config(cluster="local", config=path).bootstrap == "127.0.0.1:19092"


def test_id_rules_absent(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(PROFILES)
    assert load_id_rules(path) is None
    monkeypatch.setenv("EVTUI_CONFIG", str(tmp_path / "nope.toml"))
    assert load_id_rules() is None  # no file where it is looked for: nothing to do
    monkeypatch.setenv("EVTUI_CONFIG", str(path))
    assert load_id_rules() is None
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist"):
        load_id_rules(tmp_path / "nope.toml")  # named with --config: must exist


def test_install_id_rules(tmp_path, no_rules_after):
    path = tmp_path / "config.toml"
    path.write_text(RULES)
    installed = install_id_rules(str(path))
    assert active_rules() is installed and len(installed.rules) == 3
    path.write_text(PROFILES)
    assert install_id_rules(str(path)) == IdRules() == active_rules()


RULE = '[[ids.rules]]\nfield = "event_id"\nheader = "x-id"\n\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            RULE + '[[ids.rules]]\nfield = "event_id"\nheder = "x"\n',
            "[[ids.rules]] #2: unknown key heder (keys: field, header, json, regex, topics, "
            "override, split)",
        ),
        (
            RULE + '[[ids.rules]]\nfield = "parent"\nheader = "x"\n',
            "[[ids.rules]] #2: unknown field 'parent' (fields: event_id, correlation_id, "
            "causation_ids, trace_id, span_id, parent_span_id, service, event_type, source)",
        ),
        (
            RULE + '[[ids.rules]]\nfield = "event_id"\nheader = "x"\njson = "y"\n',
            "[[ids.rules]] #2: give header or json, not both",
        ),
        (RULE + '[[ids.rules]]\nfield = "event_id"\n', "[[ids.rules]] #2: give header or json"),
        (RULE + '[[ids.rules]]\nheader = "x"\n', "[[ids.rules]] #2: field is missing (one of"),
        (
            '[[ids.rules]]\nfield = "event_id"\nheader = "x"\nregex = "a(b"\n',
            "[[ids.rules]] #1: regex: invalid regex 'a(b': missing ), unterminated subpattern",
        ),
        (
            '[[ids.rules]]\nfield = "event_id"\nheader = "x"\nregex = "id=\\\\w+"\n',
            "[[ids.rules]] #1: regex 'id=\\w+' has no group: mark the id as (?P<id>...) or (...)",
        ),
        (
            '[[ids.rules]]\nfield = "event_id"\nheader = "x"\ntopics = "*"\n',
            "[[ids.rules]] #1: topics: invalid regex '*'",
        ),
        (
            '[[ids.rules]]\nfield = "event_id"\njson = "a.b."\n',
            "[[ids.rules]] #1: json: invalid path 'a.b.'",
        ),
        (
            '[[ids.rules]]\nfield = "event_id"\nheader = "x"\noverride = "yes"\n',
            "[[ids.rules]] #1: override must be true or false",
        ),
        ('[[ids.rules]]\nfield = "event_id"\nheader = 1\n', "[[ids.rules]] #1: header must be"),
        (
            '[[ids.rules]]\nfield = "event_id"\nheader = "x"\nsplit = ","\n',
            '[[ids.rules]] #1: split needs field = "causation_ids"',
        ),
        ("[ids]\nrules = [1]\n", "[[ids.rules]] #1 must be a table"),
        ('[ids]\nrules = "x"\n', "[ids]: rules must be an array of tables ([[ids.rules]])"),
        ("ids = 1\n", "[ids] must be a table"),
        ("[ids]\nrule = []\n", "[ids]: unknown key rule (keys: ignore, rules)"),
        ('[ids]\nignore = "correlationId"\n', "[ids]: ignore must be a list"),
        ('[ids]\nignore = ["traceId"]\n', "[ids]: ignore: 'traceId' is not a built-in name"),
    ],
)
def test_bad_id_rules_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_id_rules(path)
    assert str(err.value).startswith(f"{path}: {message}")
    assert "\n" not in str(err.value)
