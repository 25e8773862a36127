"""SASL PLAIN and SCRAM logins through a cluster profile; wrong passwords fail clearly."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_bad_input import assert_one_line_error

pytestmark = pytest.mark.kafka


@pytest.fixture
def profiles(tmp_path, kafka_sasl_bootstrap):
    path = tmp_path / "config.toml"
    path.write_text(f"""
[clusters.plain]
bootstrap = "{kafka_sasl_bootstrap}"
security_protocol = "SASL_PLAINTEXT"
sasl_mechanism = "PLAIN"
username = "alice"
password = "alice-secret"

[clusters.scram]
bootstrap = "{kafka_sasl_bootstrap}"
security_protocol = "SASL_PLAINTEXT"
sasl_mechanism = "SCRAM-SHA-256"
username = "bob"
password_env = "EVTUI_TEST_BOB_PASSWORD"

[clusters.wrong-plain]
bootstrap = "{kafka_sasl_bootstrap}"
security_protocol = "SASL_PLAINTEXT"
sasl_mechanism = "PLAIN"
username = "alice"
password = "not-alices-password-42"

[clusters.wrong-scram]
bootstrap = "{kafka_sasl_bootstrap}"
security_protocol = "SASL_PLAINTEXT"
sasl_mechanism = "SCRAM-SHA-256"
username = "bob"
password = "not-bobs-password-42"
""")
    return path


@pytest.mark.parametrize("cluster", ["plain", "scram"])
def test_login_through_profile(cluster, profiles, new_topic, produce, evtui_cli):
    topic = new_topic()
    produce(topic, [{"key": b"k", "value": b'{"ok": true}'}])
    proc = evtui_cli(
        "tail",
        topic,
        "--cluster",
        cluster,
        "--config",
        str(profiles),
        "--from",
        "beginning",
        "--until",
        "end",
        "--format",
        "json",
        env={"EVTUI_TEST_BOB_PASSWORD": "bob-secret"},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert [json.loads(x)["value"] for x in proc.stdout.decode().splitlines()] == [{"ok": True}]


@pytest.mark.parametrize(
    ("cluster", "password"),
    [
        ("wrong-plain", "not-alices-password-42"),
        ("wrong-scram", "not-bobs-password-42"),
    ],
)
def test_wrong_password_fails_clearly_without_echoing_it(
    cluster, password, profiles, evtui_cli, monkeypatch
):
    monkeypatch.setenv("EVTUI_CONFIG", str(profiles))
    # -v is the root's option (before the command): the client's own log on stderr
    proc = evtui_cli("-v", "tail", "anything", "--cluster", cluster, "--timeout", "8")
    everything = proc.stdout + proc.stderr
    assert proc.returncode == 1 and b"authentication failed" in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) > 1  # the client's log was there to leak from
    assert password.encode() not in everything
    # -v logs client activity; without it the error is exactly one line
    quiet = evtui_cli("tail", "anything", "--cluster", cluster, "--timeout", "8")
    line = assert_one_line_error(quiet, "authentication failed")
    assert password not in line
