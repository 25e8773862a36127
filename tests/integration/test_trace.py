"""``evtui trace`` on the real broker: the simulator's flows come back exactly."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.test_demo import FAULTS

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def demo_traffic(kafka_bootstrap, tmp_path_factory):
    """The seeded shop produced to the broker once for this module, with its ground truth."""
    import subprocess
    import sys

    prefix = f"tr{uuid.uuid4().hex[:6]}-"
    truth_path = tmp_path_factory.mktemp("trace") / "truth.json"
    done = subprocess.run(
        [sys.executable, "-m", "evtui", "demo", "--headless", "-b", kafka_bootstrap,
         "--duration", "6s", "--rate", "250", "--seed", "11", "--partitions", "2",
         "--topic-prefix", prefix, "--truth", str(truth_path), *FAULTS],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return prefix, json.loads(truth_path.read_text())


def pick_flows(truth: dict) -> list[str]:
    """The longest clean flows, and every flow touched by a fault kind (one each)."""
    faulty: dict[str, str] = {}
    by_event = {eid: e["correlation_id"] for eid, e in truth["events"].items()}
    for fault in truth["faults"]:
        corr = next((by_event[i] for i in fault["event_ids"] if i in by_event), None)
        if corr is not None:
            faulty.setdefault(fault["kind"], corr)
    touched = set(faulty.values())
    clean = sorted(
        (c for c in truth["flows"] if c not in touched), key=lambda c: -len(truth["flows"][c])
    )
    return [*clean[:3], *faulty.values()]


def expected_edges(truth: dict, corr: str) -> set[tuple[str, str]]:
    events = truth["events"]
    flow = set(truth["flows"][corr])
    return {(events[e]["causation_id"], e) for e in flow if events[e]["causation_id"] in flow}


def trace_json(evtui_cli, bootstrap: str, prefix: str, wanted: str, *extra: str) -> dict:
    done = evtui_cli(
        "trace", wanted, f"^{prefix}", "-b", bootstrap, "--from", "beginning", "--format", "json",
        *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert "stopped: reached the end bound" in done.stderr.decode()
    return json.loads(done.stdout)


def check_against_truth(result: dict, truth: dict, corr: str) -> None:
    by_ref = {e["ref"]: e for e in result["events"]}
    assert {e["event_id"] for e in result["events"]} == set(truth["flows"][corr])
    explicit = {
        (by_ref[c]["event_id"], by_ref[e]["event_id"])
        for c, e, kind in result["edges"]
        if kind == "explicit"
    }
    assert explicit == expected_edges(truth, corr)
    missing = {
        truth["events"][e]["causation_id"]
        for e in truth["flows"][corr]
        if truth["events"][e]["causation_id"]
        and truth["events"][e]["causation_id"] not in truth["events"]
    }
    assert set(result["orphans"]) == missing
    for event in result["events"]:  # each on the topic the simulator sent it to
        assert event["topic"].endswith(truth["events"][event["event_id"]]["topic"])


def test_trace_reconstructs_each_flow_exactly(evtui_cli, kafka_bootstrap, demo_traffic):
    prefix, truth = demo_traffic
    flows = pick_flows(truth)
    assert len(flows) >= 5
    for corr in flows:
        result = trace_json(evtui_cli, kafka_bootstrap, prefix, corr)
        assert result["correlation_id"] == corr
        check_against_truth(result, truth, corr)
        refs = [e["ref"] for e in result["events"]]
        assert result["critical_path"] and set(result["critical_path"]) <= set(refs)


def test_trace_in_several_processes_finds_the_same_graph(evtui_cli, kafka_bootstrap, demo_traffic):
    """--jobs splits the partitions over worker processes; the result must not change."""
    prefix, truth = demo_traffic
    for corr in pick_flows(truth):
        alone = trace_json(evtui_cli, kafka_bootstrap, prefix, corr, "--jobs", "1")
        done = evtui_cli(
            "trace", corr, f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning",
            "--format", "json", "--jobs", "3",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
        assert " in 3 processes " in done.stderr.decode()
        assert json.loads(done.stdout) == alone
        check_against_truth(alone, truth, corr)
    # an event id: the flow is found only through causation chains across partitions
    corr = pick_flows(truth)[0]
    middle = truth["flows"][corr][len(truth["flows"][corr]) // 2]
    result = trace_json(evtui_cli, kafka_bootstrap, prefix, middle, "--jobs", "4")
    assert {e["event_id"] for e in result["events"]} == set(truth["flows"][corr])
    done = evtui_cli(
        "trace", "no-such-id", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning",
        "--jobs", "2",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines()[-1] == (
        "evtui: error: no events found for 'no-such-id'"
    )


def test_trace_by_an_event_id_in_the_chain_finds_the_whole_flow(
    evtui_cli, kafka_bootstrap, demo_traffic
):
    prefix, truth = demo_traffic
    corr = pick_flows(truth)[0]
    middle = truth["flows"][corr][len(truth["flows"][corr]) // 2]
    result = trace_json(evtui_cli, kafka_bootstrap, prefix, middle)
    assert {e["event_id"] for e in result["events"]} == set(truth["flows"][corr])


def test_other_formats_and_nothing_found(evtui_cli, kafka_bootstrap, demo_traffic):
    prefix, truth = demo_traffic
    corr = pick_flows(truth)[0]
    for fmt, marker in (("tree", "orders"), ("dot", "digraph"), ("mermaid", "flowchart")):
        done = evtui_cli(
            "trace", corr, f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning", "-F", fmt
        )
        assert done.returncode == 0, done.stderr.decode()
        assert marker in done.stdout.decode()
    done = evtui_cli(
        "trace", "no-such-id", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning"
    )
    assert done.returncode == 1
    err = done.stderr.decode().strip().splitlines()
    assert err[-1] == "evtui: error: no events found for 'no-such-id'"
    assert "scanned" in err[-2]
    done = evtui_cli(
        "trace",
        corr,
        f"^{prefix}",
        "-b",
        kafka_bootstrap,
        "--from",
        "beginning",
        "--max-scan",
        "10",
    )
    assert "stopped: scan limit of 10 events reached" in done.stderr.decode()


def test_trace_usage_errors(evtui_cli):
    for args, text in (
        (["trace", "x", "--since", "1h", "--from", "beginning"], "not both"),
        (["trace", "x", "--format", "svg"], "invalid --format"),
        (["trace", " "], "invalid ID"),
        (["trace", "x", "--since", "soon"], "invalid --since"),
    ):
        done = evtui_cli(*args, "-b", "127.0.0.1:1")
        assert done.returncode == 2, args
        assert text in done.stderr.decode() and "Traceback" not in done.stderr.decode()


async def test_the_trace_screen_shows_the_same_graph_as_the_cli(
    evtui_cli, kafka_bootstrap, demo_traffic
):
    from evtui.core.positions import BEGINNING
    from evtui.tui.screens.trace import TraceScreen, TraceTree
    from tests.tui.helpers import kafka_app, wait_for

    prefix, truth = demo_traffic
    app = kafka_app(kafka_bootstrap, topics=[f"^{prefix}"], start=BEGINNING)
    async with app.run_test(size=(160, 40)) as pilot:

        def indexed() -> bool:
            feed = app.tail.feed
            return (
                feed is not None
                and feed.stats.received > 0
                and feed._indexed_upto == (feed.store.next)
            )

        assert await wait_for(pilot, lambda: app.tail.feed is not None)
        assert await wait_for(pilot, lambda: app.tail.feed.stats.received >= truth["emitted"], 30)
        assert await wait_for(pilot, indexed)
        for corr in pick_flows(truth):
            app.show_trace(corr)
            await pilot.pause(0.1)
            screen = app.screen
            assert isinstance(screen, TraceScreen)
            shown = screen.trace.to_json()
            check_against_truth(shown, truth, corr)
            cli = trace_json(evtui_cli, kafka_bootstrap, prefix, corr)
            assert shown["events"] == cli["events"]
            assert shown["edges"] == cli["edges"] and shown["orphans"] == cli["orphans"]
            tree = screen.query_one(TraceTree)
            assert len(tree.root.children) == len(screen.trace.roots)
            await pilot.press("escape")
