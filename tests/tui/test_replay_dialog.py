"""Replay from the console on the real broker: a marked range, or the tail's filter."""

from __future__ import annotations

import pytest

from evtui.core.positions import BEGINNING
from evtui.core.replay import read_provenance
from evtui.tui.screens.replay import ReplayScreen
from tests.integration.test_replay import payload, read_all, records
from tests.tui.helpers import demo_app, kafka_app, rows, settle, wait_for


async def plan_and_replay(pilot, app, target: str) -> ReplayScreen:
    screen = app.screen
    assert isinstance(screen, ReplayScreen)
    screen.query_one("#replay-target").value = target
    await pilot.press("enter")  # plans (nothing written)
    assert await wait_for(pilot, lambda: screen.plan is not None, timeout=20)
    await press_replay(pilot, screen)
    assert await wait_for(pilot, lambda: screen.report is not None, timeout=30)
    return screen


async def press(pilot, screen: ReplayScreen, selector: str) -> None:
    """Press a button as Textual simulates a user's press (``Button.press``): a click aimed
    while new text re-centres the dialog (the plan, an error; under load) could land where
    the button was, and an Enter key was lost twice in 44 loaded runs (cause not found)."""
    button = screen.query_one(selector)
    assert await wait_for(pilot, lambda: not button.disabled)
    button.press()
    await pilot.pause()


async def press_replay(pilot, screen: ReplayScreen) -> None:
    await press(pilot, screen, "#replay-go")
    assert await wait_for(pilot, lambda: screen.running or screen.report is not None)


@pytest.mark.kafka
async def test_a_marked_range_is_planned_then_copied_and_the_report_stays(
    kafka_bootstrap, new_topic, produce
):
    source, target = new_topic(1), new_topic(1)
    produce(source, [{**r, "partition": 0} for r in records(40)])
    app = kafka_app(kafka_bootstrap, topics=[source], start=BEGINNING)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(pilot, lambda: rows(app) == 40)
        await pilot.press("g", "j", "j", "j", "j", "j", "m")  # offset 5
        for _ in range(10):
            await pilot.press("j")
        await pilot.press("m", "R")  # offset 15
        assert await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        screen.query_one("#replay-target").value = target
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: screen.plan is not None, timeout=20)
        assert screen.plan.records == 11
        assert read_all(kafka_bootstrap, target) == []  # the plan wrote nothing
        await press_replay(pilot, screen)
        assert await wait_for(pilot, lambda: screen.report is not None, timeout=30)
        assert screen.report.written == 11
        assert "written 11" in str(screen.query_one("#replay-report").render())
    copied = read_all(kafka_bootstrap, target)
    original = read_all(kafka_bootstrap, source)[5:16]
    assert [payload(e) for e in copied] == [payload(e) for e in original]
    assert [read_provenance(e.headers)[3] for e in copied] == list(range(5, 16))


@pytest.mark.kafka
async def test_the_tails_filter_is_what_gets_replayed(kafka_bootstrap, new_topic, produce):
    source, target = new_topic(2), new_topic(2)
    produce(source, records(60, partitions=2))
    app = kafka_app(kafka_bootstrap, topics=[source], start=BEGINNING)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(pilot, lambda: rows(app) == 60)
        assert app.tail.set_filter('key == "k1"')
        await pilot.press("R")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = await plan_and_replay(pilot, app, target)
        expected = [e for e in read_all(kafka_bootstrap, source) if e.key == b"k1"]
        assert screen.plan.records == len(expected) > 0
        assert screen.report.written == len(expected)
    copied = read_all(kafka_bootstrap, target)
    assert sorted(map(repr, map(payload, copied))) == sorted(map(repr, map(payload, expected)))


async def test_the_demo_cannot_replay_and_says_so():
    app = demo_app(seconds=5, topics=["payments"])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("R")  # not offered here: does nothing
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ReplayScreen)
        app.tail.action_replay()  # asked anyway (a binding of someone's own)
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ReplayScreen)
        notes = [n.message for n in app._notifications]
        assert any("Replay writes to a cluster" in n for n in notes), notes
        app.tail.topics = ["payments", "orders"]
        app.tail.action_replay()
        await pilot.pause(0.2)
        notes = [n.message for n in app._notifications]
        assert any("a replay reads one topic" in n for n in notes), notes


def shown(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def plan_error(pilot, screen: ReplayScreen) -> str:
    """Plan, and the error it gives (each call of a test expects another error than the last:
    the one still shown until the answer comes is not the answer)."""
    before = shown(screen, "#replay-error")
    await press(pilot, screen, "#replay-plan-button")
    assert await wait_for(
        pilot,
        lambda: screen.plan is not None or shown(screen, "#replay-error") not in ("", before),
        timeout=20,
    )
    return shown(screen, "#replay-error")


@pytest.mark.kafka
async def test_the_dialog_speaks_of_its_own_fields_not_of_cli_options(
    kafka_bootstrap, new_topic, produce
):
    source, target = new_topic(2), new_topic(1)
    produce(source, records(10, partitions=2))
    app = kafka_app(kafka_bootstrap, topics=[source], start=BEGINNING)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(pilot, lambda: rows(app) == 10)
        await pilot.press("R")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        screen.query_one("#replay-target").value = source + "-missing"
        error = await plan_error(pilot, screen)
        assert "does not exist" in error and "tick 'create the topic'" in error, error
        screen.query_one("#replay-target").value = source
        error = await plan_error(pilot, screen)
        assert "into itself" in error and "choose another target topic" in error, error
        screen.query_one("#replay-target").value = target  # 1 partition, the source has 2
        error = await plan_error(pilot, screen)
        assert "partitioning 'same' needs 2 partitions" in error, error
        assert "choose partitioning key or round-robin" in error, error
        screen.query_one("#replay-rate").value = "fast"
        error = await plan_error(pilot, screen)
        assert error.startswith("invalid rate 'fast'"), error
        assert "--" not in error


async def test_the_seek_dialog_speaks_of_a_position_not_of_from():
    app = demo_app(seconds=5, topics=["payments"])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("s", *"yesterday", "enter")
        error = shown(app.screen, "#prompt-error")
        assert error.startswith("invalid position 'yesterday': expected beginning"), error
        assert "--from" not in error


@pytest.mark.kafka
async def test_the_copy_carries_the_replay_id_of_the_plan_shown(
    kafka_bootstrap, new_topic, produce
):
    source, target = new_topic(1), new_topic(1)
    produce(source, [{**r, "partition": 0} for r in records(5)])
    app = kafka_app(kafka_bootstrap, topics=[source], start=BEGINNING)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(pilot, lambda: rows(app) == 5)
        await pilot.press("R")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = await plan_and_replay(pilot, app, target)
        planned = screen.plan.replay_id
        assert f"replay {planned}:" in shown(screen, "#replay-plan")
        assert screen.report.replay_id == planned
        assert f"replay {planned}:" in shown(screen, "#replay-report")
    copied = read_all(kafka_bootstrap, target)
    assert len(copied) == 5
    assert {read_provenance(e.headers)[0] for e in copied} == {planned}
