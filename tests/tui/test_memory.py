"""What the console lets go of stays let go: switching tabs and opening dialogs for long."""

from __future__ import annotations

import gc

from textual.style import Style
from textual.widget import Widget
from textual.widgets._footer import FooterKey

from evtui.tui.widgets.footer import Footer, drop_closed_watchers
from tests.tui.helpers import demo_app, settle


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is kind)


async def test_switching_tabs_for_long_keeps_only_what_is_shown():
    """Two Textual leaks, each measured in bench/soak.

    The footer kept every key it ever showed (a watcher each: ~3,000 objects a tab
    switch); an lru_cache on StylesCache.get_inner_outer kept the rendered lines of the
    last 1,024 removed widgets (see evtui.tui.retention).
    """
    from textual._styles_cache import StylesCache

    from evtui.tui import retention

    app = demo_app(seconds=5, topics=["payments"])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        for _ in range(6):
            for key in "12345":
                await pilot.press(key)
                await pilot.pause(0.02)
        await pilot.pause(0.3)
        gc.unfreeze()  # the console froze its startup objects: count them too
        shown = len(app.query(FooterKey))
        assert shown > 0
        assert alive(FooterKey) == shown
        footer = app.query_one(Footer)
        assert drop_closed_watchers(footer) == 0  # nothing closed is still watching
        assert len(getattr(footer, "__watchers")["compact"]) <= shown  # the palette key has none
        widgets = [o for o in gc.get_objects() if isinstance(o, Widget)]
        owned = {id(w._styles_cache) for w in widgets}
        orphans = [o for o in gc.get_objects() if type(o) is StylesCache and id(o) not in owned]
        assert orphans == []
    assert retention.install() is False  # the app installed it; once is enough


def test_dropping_watchers_leaves_the_open_ones_and_tolerates_a_node_without_any():
    class Node:
        def __init__(self, closing: bool = False, closed: bool = False) -> None:
            self._closing, self._closed = closing, closed

    open_, closing, closed = Node(), Node(closing=True), Node(closed=True)
    owner = Node()
    setattr(owner, "__watchers", {"compact": [(open_, 1), (closing, 2), (closed, 3)]})
    assert drop_closed_watchers(owner) == 2
    assert getattr(owner, "__watchers")["compact"] == [(open_, 1)]
    assert drop_closed_watchers(object()) == 0


def test_the_colours_alone_decide_the_inner_and_outer_styles():
    from textual._styles_cache import StylesCache
    from textual.color import Color

    from evtui.tui import retention

    retention.install()
    base, background = Color(18, 18, 18), Color(36, 47, 56, 0.5)
    inner, outer = StylesCache().get_inner_outer(base, background)
    assert inner == Style(background=base + background) and outer == Style(background=base)
    assert StylesCache().get_inner_outer(base, background) == (inner, outer)


def test_a_strip_divided_whole_is_freed_without_a_garbage_collection():
    """Textual's Strip.divide kept [self] in the strip: a cycle per line (see retention)."""
    from rich.segment import Segment
    from textual.strip import Strip

    from evtui.tui import retention

    retention.install()
    marker = "divided-whole-" + "x" * 10

    def alive() -> int:
        return sum(1 for o in gc.get_objects() if type(o) is Strip and o.text == marker)

    enabled = gc.isenabled()
    gc.disable()  # only reference counting may free it
    try:
        strip = Strip([Segment(marker)], len(marker))
        assert [s.text for s in strip.divide([len(marker)])] == [marker]
        assert strip.divide([len(marker), 99])[0] is strip
        del strip
        assert alive() == 0
    finally:
        if enabled:
            gc.enable()


def test_a_divided_strip_gives_what_textual_gives_and_caches_other_cuts():
    from rich.segment import Segment
    from textual.strip import Strip

    from evtui.tui import retention

    retention.install()
    strip = Strip([Segment("abc", Style(bold=True)), Segment("defgh")], 8)
    for cuts in ([8], [3, 8], [2, 5, 8], [4], [1, 2, 3, 4, 5, 6, 7, 8], [8, 12]):
        ours = [(s.text, s.cell_length) for s in strip.divide(cuts)]
        fresh = Strip([Segment("abc", Style(bold=True)), Segment("defgh")], 8)
        assert ours == [(s.text, s.cell_length) for s in retention._textual_divide(fresh, cuts)]
    assert strip.divide([3, 8]) is strip.divide([3, 8])  # still cached
    assert all(v != [strip] for v in strip._divide_cache._cache.values())


def test_a_new_strip_has_no_caches_until_one_is_used():
    """Textual made seven caches per line up front: a third of what full passes walked."""
    from rich.segment import Segment
    from textual.cache import FIFOCache
    from textual.strip import Strip

    from evtui.tui import retention

    retention.install()
    strip = Strip([Segment("abcdef", Style(bold=True))], 6)
    assert not any(isinstance(r, FIFOCache) for r in gc.get_referents(strip))
    cropped = strip.crop(1, 4)
    assert strip.crop(1, 4) is cropped  # cached, as Textual caches it
    assert cropped.text == "bcd"
    assert [type(r) for r in gc.get_referents(strip)].count(FIFOCache) == 1
    assert strip._crop_cache._maxsize == 16  # the size Textual gives it
    styled = strip.apply_style(Style(italic=True))
    assert strip.apply_style(Style(italic=True)) is styled
    assert strip._render_cache is None and strip._link_ids is None


def test_a_new_strips_segments_are_off_the_collector_and_freed_by_counting():
    from rich.segment import Segment
    from textual.strip import Strip

    from evtui.tui import retention

    retention.install()
    marker = "line-of-" + "y" * 12
    strip = Strip([Segment(marker, Style(bold=True)), Segment("!")], len(marker) + 1)
    assert gc.is_tracked(strip)  # its caches hold lines derived from it
    assert not gc.is_tracked(strip._segments)
    assert not any(gc.is_tracked(s) for s in strip._segments)
    assert strip.crop(0, 4).text == "line"

    enabled = gc.isenabled()
    gc.disable()  # only reference counting may free them
    try:
        del strip
        assert not any(type(o) is Strip and o.text.startswith(marker) for o in gc.get_objects())
    finally:
        if enabled:
            gc.enable()


def test_lazy_caches_are_left_out_when_a_line_is_not_what_they_were_checked_against():
    from textual.strip import Strip

    from evtui.tui import retention

    retention.install()
    probe = Strip([], 0)
    caches, others = retention._plain_defaults(probe)
    assert caches["_crop_cache"] == 16 and "_render_cache" in others
    probe._render_cache = "text"  # a default this could not reproduce
    assert retention._plain_defaults(probe) is None
    assert retention.install() is False  # once is enough


async def test_the_tails_cached_lines_are_not_walked_by_full_collections():
    """The tail keeps up to 2,000 rendered lines: 40% of what full passes walked."""
    from rich.segment import Segment

    from evtui.core import native
    from evtui.tui.widgets.tail import TailLog

    app = demo_app(seconds=5, topics=["payments"])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("2")
        await pilot.pause(0.2)
        cache = app.query_one(TailLog)._cache
        assert len(cache) >= 20
        line = next(iter(cache.values()))
        assert {type(s) for s in line} == {Segment}
        assert len({id(s.style) for line in cache.values() for s in line}) < 20  # shared
        if native.available():
            assert not any(gc.is_tracked(line) for line in cache.values())
            assert not any(gc.is_tracked(s) for line in cache.values() for s in line)


async def test_a_table_updated_in_place_keeps_only_its_current_renders():
    """DataTable keeps stale renders after each update (their keys hold its update count)."""
    from textual.app import App

    from evtui.tui.widgets.overview import VimTable, sync_rows

    class Tables(App):
        def compose(self):
            yield VimTable(id="t")

    app = Tables()
    async with app.run_test(size=(80, 30)) as pilot:
        table = app.query_one(VimTable)
        table.add_columns("name", "rate")
        shown: list[str] = []
        for tick in range(30):
            rows = {f"row{i}": (f"row{i}", f"{tick * 10 + i}/s") for i in range(20)}
            shown = sync_rows(table, shown, rows)
            await pilot.pause()  # rendered
        assert [str(cell) for cell in table.get_row("row3")] == ["row3", "293/s"]
        assert len(table._line_cache) <= 22  # the rows shown and the header: one render's
        assert len(table._cell_render_cache) <= 2 * 22


async def test_rows_that_come_go_and_move_are_synced_without_a_rebuild():
    """sync_rows adds and removes only what changed, in the order given, the cursor kept."""
    import random

    from textual.app import App

    from evtui.tui.widgets.overview import VimTable, sync_rows

    class Tables(App):
        def compose(self):
            yield VimTable(id="t", cursor_type="row")

    rng = random.Random(7)
    app = Tables()
    async with app.run_test(size=(80, 30)) as pilot:
        table = app.query_one(VimTable)
        table.add_columns("name", "count")
        names = [f"g{i:03}" for i in range(60)]
        live = sorted(rng.sample(names, 30))
        shown = sync_rows(table, [], {n: (n, "0") for n in live})
        cleared = []
        clear = table.clear
        table.clear = lambda *a, **k: (cleared.append(1), clear(*a, **k))[1]  # type: ignore
        for tick in range(1, 40):
            gone = set(rng.sample(live, rng.randint(0, 3)))
            came = set(rng.sample([n for n in names if n not in live], rng.randint(0, 3)))
            live = sorted((set(live) - gone) | came, key=lambda n: (hash((n, tick)) % 3, n))
            table.move_cursor(row=rng.randrange(len(shown)), animate=False)
            on = shown[table.cursor_row]
            shown = sync_rows(table, shown, {n: (n, str(tick)) for n in live})
            await pilot.pause()
            assert shown == live
            assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == live
            assert all(str(table.get_row_at(i)[1]) == str(tick) for i in range(table.row_count))
            if on in live:
                assert shown[table.cursor_row] == on
        assert cleared == []  # never rebuilt: a few rows came and went each time
        shown = sync_rows(table, shown, {n: (n, "x") for n in names[:5]})  # most went
        assert cleared == [1] and [str(table.get_row_at(i)[0]) for i in range(5)] == names[:5]


async def test_the_console_collects_garbage_on_its_own_timer_apart_from_the_tail():
    """The tail's tick and the collector's run as two pauses (a key can come between)."""
    import sys

    from tests.tui.helpers import wait_for

    app = demo_app(seconds=5, topics=["payments"])
    callers: set[str] = set()
    async with app.run_test(size=(120, 30)) as pilot:
        collector_tick = app._collector.tick

        def tick() -> None:
            callers.add(sys._getframe(1).f_code.co_name)
            collector_tick()

        app._collector.tick = tick
        assert await wait_for(pilot, lambda: app._collector.frozen > 0)
        assert callers == {"_collect"}  # not from the tail's tick
