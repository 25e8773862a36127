"""``evtui flow`` on the real broker: the demo shop's flow is exactly its designed topology."""

from __future__ import annotations

import json
import uuid

import pytest

from evtui.sim.model import TopicNames
from evtui.sim.shop import service_groups
from tests.integration.test_demo import FAULTS, TOPICS
from tests.unit.test_flow import _self_name

pytestmark = pytest.mark.kafka


@pytest.fixture
def prefix(admin):
    p = f"flow-{uuid.uuid4().hex[:6]}-"
    yield p
    admin.delete_topics([p + t for t in TOPICS])


def names(graph_json, kind):
    nodes = {n["id"]: n for n in graph_json["nodes"]}
    return {
        (nodes[e["from"]]["name"], nodes[e["to"]]["name"])
        for e in graph_json["edges"]
        if e["kind"] == kind
    }


def test_the_demo_flow_on_the_broker_is_the_designed_topology(
    kafka_bootstrap, evtui_cli, tmp_path, prefix
):
    truth_file = tmp_path / "truth.json"
    demo = evtui_cli(
        "demo", "--headless", "-b", kafka_bootstrap, "--duration", "6s", "--rate", "250",
        "--seed", "11", "--partitions", "2", "--topic-prefix", prefix, "--group-prefix", prefix,
        "--truth", str(truth_file), *FAULTS, timeout=120,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr.decode()
    truth = json.loads(truth_file.read_text())
    events = truth["events"]

    def topic(name):
        return prefix + name.removeprefix(prefix)

    producers = {(_self_name(e["service"]), topic(e["topic"])) for e in events.values()}
    hops = {
        (topic(events[e["causation_id"]]["topic"]), topic(e["topic"]))
        for e in events.values()
        if e["causation_id"] in events
    }
    groups = {
        (prefix + t, prefix + g.name) for g in service_groups(TopicNames(), 250) for t in g.topics
    }
    done = evtui_cli("flow", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning",
                     "-F", "json", timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    graph = json.loads(done.stdout)
    assert graph["events"] == truth["emitted"]
    assert names(graph, "produces") == producers
    assert names(graph, "hop") == hops
    assert len(hops) == 7  # every hop the shop is designed with, none missing, none extra
    assert names(graph, "consumes") == groups
    text = evtui_cli("flow", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning")
    assert text.returncode == 0
    assert "hops (an event on the left caused one on the right):" in text.stdout.decode()
    mermaid = evtui_cli("flow", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning",
                        "--no-groups", "-F", "mermaid")  # fmt: skip
    lines = mermaid.stdout.decode().splitlines()
    assert lines[0] == "flowchart LR" and sum("-.->" in line for line in lines) == 7
    assert not any("{{" in line for line in lines)  # --no-groups: no group nodes


def test_no_event_is_exit_1_and_bad_input_one_line(kafka_bootstrap, evtui_cli, new_topic):
    topic = new_topic()
    empty = evtui_cli("flow", topic, "-b", kafka_bootstrap, "--from", "beginning")
    assert empty.returncode == 1
    assert empty.stderr.decode().startswith("evtui: error: no events in 1 topic (from beginning)")
    unknown = evtui_cli("flow", "no-such-topic-xyz", "-b", kafka_bootstrap)
    assert unknown.returncode == 1
    assert unknown.stderr.decode().strip().splitlines() == [
        f"evtui: error: unknown topic 'no-such-topic-xyz' on {kafka_bootstrap}"
    ]
    bad = evtui_cli("flow", topic, "-b", kafka_bootstrap, "-F", "svg")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr.decode()
    both = evtui_cli("flow", topic, "-b", kafka_bootstrap, "--since", "5m", "--from", "0")
    assert both.returncode == 2
