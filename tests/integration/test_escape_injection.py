"""Terminal escape injection on the real broker (issue 19, part 1): the CLI's human-readable
outputs show other people's control characters escaped; JSON stays exact, --raw byte-exact."""

from __future__ import annotations

import base64
import json

import pytest

from tests.unit.test_escape_injection import BIDI, HOSTILE, no_control

pytestmark = pytest.mark.kafka


def test_tail_text_escapes_keys_and_headers_and_json_stays_exact(
    kafka_bootstrap, new_topic, produce, evtui_cli
):
    topic = new_topic()
    produce(
        topic,
        [
            {
                "key": HOSTILE.encode(),
                "value": b'{"note": "\\u001b[2J"}',
                "headers": [("x\x1b[31m", HOSTILE.encode()), ("bidi", BIDI.encode())],
            }
        ],
    )
    base = ["tail", topic, "-b", kafka_bootstrap, "--from", "beginning", "--until", "end"]
    text = evtui_cli(*base, "--headers")
    assert text.returncode == 0, text.stderr.decode()
    out = text.stdout.decode()
    assert no_control(out, keep="\n") and "key=k\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in out
    assert "x\\x1b[31m=k\\x1b]52" in out and "invoice\\u202egnp.exe" in out
    as_json = json.loads(evtui_cli(*base, "-F", "json").stdout)
    assert as_json["key"] == HOSTILE and as_json["headers"][0] == ["x\x1b[31m", HOSTILE]
    raw = json.loads(evtui_cli(*base, "-F", "json", "--raw").stdout)
    assert base64.b64decode(raw["key"]) == HOSTILE.encode()


def test_lag_shows_a_hostile_group_name_escaped(kafka_bootstrap, new_topic, produce, evtui_cli):
    from confluent_kafka import Consumer, TopicPartition

    topic = new_topic()
    produce(topic, [{"value": b"x"} for _ in range(3)])
    group = "g\x1b[2J\x1b]0;pwned\x07"
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group})
    consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    consumer.close()
    text = evtui_cli("lag", "-b", kafka_bootstrap, "--group", group)
    assert text.returncode in (0, 1), text.stderr.decode()
    out = text.stdout.decode()
    assert no_control(out, keep="\n") and "g\\x1b[2J\\x1b]0;pwned\\x07" in out
    as_json = json.loads(evtui_cli("lag", "-b", kafka_bootstrap, "--group", group,
                                   "-F", "json").stdout.decode().splitlines()[0])  # fmt: skip
    assert [g["group"] for g in as_json["groups"]] == [group]


def test_error_lines_quoting_user_text_escape_it(evtui_cli):
    done = evtui_cli("tail", "t", "-b", "127.0.0.1:1", "--filter", 'value.x == "\x1b[2J')
    err = done.stderr.decode()
    assert done.returncode == 2 and err.startswith("evtui: error: ")
    assert no_control(err, keep="\n") and "\\x1b[2J" in err


def test_a_hostile_topic_pattern_is_quoted_escaped(kafka_bootstrap, evtui_cli):
    for command in ("tail", "check", "trace"):
        args = ("abcdefgh",) if command == "trace" else ()
        done = evtui_cli(command, *args, "^t\x1b[2J", "-b", kafka_bootstrap)
        err = done.stderr.decode()
        assert done.returncode == 2, (command, err)
        assert no_control(err, keep="\n") and "'^t\\x1b[2J'" in err, (command, err)
