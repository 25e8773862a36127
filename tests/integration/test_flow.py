"""``evtui flow`` on the real broker: the demo shop's flow is exactly its designed topology."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from evtui.sim.model import TopicNames
from evtui.sim.shop import service_groups
from tests.integration.test_demo import FAULTS, TOPICS
from tests.unit.test_flow import _self_name

pytestmark = pytest.mark.kafka
DATA = Path(__file__).resolve().parent.parent / "data"


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
    assert unknown.returncode == 3  # the run failed: its 1 would mean "no events"
    assert unknown.stderr.decode().strip().splitlines() == [
        f"evtui: error: unknown topic 'no-such-topic-xyz' on {kafka_bootstrap}"
    ]
    bad = evtui_cli("flow", topic, "-b", kafka_bootstrap, "-F", "svg")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr.decode()
    both = evtui_cli("flow", topic, "-b", kafka_bootstrap, "--since", "5m", "--from", "0")
    assert both.returncode == 2


def prefixed(path, prefix):
    """A declaration of the demo's flow with its topics and groups under ``prefix``."""
    doc = yaml.safe_load(path.read_text())
    if "services" in doc:
        for spec in doc["services"].values():
            for field in ("produces", "consumes", "groups"):
                spec[field] = [prefix + name for name in spec.get(field, [])]
    else:
        for channel in doc["channels"].values():
            channel["address"] = prefix + channel["address"]
        for op in doc["operations"].values():
            kafka = op.get("bindings", {}).get("kafka", {})
            if "groupId" in kafka:
                kafka["groupId"]["enum"] = [prefix + g for g in kafka["groupId"]["enum"]]
    return yaml.safe_dump(doc)


def test_drift_against_a_declared_flow_and_an_asyncapi_document(
    kafka_bootstrap, evtui_cli, tmp_path, prefix
):
    demo = evtui_cli(
        "demo", "--headless", "-b", kafka_bootstrap, "--duration", "4s", "--rate", "250",
        "--seed", "12", "--partitions", "1", "--topic-prefix", prefix, "--group-prefix", prefix,
        timeout=120,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr.decode()
    shop = tmp_path / "shop.yaml"
    shop.write_text(prefixed(DATA / "shop-flow.yaml", prefix))
    same = evtui_cli("flow", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning",
                     "--declared", str(shop))  # fmt: skip
    assert same.returncode == 0, same.stderr.decode()
    out = same.stdout.decode()
    assert f"drift against {shop}:\n  topic {prefix}notifications: read in the slice, " in out
    assert "declared, never observed" not in out and "observed, not declared" not in out
    asyncapi = tmp_path / "inventory.yaml"
    asyncapi.write_text(prefixed(DATA / "inventory-asyncapi3.yaml", prefix))
    done = evtui_cli("flow", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning",
                     "--declared", str(asyncapi), "-F", "json")  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines()[-1].startswith("evtui: error: ")
    found = {(f["kind"], f["edge"], f["from"], f["to"])
             for f in json.loads(done.stdout)["drift"]["findings"]}  # fmt: skip
    # only the inventory service is declared: every other producer and group is undeclared,
    # and nothing of inventory's own is missing
    assert ("observed_not_declared", "produces", "storefront", prefix + "orders") in found
    assert not [f for f in found if f[0] == "declared_not_observed"]
    assert not [f for f in found if f[2] in ("/shop/inventory", prefix + "inventory-service")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("services: [1, 2")
    refused = evtui_cli("flow", f"^{prefix}", "-b", "127.0.0.1:1", "--declared", str(bad))
    assert refused.returncode == 2  # before connecting: the broker address is never tried
    assert refused.stderr.decode().startswith(f"evtui: error: --declared {bad}: invalid YAML")


def test_records_that_cannot_be_read_are_counted_on_their_topic(
    kafka_bootstrap, evtui_cli, new_topic, produce
):
    """Malformed and binary payloads beside good ones: each good record makes its edge, each
    bad one is counted on its topic's node (and named on stderr), nothing stops the read."""
    topic = new_topic(partitions=2)
    good = [{"value": json.dumps({"service": "shop", "eventId": f"e{i}"}).encode(),
             "headers": [("content-type", b"application/json")], "partition": i % 2}
            for i in range(6)]  # fmt: skip
    as_json = [("content-type", b"application/json")]
    bad = [
        {"value": b'{"service": "shop", "eventId": ', "headers": as_json},  # cut short
        {"value": b"\xff\xfe{", "headers": as_json},  # said to be JSON, not even text
        {"value": b'{"a":' * 5_000 + b"1" + b"}" * 5_000},  # nested too deep
    ]
    produce(topic, good + bad)
    run = evtui_cli("flow", topic, "-b", kafka_bootstrap, "--from", "beginning", "-F", "json")
    assert run.returncode == 0, run.stderr.decode()
    graph = json.loads(run.stdout)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes[f"topic:{topic}"]["problems"] == {"unreadable records": len(bad)}
    assert nodes[f"topic:{topic}"]["count"] == len(good) + len(bad)
    assert graph["edges"][0]["from"] == "service:shop" and graph["edges"][0]["count"] == 6
    assert f"{len(bad)} records could not be read into the flow" in run.stderr.decode()
