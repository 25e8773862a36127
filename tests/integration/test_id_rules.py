"""Identity rules from the config file, end to end: ``tail --filter`` and ``trace`` use them."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.kafka

CONFIG = """
[[ids.rules]]
field = "correlation_id"
header = "X-Request-Id"
regex = "^req=(?P<id>[0-9a-z-]+)$"

[[ids.rules]]
field = "event_id"
header = "X-Msg-Id"

[[ids.rules]]
field = "causation_ids"
header = "X-Parent"
override = true
"""


def record(request_id: str, msg_id: str, parent: str | None = None, **more: bytes) -> dict:
    headers = [("X-Request-Id", f"req={request_id}".encode()), ("X-Msg-Id", msg_id.encode())]
    if parent:
        headers.append(("X-Parent", parent.encode()))
    headers += [(name.replace("_", "-"), value) for name, value in more.items()]
    return {"key": request_id.encode(), "value": b'{"type": "Step"}', "headers": headers}


@pytest.fixture
def rules_topic(new_topic, produce, tmp_path):
    topic = new_topic()
    produce(
        topic,
        [
            record("r-1", "m1"),
            record("r-2", "m2"),
            record("r-1", "m3", parent="m1"),
            record("r-1", "m4", correlation_id=b"explicit"),  # the built-in name wins
            record("r-1", "m5", parent="m3", causation_id=b"other"),  # the override wins
        ],
    )
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    return topic, config


def test_tail_filters_on_a_correlation_id_from_a_header_rule(
    kafka_bootstrap, rules_topic, evtui_cli
):
    topic, config = rules_topic
    base = ["tail", topic, "-b", kafka_bootstrap, "--from", "beginning", "--until", "end"]
    done = evtui_cli(
        *base, "--format", "json", "--config", str(config), "--filter", 'correlation_id == "r-1"'
    )
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [row["offset"] for row in rows] == [0, 2, 4]

    done = evtui_cli(*base, "--config", str(config), "--filter", 'causation_ids == ["m3"]')
    assert done.returncode == 0, done.stderr.decode()
    assert len(done.stdout.decode().splitlines()) == 1 and "@4" in done.stdout.decode()

    done = evtui_cli(*base, "--filter", 'correlation_id == "r-1"')  # without the rules
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""


def test_trace_follows_the_rules(kafka_bootstrap, rules_topic, evtui_cli):
    topic, config = rules_topic
    done = evtui_cli(
        "trace", "r-1", topic, "-b", kafka_bootstrap, "--from", "beginning",
        "--format", "json", "--config", str(config),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    ids = {event["ref"]: event["event_id"] for event in result["events"]}
    assert sorted(ids.values()) == ["m1", "m3", "m5"]
    edges = {
        (ids[cause], ids[effect]) for cause, effect, kind in result["edges"] if kind == "explicit"
    }
    assert edges == {("m1", "m3"), ("m3", "m5")}


def test_a_broken_rule_is_a_one_line_error(kafka_bootstrap, tmp_path, evtui_cli):
    config = tmp_path / "config.toml"
    config.write_text('[[ids.rules]]\nfield = "correlation_id"\nheader = "x"\nregex = "req=.*"\n')
    done = evtui_cli("tail", "any", "-b", kafka_bootstrap, "--config", str(config))
    err = done.stderr.decode()
    assert done.returncode == 1 and done.stdout == b""
    assert err == (
        f"evtui: error: {config}: [[ids.rules]] #1: regex 'req=.*' has no group: "
        "mark the id as (?P<id>...) or (...)\n"
    )
