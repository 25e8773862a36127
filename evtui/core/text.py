"""Small text helpers shared by the CLI and the screens. Pure: no Textual, no confluent-kafka."""

from __future__ import annotations

import re


def plural(count: int, noun: str, plural_noun: str | None = None, shown: str | None = None) -> str:
    """``1 member``, ``2 members``, ``1,234 events``; ``plural_noun`` for irregular nouns,
    ``shown`` for a count already written another way (``1.2k``).

    >>> plural(1, "member"), plural(0, "group"), plural(2, "entry", "entries")
    ('1 member', '0 groups', '2 entries')
    >>> plural(1200, "row", shown="1.2k")
    '1.2k rows'
    """
    word = noun if count == 1 else (plural_noun or noun + "s")
    return f"{shown if shown is not None else format(count, ',')} {word}"


# C0 and C1 controls, DEL, and the invisible marks that reorder or hide text on a terminal
# (bidi overrides and isolates, line and paragraph separators): what other people's data may
# carry to clear a screen, retitle a window, write the clipboard (OSC 52) or disguise itself
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_KEEP_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character shown escaped (``\\x1b``, ``\\u202e``).

    What a terminal would act on (escape sequences, OSC 52 clipboard writes, bell,
    carriage return, bidi overrides) is shown instead of obeyed, so that a record
    written by someone else cannot drive the terminal of the person reading it.

    >>> visible("k\\x1b]0;TITLE\\x07")
    'k\\\\x1b]0;TITLE\\\\x07'
    """
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def visible_lines(text: str) -> str:
    """:func:`visible` for text of several lines: newlines and tabs stay as they are."""
    return _UNSAFE_KEEP_LINES.sub(_escape, text) if _UNSAFE_KEEP_LINES.search(text) else text


def one_line(text: str) -> str:
    """Data as one unambiguous line: backslashes doubled, ``\\n`` ``\\r`` ``\\t`` written
    as such, every other control character escaped (:func:`visible`)."""
    text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return visible(text.replace("\t", "\\t"))
