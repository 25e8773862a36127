"""``evtui check`` on the real broker: the demo's injected faults, exactly, and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.kafka

KINDS = {
    "sequence_regression": "out_of_order",
    "duplicate_event": "duplicate",
    "event_time_regression": "time_backwards",
    "causal_inversion": "cause_after_effect",
    "orphan": "orphan",
}


def produce_demo(bootstrap: str, tmp_path, *faults: str) -> tuple[str, dict]:
    prefix = f"chk{uuid.uuid4().hex[:6]}-"
    truth = tmp_path / "truth.json"
    done = subprocess.run(
        [sys.executable, "-m", "evtui", "demo", "--headless", "-b", bootstrap,
         "--duration", "6s", "--rate", "250", "--seed", "21", "--partitions", "2",
         "--topic-prefix", prefix, "--group-prefix", prefix, "--truth", str(truth), *faults],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return prefix, json.loads(truth.read_text())


def event_ids(bootstrap: str, prefix: str) -> dict[str, str | None]:
    """ref -> event id of every record on the demo's topics."""
    from evtui.config import ClientConfig
    from evtui.core.positions import BEGINNING, END
    from evtui.sources.kafka import KafkaSource

    source = KafkaSource(ClientConfig({"bootstrap.servers": bootstrap}), [f"^{prefix}"],
                         BEGINNING, END).open()  # fmt: skip
    out: dict[str, str | None] = {}
    source.start()
    try:
        while (batch := source.get_batch(1.0)) is not None:
            for e in batch:
                out[f"{e.topic}/{e.partition}/{e.offset}"] = e.ids.event_id
    finally:
        source.stop()
    return out


def test_check_reports_exactly_the_injected_faults(evtui_cli, kafka_bootstrap, tmp_path):
    faults = ["--fault", "out_of_order=0.05", "--fault", "duplicate=0.03", "--fault",
              "orphan=0.05", "--fault", "cause_after_effect=0.05", "--fault",
              "time_backwards=0.05"]  # fmt: skip
    prefix, truth = produce_demo(kafka_bootstrap, tmp_path, *faults)
    done = evtui_cli("check", f"^{prefix}", "-b", kafka_bootstrap, "-F", "json")
    assert done.returncode == 1, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["scanned"] == truth["emitted"]
    ids = event_ids(kafka_bootstrap, prefix)
    warnings = [v for v in report["violations"] if v["severity"] == "warning"]
    got = sorted((KINDS[v["kind"]], ids[v["refs"][-1]]) for v in warnings)
    expected = sorted(
        (f["kind"], f["event_ids"][-1] if f["kind"] == "out_of_order" else f["event_ids"][0])
        for f in truth["faults"]
    )
    assert len(expected) >= 20 and got == expected
    assert set(report["summary"]) <= set(KINDS) | {"offset_gap"}
    assert done.stderr.decode().strip().splitlines()[-1].startswith("evtui: error: ")


def test_a_range_from_mid_stream_calls_no_event_with_an_earlier_cause_an_orphan(
    evtui_cli, kafka_bootstrap, tmp_path
):
    prefix, truth = produce_demo(kafka_bootstrap, tmp_path, "--no-faults")
    done = evtui_cli("check", f"^{prefix}", "-b", kafka_bootstrap, "--from", "-40", "-F", "json")
    assert done.returncode == 0, done.stdout.decode()[:2000]  # the causes exist, before the range
    assert json.loads(done.stdout)["scanned"] < truth["emitted"]
    assert "not judged as orphans" in done.stderr.decode()


def test_a_clean_stream_checks_clean(evtui_cli, kafka_bootstrap, tmp_path):
    prefix, truth = produce_demo(kafka_bootstrap, tmp_path, "--no-faults")
    assert truth["faults"] == []
    done = evtui_cli("check", f"^{prefix}", "-b", kafka_bootstrap)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "no ordering violations"
    # tight memory bounds forget, and say so, but never make a false alarm
    tight = evtui_cli("check", f"^{prefix}", "-b", kafka_bootstrap, "--max-keys", "3",
                      "--max-events", "50")  # fmt: skip
    assert tight.returncode == 0, tight.stdout.decode()[:2000]
    notes = tight.stderr.decode()
    assert "forgotten at the memory bound" in notes and "not judged as orphans" in notes
    assert (
        evtui_cli("check", f"^{prefix}", "-b", kafka_bootstrap, "--rules", "nope").returncode == 2
    )
