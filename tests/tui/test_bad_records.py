"""The console on deep, huge and malformed records: every row, every detail, no crash."""

from __future__ import annotations

from pathlib import Path

from evtui.core.decode import MAX_DEPTH, TOO_DEEP
from evtui.core.event import Event
from evtui.core.positions import BEGINNING
from evtui.core.recording import Header, PartitionBounds, RecordingWriter
from evtui.tui.app import EvtuiApp
from evtui.tui.backend import FileBackend
from evtui.tui.screens.detail import DetailScreen
from evtui.tui.testing import FIXED_START_MS
from tests.tui.helpers import rows, wait_for


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


BAD = [
    (nested(1_000), [("correlation-id", b"c1")]),
    (nested(MAX_DEPTH), [("event-id", b"e1"), ("correlation-id", b"c1")]),
    (b"[" * 5_000 + b"]" * 5_000, [("seq", b"\xff"), ("b3", None)]),
    (b'{"eventId":"\\ud800","timestamp":NaN}', [("x" * 1_000, b"\x00" * 100_000)]),
    (b'{"big":"' + b"x" * 2_000_000 + b'"}', [(f"h{i}", b"v") for i in range(2_000)]),
    (b"\xff\xfe{", [("event-id", b"e1"), ("causation-id", b"nowhere")]),
]


def bad_recording(path: Path) -> list[Event]:
    events = [
        Event("bad", 0, i, FIXED_START_MS + i, 1, b"k", value, tuple(headers))
        for i, (value, headers) in enumerate(BAD)
    ]
    header = Header(
        created="2026-11-18T10:15:00Z",
        source="test",
        topics=["bad"],
        partitions=[
            PartitionBounds(topic="bad", partition=0, low=0, high=len(BAD), start=0, stop=len(BAD))
        ],
    )
    with RecordingWriter(path, header) as writer:
        writer.write(events)
        writer.finish()
    return events


async def test_every_bad_record_is_listed_checked_indexed_and_opens(tmp_path):
    path = tmp_path / "bad.jsonl"
    events = bad_recording(path)
    backend = FileBackend(path)
    app = EvtuiApp(backend, topics=backend.default_topics, start=BEGINNING)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.tail.feed is not None and rows(app) == len(BAD))
        feed = app.tail.feed
        assert await wait_for(pilot, lambda: app.violations.finished)
        assert await wait_for(pilot, lambda: feed._indexed_upto == feed.store.next)
        await pilot.press("g")
        for row in range(len(events)):
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            assert app.screen.event == feed.view.event_at(row)
            await pilot.press("x", "x", "escape")
            await pilot.press("j")
        assert app.is_running
        assert feed.view.event_at(0).decode_error == TOO_DEEP
        assert feed.view.event_at(1).decode_error is None


async def test_the_flow_counts_bad_records_on_their_topic(tmp_path):
    """Every record the checks could not read is counted on its topic's node, coloured."""
    from evtui.core.flow import UNREADABLE
    from evtui.tui.widgets.flowpane import FlowPane

    path = tmp_path / "bad.jsonl"
    bad_recording(path)
    backend = FileBackend(path)
    app = EvtuiApp(backend, topics=backend.default_topics, start=BEGINNING)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.violations.finished)
        feed = app.tail.feed
        assert await wait_for(pilot, lambda: app.flow.events == feed.store.next == len(BAD))
        # exactly the records whose values do not decode: too deep (offsets 0 and 2) and a
        # lone surrogate (3); MAX_DEPTH, the 2 MB value and binary (\xff\xfe) decode
        reported = app.violations.problems.first + feed.record_problems.first
        assert sorted(offset for _, _, offset, _ in reported) == [0, 2, 3]
        unreadable = app.violations.problems.count + feed.record_problems.count
        await pilot.press("5")
        pane = app.query_one(FlowPane)
        assert await wait_for(pilot, lambda: "topic:bad" in pane.graph)
        assert pane.graph.nodes["topic:bad"]["problems"][UNREADABLE] == unreadable
        row = next(k for k in pane._shown if k.startswith("topic:bad\x1f"))
        assert pane._rows[row][2].style == "bad"
        assert app.is_running


# Data that reads as markup to Rich and Textual: a closing tag with nothing to close raises
# MarkupError when rendered as markup; the others would be shown styled, their brackets gone.
MARKUP_KEY = "k[/]"
STYLED_KEY = "[b]K[/b]"
MARKUP_HEADER = "[i]hdr[/i]"
MARKUP_ID = "[u]c1[/u]"


def markup_recording(path: Path) -> None:
    def event(offset: int, key: str, event_id: str, seq: int) -> Event:
        headers = (
            ("event-id", event_id.encode()),
            ("correlation-id", MARKUP_ID.encode()),
            ("seq", str(seq).encode()),
            (MARKUP_HEADER, b"[/]"),
        )
        return Event("m", 0, offset, FIXED_START_MS + offset, 1, key.encode(), b'{"x":1}', headers)

    # each key: seq 2 then 1 (a regression) and its event id twice (a duplicate)
    events = [
        event(0, MARKUP_KEY, "e1", 2),
        event(1, MARKUP_KEY, "e1", 1),
        event(2, STYLED_KEY, "e2", 2),
        event(3, STYLED_KEY, "e2", 1),
    ]
    header = Header(
        created="2026-11-18T10:15:00Z",
        source="test",
        topics=["m"],
        partitions=[PartitionBounds(topic="m", partition=0, low=0, high=4, start=0, stop=4)],
    )
    with RecordingWriter(path, header) as writer:
        writer.write(events)
        writer.finish()


async def test_data_that_reads_as_markup_is_shown_as_written_on_every_screen(tmp_path):
    """Keys, header names and ids are data, not markup: no screen styles or drops them, and
    one that is invalid markup does not stop the console."""
    from textual.widgets import Static

    from evtui.tui.screens.trace import TraceScreen

    path = tmp_path / "markup.jsonl"
    markup_recording(path)
    backend = FileBackend(path)
    app = EvtuiApp(backend, topics=backend.default_topics, start=BEGINNING)

    def shown() -> str:
        return "".join(strip.text for strip in app.screen._compositor.render_strips())

    async with app.run_test(size=(200, 50)) as pilot:
        assert await wait_for(pilot, lambda: app.violations.finished and rows(app) == 4)
        await pilot.press("g", "enter")
        assert isinstance(app.screen, DetailScreen)
        await pilot.pause()
        assert MARKUP_HEADER in shown() and MARKUP_KEY in shown()
        await pilot.press("escape", "4")
        assert await wait_for(pilot, lambda: MARKUP_KEY in shown() and STYLED_KEY in shown())
        app.show_trace(MARKUP_ID)
        assert await wait_for(pilot, lambda: isinstance(app.screen, TraceScreen))
        await pilot.pause()
        assert MARKUP_ID in shown()
        await pilot.press("escape")
        app.show_trace("x[/]")  # not found: the notification quotes it
        await pilot.pause()
        quoting = [n for n in app._notifications if "x[/]" in n.message]
        assert quoting and not any(n.markup for n in quoting)
        statics = [w for w in app.query(Static) if type(w).__module__.startswith("evtui.")]
        assert statics and not [w for w in statics if w._render_markup]  # data, not markup
        assert app.is_running
