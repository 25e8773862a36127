"""Terminal escape injection (issue 19, part 1): data other people wrote never drives the
terminal of the person reading it. Every human-readable output shows control characters
escaped; ``--format json`` stays exact and ``--raw`` byte-exact."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from evtui.core.event import Event
from evtui.core.ordering import WARNING, Finding
from evtui.core.output import json_line, key_summary, text_line, value_summary
from evtui.core.text import one_line, visible, visible_lines

# the key: writes the clipboard (OSC 52), clears the screen, retitles the window
HOSTILE = "k\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\x1b]0;TITLE\x07"
C1_CSI = "\x9b2J"  # the 8-bit CSI: some terminals obey it too
BIDI = "invoice\u202egnp.exe"  # shows as "invoiceexe.png"
UNSAFE = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]] + [
    "\u061c", "\u200e", "\u200f", "\u2028", "\u2029", "\u202a", "\u202b", "\u202c",
    "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff",
]  # fmt: skip


def no_control(text: str, keep: str = "") -> bool:
    return not any(ch in text for ch in UNSAFE if ch not in keep)


def hostile_event(value: bytes = b'{"ok": true}') -> Event:
    headers = (("x-trace\x1b[31m", HOSTILE.encode()), ("note", BIDI.encode()))
    return Event("orders", 0, 7, 1_700_000_000_000, 0, HOSTILE.encode(), value, headers)


def test_the_tail_line_shows_the_hostile_key_and_headers_escaped():
    line = text_line(hostile_event(), headers=True)
    assert no_control(line)
    assert "key=k\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J\\x1b]0;TITLE\\x07" in line
    assert "x-trace\\x1b[31m=" in line and "invoice\\u202egnp.exe" in line


def test_values_that_carry_controls_are_shown_escaped():
    as_json = hostile_event(json.dumps({"a": HOSTILE, "b": C1_CSI, "c": BIDI}).encode())
    shown = value_summary(as_json)
    assert no_control(shown) and "\\u001b]52" in shown and "\\x9b2J" in shown
    assert "\\u202e" in shown
    as_text = hostile_event(("plain " + C1_CSI).encode())  # C1 passes the text decoder
    assert no_control(value_summary(as_text)) and "\\x9b2J" in value_summary(as_text)
    binary = hostile_event(b"\x1b[2J\x00\x01")
    assert no_control(value_summary(binary))


def test_json_stays_exact_and_raw_stays_byte_exact():
    event = hostile_event(json.dumps({"a": BIDI}).encode())
    out = json.loads(json_line(event))
    assert out["key"] == HOSTILE
    assert out["headers"][0] == ["x-trace\x1b[31m", HOSTILE]
    assert out["value"] == {"a": BIDI}
    raw = json.loads(json_line(event, raw=True))
    assert base64.b64decode(raw["key"]) == HOSTILE.encode()
    assert base64.b64decode(raw["headers"][0][1]) == HOSTILE.encode()


def test_the_check_text_shows_a_findings_key_escaped():
    from evtui.commands.check import render_text

    finding = Finding("duplicate_event", WARNING, "orders", 0, 7, HOSTILE, ("orders/0/7",),
                      "one record", f"two with key {HOSTILE}", "twice")  # fmt: skip
    assert no_control(visible_lines(render_text([finding])), keep="\n")


def test_the_tail_row_in_the_console_shows_what_it_would_have_dropped():
    from evtui.tui.rows import Columns, row_segments

    text = "".join(s.text for s in row_segments(hostile_event(), Columns(topic=6, key=80), 240))
    assert no_control(text) and "k\\x1b]52;c;" in text


@given(st.text())
def test_visible_leaves_no_control_and_changes_nothing_else(text):
    shown = visible(text)
    assert no_control(shown)
    if no_control(text):
        assert shown == text
    lines = visible_lines(text)
    assert no_control(lines, keep="\n\t")


@given(st.text())
def test_one_line_is_one_unambiguous_line(text):
    shown = one_line(text)
    assert no_control(shown) and "\n" not in shown
    if no_control(text.replace("\n", "").replace("\r", "").replace("\t", "")):
        # the escapes read back to the text (a backslash is always written doubled)
        back = shown.encode().decode("unicode_escape") if text.isascii() else None
        assert back is None or back == text
    assert key_summary(text.encode("utf-8", "surrogatepass")) is not None
