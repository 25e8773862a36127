"""Range marks: they hold still, stay on one topic, and go with a topic change or Escape."""

from __future__ import annotations

from evtui.core.positions import BEGINNING
from tests.tui.helpers import demo_app, rows, settle, wait_for


def allow_marks(app) -> None:
    """The demo cannot replay (marks are hidden there); the marks themselves are tested here."""
    app.tail.can_replay = True
    app.tail.refresh_bindings()


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_marking_in_follow_mode_holds_the_row():
    app = demo_app(seconds=120, elapsed_s=5, topics=["payments"])
    async with app.run_test(size=(160, 30)) as pilot:
        assert await wait_for(pilot, lambda: rows(app) > 5)
        allow_marks(app)
        log = app.tail.log_view
        assert log.follow
        await pilot.press("m")
        marked = app.tail.marks[0]
        assert not log.follow
        before = rows(app)
        assert await wait_for(pilot, lambda: rows(app) > before, timeout=30)  # new events came
        await pilot.press("m")
        assert [e.ref for e in app.tail.marks] == [marked.ref, marked.ref]
        assert "R replays offsets" in notes(app)[-1]


async def test_the_end_must_be_on_the_topic_of_the_start():
    app = demo_app(seconds=10, topics=["orders", "payments"])
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot, app)
        allow_marks(app)
        await pilot.press("g", "m")
        first = app.tail.marks[0]
        view = app.tail.feed.view
        other = next(r for r in range(rows(app)) if view.event_at(r).topic != first.topic)
        await pilot.press(*["j"] * other)
        await pilot.press("m")
        assert app.tail.marks == [first]
        assert f"The range starts on {first.topic}" in notes(app)[-1]


async def test_marks_on_two_partitions_say_they_replay_a_time_range():
    app = demo_app(seconds=10, topics=["payments"])
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot, app)
        allow_marks(app)
        await pilot.press("g", "m")
        first = app.tail.marks[0]
        view = app.tail.feed.view
        other = next(r for r in range(rows(app)) if view.event_at(r).partition != first.partition)
        await pilot.press(*["j"] * other, "m")
        assert len(app.tail.marks) == 2
        assert "every partition of payments from" in notes(app)[-1]


async def test_a_topic_change_and_escape_drop_the_marks():
    app = demo_app(seconds=10, topics=["payments"])
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot, app)
        allow_marks(app)
        await pilot.press("g", "m")
        assert len(app.tail.marks) == 1
        app.tail.seek(BEGINNING)  # the same topic: the marks still name its events
        assert len(app.tail.marks) == 1
        app.tail.open(["orders"], BEGINNING)
        assert app.tail.marks == []
        assert await wait_for(pilot, lambda: app.tail.feed is not None and rows(app) > 0)
        await pilot.press("m")
        assert len(app.tail.marks) == 1
        assert app.tail.set_filter('key != ""')
        await pilot.press("escape")
        assert app.tail.marks == []
        assert app.tail.filter is not None  # the first Escape drops the marks only
        await pilot.press("escape")
        assert app.tail.filter is None
