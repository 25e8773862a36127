"""Styled pieces of text read back run by run never run into each other (issue 15, part 6).

The SVG screenshots hold each styled run in its own ``<text>``, leave runs of
spaces alone out, and a reader (text extraction, a screen reader) drops the
spaces at the ends of a run: ``connected0 ev/s in`` was read where the screen
showed ``connected  0 ev/s in``. These tests read the pictures that way.
"""

from __future__ import annotations

import html
import io
import itertools
import re

from rich.console import Console
from rich.text import Text

from evtui.core.ordering import WARNING, Finding
from evtui.tui.spans import fitted, joined
from evtui.tui.widgets.header import HeaderState, render_header
from evtui.tui.widgets.violations import explain, summary_text

RUN = re.compile(r'<text class="[^"]*" x="[\d.]+" y="([\d.]+)"[^>]*>([^<]*)</text>')


def runs_by_line(text: Text, width: int = 200) -> list[list[str]]:
    """The runs of ``text`` as an SVG export holds them, stripped as a reader does."""
    console = Console(record=True, width=width, file=io.StringIO(), color_system="truecolor")
    console.print(text, crop=True, soft_wrap=False)
    lines: dict[float, list[str]] = {}
    for y, run in RUN.findall(console.export_svg()):
        stripped = html.unescape(run).replace("\xa0", " ").strip()
        if stripped:
            lines.setdefault(float(y), []).append(stripped)
    return [lines[y] for y in sorted(lines)]


def read_back(text: Text, width: int = 200) -> str:
    return "\n".join("".join(line) for line in runs_by_line(text, width))


def assert_no_words_run_together(text: Text, width: int = 200) -> None:
    for line in runs_by_line(text, width):
        for before, after in itertools.pairwise(line):
            joint = before[-1] + after[0]
            assert not (before[-1].isalnum() and after[0].isalnum()), (
                f"{before!r} runs into {after!r} ({joint!r}) in {''.join(line)!r}"
            )


def test_the_header_reads_back_with_its_separators() -> None:
    state = HeaderState(
        cluster="demo", cluster_id="demo", brokers=1, connection="connected", rate=0.0,
        kept=898, violations=27, sampled_out=3, paused=True,
    )  # fmt: skip
    text = render_header(state)
    assert_no_words_run_together(text)
    read = read_back(text)
    assert "connected0 ev/s" not in read
    assert "kept 898" in read and "27 violations" in read


def test_the_violations_summary_reads_back_with_its_separators() -> None:
    text = summary_text(checked=1737, warnings=27, infos=0, notes=["1 note"], tail_open=False)
    assert_no_words_run_together(text)
    assert "checked27" not in read_back(text)
    assert "1,737 events checked" in text.plain and "27 warnings" in text.plain


def test_a_finding_reads_back_with_its_separators() -> None:
    finding = Finding(
        kind="sequence_regression", severity=WARNING, topic="inventory", partition=2,
        offset=100, key="sku-010", expected="sequence 9 before", seen="sequence 9 after",
        explanation="adjacent records swapped", refs=("inventory/2/100", "inventory/2/99"),
    )  # fmt: skip
    text = explain(finding)
    assert_no_words_run_together(text)
    assert "sequence_regressionat" not in read_back(text)


def test_joined_drops_empty_pieces_and_strips_the_rest() -> None:
    text = joined(["  a ", None, "", ("b", "bold"), "   "])
    assert text.plain == "a · b"


def test_fitted_drops_the_lowest_priority_first_and_keeps_the_order() -> None:
    pieces = [(0, "state"), (2, "detail one"), (1, "rate"), (2, "detail two"), (0, "badge")]
    assert fitted(pieces, 200).plain == "state · detail one · rate · detail two · badge"
    assert fitted(pieces, 36).plain == "state · detail one · rate · badge"
    assert fitted(pieces, 20).plain == "state · rate · badge"
    assert fitted(pieces, 14).plain == "state · badge"
    assert fitted(pieces, 10).plain == "state · b…"
