"""Bad input gets one readable line, a non-zero exit, and never a traceback."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.kafka


def assert_one_line_error(proc, fragment, code=None):
    err = proc.stderr.decode()
    assert proc.returncode != 0, err
    if code is not None:
        assert proc.returncode == code, err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("evtui: error: "), err
    assert fragment in lines[0], err
    return lines[0]


def test_unreachable_bootstrap_fails_fast(evtui_cli):
    started = time.monotonic()
    proc = evtui_cli("tail", "orders", "-b", "127.0.0.1:1", "--timeout", "3")
    elapsed = time.monotonic() - started
    line = assert_one_line_error(proc, "cannot reach Kafka at 127.0.0.1:1 within 3s")
    assert "Connection refused" in line
    assert elapsed < 15


def test_unresolvable_host(evtui_cli):
    proc = evtui_cli("tail", "orders", "-b", "no-such-host.invalid:9092", "--timeout", "3")
    assert_one_line_error(proc, "no-such-host.invalid:9092")


def test_unknown_topic_suggests_close_names(kafka_bootstrap, new_topic, evtui_cli):
    topic = new_topic()
    proc = evtui_cli("tail", topic + "x", "-b", kafka_bootstrap)
    line = assert_one_line_error(proc, f"unknown topic '{topic}x'")
    assert f"did you mean {topic}" in line


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--from", "yesterday-ish"], "invalid --from 'yesterday-ish'"),
        (["--until", "-5"], "invalid --until '-5'"),
        (["--filter", "value.amount >"], "at line 1, column 15"),
        (["--filter", "vaule.x == 1"], "unknown name 'vaule'"),
        (["--format", "xml"], "invalid --format 'xml'"),
        (["-X", "no-equals-sign"], "invalid -X 'no-equals-sign'"),
        (["-X", "no.such.property=1"], "invalid Kafka client setting"),
        (["^(unclosed"], "invalid topic pattern"),
    ],
)
def test_invalid_options(kafka_bootstrap, new_topic, evtui_cli, args, fragment):
    topic = new_topic()
    argv = ["tail", "-b", kafka_bootstrap, *args]
    if not args[0].startswith("^"):
        argv.insert(1, topic)
    assert_one_line_error(evtui_cli(*argv), fragment, code=2)


def test_no_cluster_given(evtui_cli):
    proc = evtui_cli("tail", "orders", env={"EVTUI_BOOTSTRAP_SERVERS": "", "EVTUI_CLUSTER": ""})
    assert_one_line_error(proc, "no cluster given", code=2)


def test_secret_in_bad_property_is_never_echoed(kafka_bootstrap, evtui_cli):
    proc = evtui_cli(
        "tail",
        "x",
        "-b",
        kafka_bootstrap,
        "-X",
        "sasl.password=hunter2-secret",
        "-X",
        "security.protocol=NOPE",
    )
    assert b"hunter2-secret" not in proc.stderr + proc.stdout
    assert_one_line_error(proc, "invalid Kafka client setting")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["tail"], "Missing argument"),
        (["tail", "t", "--max-events", "0"], "--max-events"),
        (["tail", "t", "--no-such-option"], "--no-such-option"),
        (["no-such-command"], "no-such-command"),
    ],
)
def test_usage_errors_are_one_line(evtui_cli, args, fragment):
    assert_one_line_error(evtui_cli(*args), fragment, code=2)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--rate", "0"], "invalid --rate 0"),
        (["--rate", "-5"], "invalid --rate -5"),
        (["--duration", "0s"], "invalid --duration '0s': must be more than 0"),
        (["--duration", "soon"], "invalid --duration 'soon'"),
        (["--fault", "duplicate=2"], "RATE is a probability"),
        (["--fault", "gremlins=0.1"], "KIND one of out_of_order"),
        (["--headless"], "--headless generates traffic on a cluster"),
        (["--stop-group-after", "-1"], "invalid --stop-group-after"),
    ],
)
def test_demo_invalid_options(evtui_cli, args, fragment):
    proc = evtui_cli("demo", *args, env={"EVTUI_BOOTSTRAP_SERVERS": "", "EVTUI_CLUSTER": ""})
    assert_one_line_error(proc, fragment, code=2)


def test_demo_truth_file_in_a_missing_folder_fails_before_running(evtui_cli, tmp_path):
    proc = evtui_cli(
        "demo",
        "--duration",
        "1s",
        "--truth",
        str(tmp_path / "nope" / "t.json"),
        env={"EVTUI_BOOTSTRAP_SERVERS": "", "EVTUI_CLUSTER": ""},
    )
    assert_one_line_error(proc, "folder", code=2)
    assert proc.stdout == b""  # nothing ran
